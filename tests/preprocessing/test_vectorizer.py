"""Tests for seqestimators.SequenceVectorizer."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.utils import estimator_checks
from sklearn.utils._param_validation import InvalidParameterError

from seqestimators import RaggedSequences, SequenceVectorizer, to_sequences
from seqestimators.datasets import make_event_log

T0 = pd.Timestamp("2024-01-01")
S = pd.Timedelta(seconds=1)
EVENT_COLUMNS = ["timestamp", "event_type", "item_id", "category", "price"]


def _small() -> pd.DataFrame:
    """A fresh sequence frame of Python lists (object columns)."""
    return pd.DataFrame(
        {
            "ev": [["a", "b", "a"], ["b"], ["c", "a"]],
            "n": [[1, 2, 1], [3], [2, 2]],
            "flag": [[True, False, True], [True], [False, False]],
            "x": [[1.0, 2.0, 3.0], [4.0], [5.0, 6.0]],
            "t": [
                [T0, T0 + 10 * S, T0 + 70 * S],
                [T0],
                [T0 + 3600 * S, T0 + 3605 * S],
            ],
        },
        index=pd.Index(["u1", "u2", "u3"], name="user_id"),
    )


def _as_object(frame: pd.DataFrame) -> pd.DataFrame:
    """The same sequence frame with object columns of Python lists."""
    return pd.DataFrame(
        {
            c: pd.Series(frame[c].tolist(), index=frame.index, dtype=object)
            for c in frame
        },
        index=frame.index,
    )


def _empty_row(frame: pd.DataFrame, label) -> pd.DataFrame:
    """A one-row frame with an empty list in every (Arrow) column."""
    index = pd.Index([label], name=frame.index.name)
    return pd.DataFrame(
        {c: pd.Series([[]], index=index, dtype=frame[c].dtype) for c in frame.columns},
        index=index,
    )


@pytest.fixture(scope="module")
def events():
    events, _ = make_event_log(150, random_state=0)
    return events


@pytest.fixture(scope="module")
def seqs(events):
    # session_id is a per-user identifier: inference leaves it out (with a
    # warning, see test_identifier_column_is_left_out_with_a_warning)
    return to_sequences(events, columns=EVENT_COLUMNS)


@pytest.fixture(scope="module")
def fitted(seqs):
    return SequenceVectorizer().fit(seqs)


# ----------------------------------------------------------------- inference
def test_infers_kinds_on_python_lists():
    vec = SequenceVectorizer().fit(_small())
    assert vec.categorical_ == ["ev", "n", "flag"]
    assert vec.numeric_ == ["x"]
    assert vec.time_ == "t"
    assert vec.get_feature_names_out().tolist() == [
        "ev",
        "n",
        "flag",
        "x",
        "t__log_gap",
    ]
    assert vec.cardinalities_ == [3 + 2, 3 + 2, 2 + 2]
    assert vec.feature_names_in_.tolist() == ["ev", "n", "flag", "x", "t"]
    assert vec.n_features_in_ == 5


def test_infers_kinds_on_event_log(fitted):
    assert fitted.categorical_ == ["event_type", "item_id", "category"]
    assert fitted.numeric_ == ["price"]
    assert fitted.time_ == "timestamp"


@pytest.mark.parametrize("container", [list, tuple])
def test_explicit_columns(container):
    vec = SequenceVectorizer(
        categorical=container(["ev"]), numeric=container(["n", "x"]), time=None
    ).fit(_small())
    assert vec.categorical_ == ["ev"]
    assert vec.numeric_ == ["n", "x"]
    assert vec.time_ is None
    Xt = vec.transform(_small())
    assert Xt.categorical_names == ("ev",)
    assert Xt.numeric_names == ("n", "x")
    n = np.array([1, 2, 1, 3, 2, 2], dtype=float)
    np.testing.assert_allclose(Xt.numeric[:, 0], (n - n.mean()) / n.std(), rtol=1e-6)


def test_time_auto_with_two_datetime_columns_raises():
    frame = _small().assign(t2=_small()["t"])
    with pytest.raises(ValueError, match=re.escape("several timestamp list columns")):
        SequenceVectorizer().fit(frame)
    vec = SequenceVectorizer(time="t2").fit(frame)
    assert vec.time_ == "t2"
    assert "t" not in vec.categorical_ + vec.numeric_


def test_time_none_adds_no_gap_feature():
    vec = SequenceVectorizer(time=None).fit(_small())
    assert vec.time_ is None
    assert "t__log_gap" not in vec.get_feature_names_out()
    assert vec.transform(_small()).n_numeric == 1


def test_object_and_arrow_inputs_give_the_same_output(seqs):
    part = seqs.iloc[:30]
    obj = _as_object(part)
    assert all(pd.api.types.is_object_dtype(t) for t in obj.dtypes)
    a = SequenceVectorizer().fit(part)
    b = SequenceVectorizer().fit(obj)
    assert a.categorical_ == b.categorical_ and a.numeric_ == b.numeric_
    assert b.time_ == "timestamp"
    Xa, Xb = a.transform(part), b.transform(obj)
    np.testing.assert_array_equal(Xa.offsets, Xb.offsets)
    np.testing.assert_array_equal(Xa.categorical, Xb.categorical)
    np.testing.assert_allclose(Xa.numeric, Xb.numeric, rtol=1e-6)
    # a vectorizer fitted on Arrow columns encodes Python lists, and back
    np.testing.assert_array_equal(a.transform(obj).categorical, Xa.categorical)


# --------------------------------------------------------------- vocabularies
def test_vocabularies_learned_from_fit_data_only(seqs):
    fit_part, other = seqs.iloc[:60], seqs.iloc[60:]
    vec = SequenceVectorizer().fit(fit_part)
    Xt = vec.transform(other)
    assert (Xt.categorical >= 1).all()  # no padding inside the ragged data
    n_unknown = 0
    for j, col in enumerate(vec.categorical_):
        seen = fit_part[col].list.flatten().to_numpy()
        vocab = vec.vocabularies_[col]
        assert set(vocab) == set(seen), col
        assert len(vocab) == len(set(vocab))
        values = other[col].list.flatten().to_numpy()
        ids = Xt.categorical[:, j]
        known = np.isin(values, seen)
        np.testing.assert_array_equal(ids == 1, ~known, err_msg=col)
        assert (ids[known] >= 2).all()
        np.testing.assert_array_equal(vocab[ids[known] - 2], values[known])
        n_unknown += int((~known).sum())
    assert n_unknown > 0  # the check above exercised unknown values


def test_unknown_is_one_and_padding_is_zero():
    vec = SequenceVectorizer(categorical=["ev"], numeric=[], time=None)
    vec.fit(_small())
    other = pd.DataFrame({"ev": [["z", "a"], ["b", "y", "c"]]})
    Xt = vec.transform(other)
    a, b, c = (int(np.flatnonzero(vec.vocabularies_["ev"] == v)[0]) + 2 for v in "abc")
    assert Xt.categorical[:, 0].tolist() == [1, a, b, 1, c]
    padded = Xt.to_padded()["categorical"][:, :, 0]
    assert padded.tolist() == [[1, a, 0], [b, 1, c]]


def test_handle_unknown_error_names_column_and_values():
    vec = SequenceVectorizer(handle_unknown="error").fit(_small())
    other = _small()
    other["ev"] = [["a", "zz", "a"], ["b"], ["c", "a"]]
    with pytest.raises(
        ValueError, match=re.escape("Column 'ev' has categories unseen")
    ):
        vec.transform(other)
    with pytest.raises(ValueError, match=re.escape("['zz']")):
        vec.transform(other)
    vec.transform(_small())  # known values are fine


def _expected_vocab(events, col, threshold=1, top=None):
    counts = events[col].value_counts()
    items = sorted(
        ((v, c) for v, c in counts.items() if c >= threshold),
        key=lambda vc: (-vc[1], vc[0]),
    )
    return [v for v, _ in items][:top]


@pytest.mark.parametrize("col", ["item_id", "category"])
@pytest.mark.parametrize("min_frequency", [1, 3])
def test_min_frequency_int(events, seqs, col, min_frequency):
    vec = SequenceVectorizer(min_frequency=min_frequency).fit(seqs)
    expected = _expected_vocab(events, col, threshold=min_frequency)
    assert vec.vocabularies_[col].tolist() == expected


def test_min_frequency_int_shrinks_and_maps_rare_to_unknown(events, seqs):
    vec = SequenceVectorizer(min_frequency=3).fit(seqs)
    counts = events["item_id"].value_counts()
    assert len(vec.vocabularies_["item_id"]) == int((counts >= 3).sum())
    assert len(vec.vocabularies_["item_id"]) < events["item_id"].nunique()
    j = vec.categorical_.index("item_id")
    ids = vec.transform(seqs).categorical[:, j]
    rare = events["item_id"].map(counts).to_numpy() < 3
    np.testing.assert_array_equal(ids == 1, rare)


@pytest.mark.parametrize("fraction", [0.01, 0.05])
def test_min_frequency_float_is_fraction_of_events(events, seqs, fraction):
    vec = SequenceVectorizer(min_frequency=fraction).fit(seqs)
    threshold = fraction * len(events)
    for col in ["event_type", "category", "item_id"]:
        assert vec.vocabularies_[col].tolist() == _expected_vocab(
            events, col, threshold=threshold
        ), col
    assert len(vec.vocabularies_["item_id"]) < events["item_id"].nunique()


@pytest.mark.parametrize("max_categories", [1, 3])
def test_max_categories_keeps_most_frequent(events, seqs, max_categories):
    vec = SequenceVectorizer(max_categories=max_categories).fit(seqs)
    for col in ["event_type", "category", "item_id"]:
        assert vec.vocabularies_[col].tolist() == _expected_vocab(
            events, col, top=max_categories
        ), col
    assert vec.cardinalities_ == [max_categories + 2] * 3


def test_max_categories_ties_broken_by_value():
    frame = pd.DataFrame({"ev": [["d", "c", "b"], ["a", "b", "c"]]})
    vec = SequenceVectorizer(max_categories=2).fit(frame)
    assert vec.vocabularies_["ev"].tolist() == ["b", "c"]


# ------------------------------------------------------------------- numeric
def test_numeric_scaling_learned_from_fit_data_only(seqs):
    fit_part, other = seqs.iloc[:60], seqs.iloc[60:]
    vec = SequenceVectorizer().fit(fit_part)
    fit_price = fit_part["price"].list.flatten().to_numpy(dtype=float)
    other_price = other["price"].list.flatten().to_numpy(dtype=float)
    assert vec.mean_[0] == pytest.approx(fit_price.mean())
    assert vec.scale_[0] == pytest.approx(fit_price.std())
    Xt = vec.transform(other)
    expected = (other_price - fit_price.mean()) / fit_price.std()
    np.testing.assert_allclose(Xt.numeric[:, 0], expected, rtol=1e-5, atol=1e-6)
    # not standardized with the other frame's own statistics
    assert abs(Xt.numeric[:, 0].mean()) > 1e-3


def test_time_gap_feature_matches_hand_computation():
    vec = SequenceVectorizer().fit(_small())
    gaps = np.log1p([0.0, 10.0, 60.0, 0.0, 0.0, 5.0])
    assert vec.mean_[1] == pytest.approx(gaps.mean())
    assert vec.scale_[1] == pytest.approx(gaps.std())
    Xt = vec.transform(_small())
    j = list(Xt.numeric_names).index("t__log_gap")
    np.testing.assert_allclose(
        Xt.numeric[:, j], (gaps - gaps.mean()) / gaps.std(), rtol=1e-6
    )


def test_time_gap_from_numeric_seconds_equals_datetime():
    seconds = [[0.0, 10.0, 70.0], [0.0], [3600.0, 3605.0]]
    frame = _small().assign(sec=seconds)
    a = SequenceVectorizer(time="t").fit(frame.drop(columns="sec"))
    b = SequenceVectorizer(time="sec", numeric=["x"]).fit(frame.drop(columns="t"))
    np.testing.assert_allclose(
        a.transform(frame).numeric, b.transform(frame).numeric, rtol=1e-6
    )


def test_time_gaps_are_computed_before_truncation():
    vec = SequenceVectorizer(max_len=2, categorical=["ev"], numeric=[]).fit(_small())
    # kept events: u1 -> 2nd and 3rd (gaps 10, 60), u2 -> 1st (0), u3 -> both
    gaps = np.log1p([10.0, 60.0, 0.0, 0.0, 5.0])
    assert vec.mean_[0] == pytest.approx(gaps.mean())
    Xt = vec.transform(_small())
    np.testing.assert_allclose(
        Xt.numeric[:, 0], (gaps - gaps.mean()) / gaps.std(), rtol=1e-6
    )


def test_infinite_numeric_value_raises():
    frame = _small()
    frame["x"] = [[1.0, np.inf, 3.0], [4.0], [5.0, 6.0]]
    with pytest.raises(ValueError, match="Numeric channel 'x' holds infinite"):
        SequenceVectorizer().fit(frame)


# -------------------------------------------------------------------- max_len
def test_max_len_keeps_most_recent_events(events, seqs):
    vec = SequenceVectorizer(max_len=5).fit(seqs)
    Xt = vec.transform(seqs)
    ref = (
        events.sort_values(["user_id", "timestamp"], kind="stable")
        .groupby("user_id")
        .tail(5)
    )
    full = seqs["event_type"].list.len().to_numpy()
    assert (full > 5).any()
    np.testing.assert_array_equal(Xt.lengths, np.minimum(full, 5))
    assert Xt.index.equals(seqs.index)
    for j, col in enumerate(vec.categorical_):
        ids = Xt.categorical[:, j]
        assert (ids >= 2).all(), col
        decoded = vec.vocabularies_[col][ids - 2]
        np.testing.assert_array_equal(decoded, ref[col].to_numpy(), err_msg=col)
    price = Xt.numeric[:, 0] * vec.scale_[0] + vec.mean_[0]
    np.testing.assert_allclose(price, ref["price"].to_numpy(), rtol=1e-4)
    # the ragged output row of one user, explicitly
    user = int(np.flatnonzero(full > 5)[0])
    row = Xt[user]
    last = ref[ref["user_id"] == seqs.index[user]]
    k = vec.categorical_.index("event_type")
    decoded = vec.vocabularies_["event_type"][row.categorical[:, k] - 2]
    assert decoded.tolist() == last["event_type"].tolist()


def test_max_len_larger_than_every_sequence_changes_nothing(seqs, fitted):
    longest = int(seqs["price"].list.len().max())
    vec = SequenceVectorizer(max_len=longest).fit(seqs)
    a, b = vec.transform(seqs), fitted.transform(seqs)
    np.testing.assert_array_equal(a.categorical, b.categorical)
    np.testing.assert_array_equal(a.numeric, b.numeric)


# ---------------------------------------------------------- output and shapes
def test_transform_returns_ragged_sequences(seqs, fitted):
    Xt = fitted.transform(seqs)
    assert isinstance(Xt, RaggedSequences)
    assert len(Xt) == len(seqs)
    assert Xt.n_events == int(seqs["price"].list.len().sum())
    assert Xt.categorical_names == tuple(fitted.categorical_)
    assert Xt.numeric_names == ("price", "timestamp__log_gap")
    assert Xt.cardinalities == tuple(fitted.cardinalities_)
    assert Xt.index.equals(seqs.index)
    assert Xt.categorical.dtype == np.int64
    assert Xt.numeric.dtype == np.float32


def test_get_feature_names_out(fitted):
    names = fitted.get_feature_names_out()
    assert isinstance(names, np.ndarray) and names.dtype == object
    assert names.tolist() == [
        "event_type",
        "item_id",
        "category",
        "price",
        "timestamp__log_gap",
    ]


def test_to_padded_shapes_dtypes_and_padding(seqs, fitted):
    Xt = fitted.transform(seqs)
    padded = Xt.to_padded()
    n, lengths = len(seqs), seqs["price"].list.len().to_numpy()
    L = int(lengths.max())
    assert padded["categorical"].shape == (n, L, 3)
    assert padded["categorical"].dtype == np.int64
    assert padded["numeric"].shape == (n, L, 2)
    assert padded["numeric"].dtype == np.float32
    assert padded["lengths"].dtype == np.int64
    np.testing.assert_array_equal(padded["lengths"], lengths)
    steps = np.arange(L)[None, :] < lengths[:, None]
    assert (padded["categorical"][~steps] == 0).all()
    assert (padded["numeric"][~steps] == 0).all()
    assert (padded["categorical"][steps] >= 2).all()
    np.testing.assert_array_equal(padded["categorical"][steps], Xt.categorical)
    np.testing.assert_array_equal(padded["numeric"][steps], Xt.numeric)


def test_sliced_and_chunked_arrow_frames(seqs, fitted):
    full = fitted.transform(seqs)
    part = fitted.transform(seqs.iloc[10:40])
    expected = full[10:40]
    np.testing.assert_array_equal(part.offsets, expected.offsets)
    np.testing.assert_array_equal(part.categorical, expected.categorical)
    np.testing.assert_array_equal(part.numeric, expected.numeric)
    chunked = pd.concat([seqs.iloc[:50], seqs.iloc[50:]])
    again = fitted.transform(chunked)
    np.testing.assert_array_equal(again.categorical, full.categorical)
    np.testing.assert_array_equal(again.numeric, full.numeric)
    picked = fitted.transform(seqs.iloc[[5, 2, 9]])
    np.testing.assert_array_equal(picked.categorical, full[[5, 2, 9]].categorical)


# ---------------------------------------------------------- empty sequences
def test_empty_sequence_has_length_zero(seqs, fitted):
    frame = pd.concat([seqs.iloc[:3], _empty_row(seqs, 10_000), seqs.iloc[3:5]])
    Xt = fitted.transform(frame)
    assert Xt.lengths.tolist()[3] == 0
    np.testing.assert_array_equal(
        Xt[[0, 1, 2, 4, 5]].categorical, fitted.transform(seqs.iloc[:5]).categorical
    )
    padded = Xt.to_padded()
    assert padded["lengths"][3] == 0
    assert (padded["categorical"][3] == 0).all()
    assert (padded["numeric"][3] == 0).all()
    # fitting on a frame with an empty sequence works too
    refit = SequenceVectorizer().fit(frame)
    assert refit.vocabularies_["event_type"].tolist() == (
        SequenceVectorizer().fit(seqs.iloc[:5]).vocabularies_["event_type"].tolist()
    )


def test_only_empty_sequences_pad_to_length_one(seqs, fitted):
    frame = pd.concat([_empty_row(seqs, 1), _empty_row(seqs, 2)])
    Xt = fitted.transform(frame)
    assert Xt.lengths.tolist() == [0, 0]
    padded = Xt.to_padded()
    assert padded["categorical"].shape == (2, 1, 3)
    assert padded["numeric"].shape == (2, 1, 2)
    assert (padded["categorical"] == 0).all() and (padded["numeric"] == 0).all()


def test_empty_python_lists():
    frame = _small()
    frame.loc["u4"] = [[], [], [], [], []]
    vec = SequenceVectorizer(categorical=["ev"], numeric=["x"], time=None).fit(frame)
    Xt = vec.transform(frame)
    assert Xt.lengths.tolist() == [3, 1, 2, 0]
    assert (Xt.to_padded()["categorical"][3] == 0).all()


# ------------------------------------------------------------------- errors
def _bad_frames():
    def cell(col, value, row=1):
        frame = _small()
        frame[col] = [value if i == row else v for i, v in enumerate(frame[col])]
        return frame

    def out_of_order():
        frame = _small()
        frame["t"] = [frame["t"].iloc[0], frame["t"].iloc[1], [T0 + 9 * S, T0]]
        return frame

    long = pd.DataFrame(
        {"user_id": [1, 1, 2], "ev": ["a", "b", "a"], "x": [1.0, 2.0, 3.0]}
    )
    return [
        (
            "scalar",
            cell("ev", "b"),
            TypeError,
            "Column 'ev', row 'u2': expected a list",
        ),
        (
            "scalar-float",
            cell("x", 4.0),
            TypeError,
            "Column 'x', row 'u2': expected a list",
        ),
        ("none-cell", cell("ev", None), ValueError, "Column 'ev', row 'u2': the cell"),
        (
            "all-none-column",
            _small().assign(x=[None, None, None]),
            ValueError,
            "Column 'x', row 'u1': the cell is missing",
        ),
        (
            "unequal",
            cell("ev", ["a"], row=0),
            ValueError,
            "Row 'u1': column 'n' has 3 events but column 'ev' has 1",
        ),
        (
            "none-in-categorical",
            cell("ev", ["c", None], row=2),
            ValueError,
            "Column 'ev', row 'u3': a list holds a missing value",
        ),
        (
            "nan-in-numeric",
            cell("x", [5.0, np.nan], row=2),
            ValueError,
            "Column 'x', row 'u3': a list holds a missing value",
        ),
        (
            "none-in-numeric",
            cell("x", [None]),
            ValueError,
            "Column 'x', row 'u2': a list holds a missing value",
        ),
        (
            "out-of-order",
            out_of_order(),
            ValueError,
            "Time column 't' is out of order in row 'u3'",
        ),
        ("long-format", long, TypeError, "seqestimators.to_sequences"),
        ("empty", _small().iloc[:0], ValueError, "empty sequence frame"),
        ("ndarray", np.zeros((3, 2)), TypeError, "expects a sequence frame"),
        ("list", [["a"], ["b"]], TypeError, "expects a sequence frame"),
    ]


@pytest.mark.parametrize(
    "frame, error, message",
    [case[1:] for case in _bad_frames()],
    ids=[case[0] for case in _bad_frames()],
)
@pytest.mark.parametrize("stage", ["fit", "transform"])
def test_bad_input_errors(frame, error, message, stage):
    vec = SequenceVectorizer()
    if stage == "transform":
        vec.fit(_small())
        if isinstance(frame, pd.DataFrame) and "user_id" in frame.columns:
            vec = SequenceVectorizer(categorical=["ev"], numeric=["x"], time=None)
            vec.fit(_small())
        call = vec.transform
    else:
        call = vec.fit
    with pytest.raises(error, match=re.escape(message)):
        call(frame)


def test_null_cell_in_arrow_column(seqs, fitted):
    frame = seqs.iloc[:3].reindex([seqs.index[0], -7, seqs.index[1]])
    assert frame["price"].isna().sum() == 1
    with pytest.raises(ValueError, match=re.escape("row -7: the cell is missing")):
        fitted.transform(frame)


def test_long_format_arrow_frame_hints_at_to_sequences(events):
    with pytest.raises(TypeError, match="holds scalars.*to_sequences"):
        SequenceVectorizer().fit(events.convert_dtypes(dtype_backend="pyarrow"))
    with pytest.raises(TypeError, match="long event log.*to_sequences"):
        SequenceVectorizer().fit(events)


def test_missing_columns_are_named(seqs, fitted):
    with pytest.raises(ValueError, match=re.escape("Column 'nope' passed to")):
        SequenceVectorizer(categorical=["nope"]).fit(seqs)
    with pytest.raises(ValueError, match=re.escape("Column 'nope' passed to")):
        SequenceVectorizer(time="nope").fit(seqs)
    with pytest.raises(ValueError, match=re.escape("Column 'price' is missing")):
        fitted.transform(seqs.drop(columns="price"))


def test_conflicting_columns():
    with pytest.raises(ValueError, match=re.escape("both categorical and numeric")):
        SequenceVectorizer(categorical=["n"], numeric=["n"]).fit(_small())
    with pytest.raises(ValueError, match="is the time column"):
        SequenceVectorizer(categorical=["t"], time="t").fit(_small())


def test_numeric_column_of_strings_raises():
    with pytest.raises(TypeError, match=re.escape("Numeric column 'ev' holds lists")):
        SequenceVectorizer(numeric=["ev"]).fit(_small())


@pytest.mark.parametrize(
    "params, name",
    [
        ({"min_frequency": 0}, "min_frequency"),
        ({"min_frequency": 1.5}, "min_frequency"),
        ({"max_len": 0}, "max_len"),
        ({"max_categories": 0}, "max_categories"),
        ({"handle_unknown": "drop"}, "handle_unknown"),
        ({"categorical": "ev"}, "categorical"),
    ],
)
def test_invalid_parameters(params, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        SequenceVectorizer(**params).fit(_small())


def test_not_fitted():
    vec = SequenceVectorizer()
    with pytest.raises(NotFittedError):
        vec.transform(_small())
    with pytest.raises(NotFittedError):
        vec.get_feature_names_out()


# -------------------------------------------------------------- immutability
def test_python_list_inputs_not_modified():
    frame = _small()
    vec = SequenceVectorizer(max_len=2).fit(frame)
    pd.testing.assert_frame_equal(frame, _small())
    vec.transform(frame)
    pd.testing.assert_frame_equal(frame, _small())


def test_arrow_inputs_not_modified(seqs):
    before = seqs.copy(deep=True)
    vec = SequenceVectorizer(max_len=3, min_frequency=2).fit(seqs)
    vec.transform(seqs.iloc[5:20])
    pd.testing.assert_frame_equal(seqs, before)


# -------------------------------------------------------- pipelines and CV
class _UnknownFlagClassifier(ClassifierMixin, BaseEstimator):
    """Predicts 1 for sequences holding an unknown id (1) in channel 0."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        row = np.repeat(np.arange(len(X)), X.lengths)
        unknown = (X.categorical[:, 0] == 1).astype(float)
        return (np.bincount(row, weights=unknown, minlength=len(X)) > 0).astype(int)


@pytest.fixture(scope="module")
def rare_data():
    """Rows 0-19 never hold "rare"; half of rows 20-39 do (y = 1 there)."""
    rng = np.random.default_rng(0)
    common = np.array(["view", "cart", "buy"])
    rows, y = [], np.zeros(40, dtype=int)
    for i in range(40):
        events = list(rng.choice(common, size=rng.integers(2, 6)))
        if i >= 20 and i % 2:
            events.insert(int(rng.integers(0, len(events))), "rare")
            y[i] = 1
        rows.append(events)
    prices = [
        list(rng.normal(10.0 * (i >= 20), 1.0, len(e))) for i, e in enumerate(rows)
    ]
    X = pd.DataFrame({"ev": rows, "price": prices}, index=pd.RangeIndex(40, name="uid"))
    return X, y


def _pipeline():
    return Pipeline(
        [("vec", SequenceVectorizer(time=None)), ("clf", _UnknownFlagClassifier())]
    )


def test_cross_val_score_refits_the_vectorizer_per_fold(rare_data):
    X, y = rare_data
    scores = cross_val_score(_pipeline(), X, y, cv=KFold(2))
    # fold 2 trains on rows 0-19, so "rare" is unknown (1) in its test fold
    np.testing.assert_array_equal(scores, [1.0, 1.0])
    # control: a vectorizer that saw all the data (leakage) fails the check
    leaky = SequenceVectorizer(time=None).fit(X)
    clf = _UnknownFlagClassifier().fit(leaky.transform(X.iloc[:20]), y[:20])
    assert clf.score(leaky.transform(X.iloc[20:]), y[20:]) == 0.5


def test_fold_statistics_come_from_the_training_fold(rare_data):
    X, y = rare_data
    result = cross_validate(_pipeline(), X, y, cv=KFold(2), return_estimator=True)
    for (train, _), pipe in zip(KFold(2).split(X), result["estimator"]):
        vec = pipe.named_steps["vec"]
        train_ev = set(np.concatenate(X["ev"].iloc[train].tolist()))
        assert set(vec.vocabularies_["ev"]) == train_ev
        train_price = np.concatenate(X["price"].iloc[train].tolist())
        assert vec.mean_[0] == pytest.approx(train_price.mean())
        assert vec.scale_[0] == pytest.approx(train_price.std())
    assert "rare" not in result["estimator"][1].named_steps["vec"].vocabularies_["ev"]


def test_grid_search_over_vectorizer_parameters(rare_data):
    X, y = rare_data
    search = GridSearchCV(
        _pipeline(), {"vec__max_categories": [1, None]}, cv=KFold(2)
    ).fit(X, y)
    assert search.best_params_ == {"vec__max_categories": None}
    assert search.best_score_ == 1.0
    # the refit on all data knows "rare"
    assert "rare" in search.best_estimator_.named_steps["vec"].vocabularies_["ev"]


# ------------------------------------------------- scikit-learn conformance
SKLEARN_CHECKS = [
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimator_repr",
    "check_estimator_cloneable",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_mixin_order",
    "check_do_not_raise_errors_in_init_or_set_params",
]


@pytest.mark.parametrize("check_name", SKLEARN_CHECKS)
def test_sklearn_data_free_checks(check_name):
    check = getattr(estimator_checks, check_name)
    check("SequenceVectorizer", SequenceVectorizer())


def test_tags_describe_sequence_input():
    tags = SequenceVectorizer().__sklearn_tags__()
    assert tags.input_tags.two_d_array is False
    assert tags.input_tags.string is True
    assert tags.requires_fit is True


def test_clone_keeps_params_and_drops_fitted_state(fitted):
    vec = SequenceVectorizer(max_len=7, min_frequency=0.1, handle_unknown="error")
    vec.fit(_small())
    copy = clone(vec)
    assert copy.get_params() == vec.get_params()
    assert not hasattr(copy, "vocabularies_")
    assert clone(fitted).get_params() == SequenceVectorizer().get_params()


def test_pickle_round_trip_gives_identical_output(seqs, fitted):
    restored = pickle.loads(pickle.dumps(fitted))
    a, b = fitted.transform(seqs), restored.transform(seqs)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    np.testing.assert_array_equal(a.categorical, b.categorical)
    np.testing.assert_array_equal(a.numeric, b.numeric)
    assert restored.get_feature_names_out().tolist() == (
        fitted.get_feature_names_out().tolist()
    )


def test_set_output_and_global_pandas_config(seqs):
    vec = SequenceVectorizer()
    assert vec.set_output(transform="default") is vec
    assert vec.set_output() is vec
    with pytest.raises(ValueError, match=re.escape("cannot output 'pandas'")):
        vec.set_output(transform="pandas")
    pipe = _pipeline()
    assert pipe.set_output(transform="default") is pipe
    with sklearn.config_context(transform_output="pandas"):
        Xt = SequenceVectorizer().fit_transform(seqs.iloc[:10])
    assert isinstance(Xt, RaggedSequences)


def test_html_repr():
    html = SequenceVectorizer(max_len=4)._repr_html_()
    assert "SequenceVectorizer" in html
    assert "max_len" in html
    assert "SequenceVectorizer" in _pipeline()._repr_html_()
