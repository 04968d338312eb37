"""permutation_importance per channel of a sequence frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.inspection import permutation_importance as sklearn_importance
from sklearn.pipeline import make_pipeline

from seqestimators import (
    LSTMSequenceClassifier,
    SequenceVectorizer,
    permutation_importance,
)


def _list_column(offsets, values):
    lists = pa.LargeListArray.from_arrays(offsets, pa.array(values))
    return pd.arrays.ArrowExtensionArray(lists)


def _frame(n=400, seed=0):
    """Sequences of 4 to 7 events; the target is whether channel ``signal``
    holds a "u". ``noise`` and ``amount`` carry nothing."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(4, 8, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    total = int(offsets[-1])
    signal = rng.choice(["u", "v", "w"], size=total, p=[0.15, 0.45, 0.4])
    X = pd.DataFrame(
        {
            "signal": _list_column(offsets, signal),
            "noise": _list_column(offsets, rng.choice(["p", "q", "r"], size=total)),
            "amount": _list_column(offsets, rng.normal(size=total)),
        },
        index=pd.Index(np.arange(n) + 1000, name="user_id"),
    )
    rows = np.repeat(np.arange(n), lengths)
    y = (np.bincount(rows, weights=signal == "u", minlength=n) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def data():
    return _frame()


@pytest.fixture(scope="module")
def model(data):
    X, y = data
    pipe = make_pipeline(
        SequenceVectorizer(),
        LSTMSequenceClassifier(hidden_size=8, max_epochs=15, random_state=0),
    )
    return pipe.fit(X, y)


def test_sklearn_fails_on_a_sequence_frame(model, data):
    """scikit-learn moves each list to a row of another length."""
    X, y = data
    with pytest.raises(ValueError, match="same length"):
        sklearn_importance(model, X, y, n_repeats=1, random_state=0)


def test_the_channel_the_target_depends_on_matters_most(model, data):
    X, y = data
    before = X.copy()
    result = permutation_importance(
        model, X, y, scoring="accuracy", n_repeats=3, random_state=0
    )
    pd.testing.assert_frame_equal(X, before)  # not modified
    assert list(result.channels) == ["signal", "noise", "amount"]
    assert result.importances.shape == (3, 3)
    np.testing.assert_allclose(result.importances_mean, result.importances.mean(1))
    np.testing.assert_allclose(result.importances_std, result.importances.std(1))
    assert result.baseline_score == pytest.approx(model.score(X, y))
    signal, noise, amount = result.importances_mean
    assert signal > 0.2
    assert signal > 5 * max(abs(noise), abs(amount), 0.01)
    # lengths 4 to 7 over 400 rows: every row shares its length
    np.testing.assert_array_equal(result.permuted_fraction, [1.0, 1.0, 1.0])


def test_same_seed_same_result(model, data):
    X, y = data
    runs = [
        permutation_importance(model, X, y, channels=["signal"], n_repeats=2,
                               random_state=3).importances
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*runs)


def _recording_scorer(seen):
    def scorer(estimator, X, y):
        seen.append(X)
        return 0.0

    return scorer


def test_rows_keep_their_events_together(model, data):
    """Each row gets a whole list of another row of the same length."""
    X, y = data
    seen = []
    permutation_importance(model, X, y, channels=["signal"], n_repeats=2,
                           scoring=_recording_scorer(seen), random_state=0)
    baseline, *permuted = seen
    assert baseline is X
    original = X["signal"].to_list()
    lengths = X["signal"].list.len().to_numpy()
    by_content = {tuple(lst): i for i, lst in enumerate(original)}
    for P in permuted:
        assert P.index.equals(X.index)
        for column in ("noise", "amount"):  # the other channels stay put
            assert P[column].equals(X[column])
        np.testing.assert_array_equal(P["signal"].list.len().to_numpy(), lengths)
        donors = [by_content.get(tuple(lst)) for lst in P["signal"].to_list()]
        assert None not in donors  # every list is one of the originals
        assert (np.asarray(donors) != np.arange(len(X))).mean() > 0.5  # moved


def test_scalar_columns_move_freely_and_object_lists_work(model, data):
    X, y = data
    X = X.assign(
        segment=np.arange(len(X)) % 7,  # a scalar per row
        signal=pd.Series(X["signal"].to_list(), index=X.index, dtype=object),
    )
    seen = []
    result = permutation_importance(
        model, X, y, channels=["segment", "signal"], n_repeats=1,
        scoring=_recording_scorer(seen), random_state=0,
    )
    _, by_segment, by_signal = seen
    assert not by_segment["segment"].equals(X["segment"])
    assert sorted(by_segment["segment"]) == sorted(X["segment"])
    lengths = X["signal"].map(len).to_numpy()
    np.testing.assert_array_equal(by_signal["signal"].map(len).to_numpy(), lengths)
    np.testing.assert_array_equal(result.permuted_fraction, [1.0, 1.0])


def test_few_shared_lengths_warn(model):
    # lengths 1 to 6: no row shares its length, no list can move
    offsets = np.concatenate([[0], np.cumsum(np.arange(1, 7))])
    X = pd.DataFrame({
        "signal": _list_column(offsets, np.resize(["u", "v", "w"], 21)),
        "noise": _list_column(offsets, np.resize(["p", "q"], 21)),
        "amount": _list_column(offsets, np.zeros(21)),
    })
    y = np.array([0, 1, 0, 1, 0, 1])
    with pytest.warns(UserWarning, match="Only 0% of the rows of column 'signal'"):
        result = permutation_importance(model, X, y, channels=["signal"],
                                        n_repeats=1, random_state=0)
    assert result.importances.tolist() == [[0.0]]
    assert result.permuted_fraction.tolist() == [0.0]


def test_bad_arguments_say_what_is_expected(model, data):
    X, y = data
    with pytest.raises(ValueError, match="'nope', which is not a column of X"):
        permutation_importance(model, X, y, channels=["nope"])
    with pytest.raises(ValueError, match="channels is empty"):
        permutation_importance(model, X, y, channels=[])
    with pytest.raises(TypeError, match="pandas.DataFrame"):
        permutation_importance(model, X.to_numpy(), y)
    with pytest.raises(ValueError, match="n_repeats"):
        permutation_importance(model, X, y, n_repeats=0)
