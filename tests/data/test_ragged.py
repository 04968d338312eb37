"""Tests for seqestimators.RaggedSequences."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold, train_test_split
from sklearn.utils import _safe_indexing

from seqestimators import RaggedSequences

# Four sequences of lengths 2, 0, 3, 1 (the second one is empty).
OFFSETS = np.array([0, 2, 2, 5, 6])
LENGTHS = np.array([2, 0, 3, 1])
INDEX = pd.Index([10, 20, 30, 40], name="user_id")


def _make(index=INDEX) -> RaggedSequences:
    categorical = np.arange(12).reshape(6, 2) + 2  # event e -> [2e + 2, 2e + 3]
    numeric = np.arange(6, dtype=np.float64) / 2  # event e -> e / 2
    return RaggedSequences(
        OFFSETS,
        categorical,
        numeric,
        categorical_names=("event", "item"),
        numeric_names=("price",),
        cardinalities=(20, 30),
        index=index,
    )


def _rows(X: RaggedSequences) -> list[list[int]]:
    """Event numbers of each row, recovered from the first categorical channel."""
    events = (X.categorical[:, 0] - 2) // 2
    return [events[a:b].tolist() for a, b in zip(X.offsets[:-1], X.offsets[1:])]


@pytest.fixture
def X():
    return _make()


ROWS = [[0, 1], [], [2, 3, 4], [5]]


# ------------------------------------------------------------- construction
def test_construction_and_properties(X):
    assert len(X) == 4
    assert X.shape == (4,)
    assert X.n_sequences == 4 and X.n_events == 6
    np.testing.assert_array_equal(X.lengths, LENGTHS)
    assert X.categorical.dtype == np.int64 and X.categorical.shape == (6, 2)
    assert X.numeric.dtype == np.float32 and X.numeric.shape == (6, 1)
    assert X.n_categorical == 2 and X.n_numeric == 1
    assert X.categorical_names == ("event", "item")
    assert X.numeric_names == ("price",)
    assert X.cardinalities == (20, 30)
    assert X.index.equals(INDEX)
    assert _rows(X) == ROWS
    assert "n_sequences=4" in repr(X) and "n_events=6" in repr(X)


def test_defaults():
    X = RaggedSequences([0, 1, 3], categorical=np.array([2, 5, 3]))
    assert X.categorical.shape == (3, 1)
    assert X.numeric.shape == (3, 0)
    assert X.categorical_names == ("cat0",)
    assert X.cardinalities == (6,)  # max id + 1
    assert X.index is None
    assert X[[1]].index is None
    assert RaggedSequences([0, 0]).cardinalities == ()


def test_index_list_becomes_pandas_index():
    X = RaggedSequences([0, 1, 2], np.array([2, 3]), index=["a", "b"])
    assert isinstance(X.index, pd.Index)
    assert X[[1, 0]].index.tolist() == ["b", "a"]


@pytest.mark.parametrize(
    "offsets, match",
    [
        ([], "1-D array of n_sequences + 1"),
        ([[0, 1]], "1-D array of n_sequences + 1"),
        ([1, 2], "start at 0 and be non-decreasing"),
        ([0, 3, 2], "start at 0 and be non-decreasing"),
        ([0, 1.5], "offsets must be integers"),
    ],
)
def test_bad_offsets(offsets, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        RaggedSequences(offsets)


def test_bad_shapes_and_names():
    with pytest.raises(
        ValueError, match=re.escape("offsets[-1] = 2; got shape (3, 1)")
    ):
        RaggedSequences([0, 2], np.zeros((3, 1), dtype=np.int64))
    with pytest.raises(ValueError, match="numeric must have shape"):
        RaggedSequences([0, 2], None, np.zeros((1, 1)))
    with pytest.raises(ValueError, match="categorical_names must name every"):
        RaggedSequences([0, 2], np.zeros((2, 1)), categorical_names=("a", "b"))
    with pytest.raises(ValueError, match="numeric_names must name every"):
        RaggedSequences([0, 2], None, np.zeros((2, 2)), numeric_names=("a",))
    with pytest.raises(ValueError, match="cardinalities must give one size"):
        RaggedSequences([0, 2], np.zeros((2, 1)), cardinalities=(3, 4))
    with pytest.raises(ValueError, match=re.escape("index has 1 entries but there")):
        RaggedSequences([0, 1, 2], index=[7])


# ----------------------------------------------------------------- indexing
@pytest.mark.parametrize(
    "key, rows",
    [
        (np.array([3, 0]), [3, 0]),
        ([2, 2, 1], [2, 2, 1]),
        (np.array([-1, 0]), [3, 0]),
        (np.array([], dtype=np.int64), []),
        ([], []),
        (slice(1, 3), [1, 2]),
        (slice(None, None, -1), [3, 2, 1, 0]),
        (slice(None, None, 2), [0, 2]),
        (slice(3, 1), []),
        (np.array([True, False, True, True]), [0, 2, 3]),
        ([False, True, False, False], [1]),
        (2, [2]),
        (-1, [3]),
        (np.int64(1), [1]),
    ],
)
def test_row_indexing(X, key, rows):
    out = X[key]
    assert isinstance(out, RaggedSequences)
    assert _rows(out) == [ROWS[r] for r in rows]
    np.testing.assert_array_equal(out.lengths, LENGTHS[rows])
    assert out.index.tolist() == INDEX[rows].tolist()
    assert out.index.name == "user_id"
    expected_numeric = np.concatenate([[0.0]] + [ROWS[r] for r in rows])[1:] / 2
    np.testing.assert_array_equal(out.numeric[:, 0], expected_numeric)
    # names and sizes are carried
    assert out.categorical_names == X.categorical_names
    assert out.numeric_names == X.numeric_names
    assert out.cardinalities == X.cardinalities


def test_ellipsis_form_equals_plain_rows(X):
    for key in (np.array([2, 0]), np.array([True, False, False, True]), slice(1, None)):
        a, b = X[key, ...], X[key]
        np.testing.assert_array_equal(a.offsets, b.offsets)
        np.testing.assert_array_equal(a.categorical, b.categorical)
        assert a.index.equals(b.index)


@pytest.mark.parametrize(
    "key, error, match",
    [
        (4, IndexError, "row 4 is out of range for 4 sequences"),
        (-5, IndexError, "row -5 is out of range"),
        ([0, 4], IndexError, "row index out of range for 4 sequences"),
        ([-5], IndexError, "row index out of range"),
        (np.array([0.0, 1.0]), IndexError, "got an array of dtype float64"),
        (np.array([True, False]), IndexError, "boolean row mask has shape (2,)"),
        (np.array([[0, 1]]), IndexError, "row indices must be 1-D"),
        ((0, 1), IndexError, "supports row indexing only"),
        ((slice(None), 0), IndexError, "supports row indexing only"),
        ("a", IndexError, "must be indexed by integers"),
    ],
)
def test_bad_keys(X, key, error, match):
    with pytest.raises(error, match=re.escape(match)):
        X[key]


def test_indexing_does_not_modify_the_source(X):
    before = (X.offsets.copy(), X.categorical.copy())
    X[[3, 0]].categorical[:] = -1
    X[1:3].offsets[:] = -1
    np.testing.assert_array_equal(X.offsets, before[0])
    np.testing.assert_array_equal(X.categorical, before[1])


def test_sklearn_safe_indexing(X):
    for key in (np.array([2, 0]), [2, 0], np.array([False, True, True, False])):
        out = _safe_indexing(X, key)
        assert isinstance(out, RaggedSequences)
        assert _rows(out) == [ROWS[i] for i in np.arange(4)[key]]
        assert out.index.tolist() == INDEX[key].tolist()


def test_train_test_split_keeps_rows_and_labels_aligned(X):
    y = np.array([100, 200, 300, 400])  # 10 * index
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, random_state=0
    )
    assert isinstance(X_train, RaggedSequences) and isinstance(X_test, RaggedSequences)
    assert len(X_train) == 2 and len(X_test) == 2
    np.testing.assert_array_equal(X_train.index * 10, y_train)
    np.testing.assert_array_equal(X_test.index * 10, y_test)
    assert sorted(X_train.index.tolist() + X_test.index.tolist()) == INDEX.tolist()
    position = {u: i for i, u in enumerate(INDEX)}
    assert _rows(X_test) == [ROWS[position[u]] for u in X_test.index]


def test_kfold_split_and_index(X):
    for train, test in KFold(2).split(X):
        assert _rows(X[test]) == [ROWS[i] for i in test]
        assert X[train].n_events + X[test].n_events == X.n_events


def test_larger_random_indexing_matches_reference():
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 8, 200)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    cat = rng.integers(2, 50, (offsets[-1], 3))
    X = RaggedSequences(offsets, cat, index=pd.RangeIndex(200))
    rows = rng.choice(200, 80, replace=True)
    out = X[rows]
    expected = np.concatenate([cat[offsets[r] : offsets[r + 1]] for r in rows])
    np.testing.assert_array_equal(out.categorical, expected)
    np.testing.assert_array_equal(out.lengths, lengths[rows])
    np.testing.assert_array_equal(out.index, rows)


# --------------------------------------------------------- truncate, padding
def test_truncate_keeps_last_events(X):
    out = X.truncate(2)
    assert _rows(out) == [[0, 1], [], [3, 4], [5]]
    np.testing.assert_array_equal(out.offsets, [0, 2, 2, 4, 5])
    np.testing.assert_array_equal(out.numeric[:, 0], [0.0, 0.5, 1.5, 2.0, 2.5])
    assert out.index.equals(INDEX)
    assert out.cardinalities == X.cardinalities
    assert _rows(X.truncate(1)) == [[1], [], [4], [5]]
    assert _rows(X.truncate(10)) == ROWS


@pytest.mark.parametrize("max_len", [0, -1, 2.0, None])
def test_truncate_rejects_bad_max_len(X, max_len):
    with pytest.raises(ValueError, match=re.escape("max_len must be an int >= 1")):
        X.truncate(max_len)


def test_to_padded(X):
    padded = X.to_padded()
    assert set(padded) == {"categorical", "numeric", "lengths"}
    assert padded["categorical"].shape == (4, 3, 2)
    assert padded["categorical"].dtype == np.int64
    assert padded["numeric"].shape == (4, 3, 1)
    assert padded["numeric"].dtype == np.float32
    assert padded["lengths"].dtype == np.int64
    np.testing.assert_array_equal(padded["lengths"], LENGTHS)
    assert padded["categorical"][:, :, 0].tolist() == [
        [2, 4, 0],
        [0, 0, 0],
        [6, 8, 10],
        [12, 0, 0],
    ]
    np.testing.assert_array_equal(
        padded["numeric"][:, :, 0],
        [[0.0, 0.5, 0.0], [0.0, 0.0, 0.0], [1.0, 1.5, 2.0], [2.5, 0.0, 0.0]],
    )


def test_to_padded_max_len_and_edge_cases(X):
    padded = X.to_padded(max_len=1)
    assert padded["categorical"][:, :, 0].tolist() == [[4], [0], [10], [12]]
    np.testing.assert_array_equal(padded["lengths"], [1, 0, 1, 1])
    # only empty sequences: still one (padding) step
    empty = X[[1, 1]].to_padded()
    assert empty["categorical"].shape == (2, 1, 2)
    assert (empty["categorical"] == 0).all() and (empty["numeric"] == 0).all()
    assert empty["lengths"].tolist() == [0, 0]
    # no sequences at all
    none = X[[]].to_padded()
    assert none["categorical"].shape == (0, 1, 2)
    assert none["lengths"].shape == (0,)


def test_pickle_round_trip(X):
    Y = pickle.loads(pickle.dumps(X))
    np.testing.assert_array_equal(Y.offsets, X.offsets)
    np.testing.assert_array_equal(Y.categorical, X.categorical)
    np.testing.assert_array_equal(Y.numeric, X.numeric)
    assert Y.index.equals(X.index)
    assert Y.cardinalities == X.cardinalities


def test_nbytes_grows_with_events_not_with_the_longest_row():
    short = RaggedSequences(np.array([0, 1, 2]), np.zeros((2, 1), np.int64))
    skewed = RaggedSequences(np.array([0, 1, 1001]), np.zeros((1001, 1), np.int64))
    per_event = 8  # one int64 categorical channel, no numeric channel
    assert skewed.nbytes - short.nbytes == 999 * per_event
    assert skewed.nbytes < skewed.to_padded()["categorical"].nbytes
