"""Fit/predict skew, warm starts, threads, numpy parameters and verbose=2."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    RaggedSequences,
)

TINY = dict(hidden_size=4, max_epochs=2, random_state=0)
RNG = np.random.RandomState(0)
X3 = RNG.normal(size=(48, 6, 2)).astype(np.float32)
Y = X3[:, -1, 0] + 0.5 * X3[:, 0, 1]
LABELS = (Y > 0).astype(int)


def _ragged(cardinality=7, names=("event",), numeric_names=("price",), seed=0):
    rng = np.random.RandomState(seed)
    lengths = rng.randint(1, 6, size=40)
    offsets = np.r_[0, np.cumsum(lengths)]
    n = offsets[-1]
    cat = rng.randint(2, 5, size=(n, len(names)))
    num = rng.normal(size=(n, len(numeric_names))).astype(np.float32)
    return RaggedSequences(
        offsets, cat, num, categorical_names=names, numeric_names=numeric_names,
        cardinalities=[cardinality] * len(names),
    )


# ------------------------------------------------------- fit/predict skew
@pytest.fixture(scope="module")
def ragged_model():
    Xr = _ragged()
    y = (Xr.lengths > 3).astype(int)
    return LSTMSequenceClassifier(**TINY).fit(Xr, y)


def test_same_encoding_is_accepted(ragged_model):
    assert ragged_model.predict(_ragged(seed=1)).shape == (40,)
    # the padded form carries no names or declared cardinalities
    assert ragged_model.predict(_ragged(seed=1).to_padded()).shape == (40,)


def test_other_cardinality_is_refused(ragged_model):
    # another vectorizer with a smaller vocabulary: the ids are in range
    with pytest.raises(ValueError, match="cardinality 6, but .* fitted with "
                       "cardinality 7"):
        ragged_model.predict(_ragged(cardinality=6))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"names": ("page",)}, r"categorical channels \['page'\]"),
        ({"numeric_names": ("amount",)}, r"numeric channels \['amount'\]"),
    ],
)
def test_other_channel_names_are_refused(ragged_model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ragged_model.predict(_ragged(**kwargs))


def test_other_vocabulary_fingerprint_is_refused():
    Xr = _ragged()
    Xr.vocabulary_fingerprint = "a"
    clf = LSTMSequenceClassifier(**TINY).fit(Xr, (Xr.lengths > 3).astype(int))
    same = _ragged(seed=1)
    same.vocabulary_fingerprint = "a"
    clf.predict(same)
    other = _ragged(seed=1)
    other.vocabulary_fingerprint = "b"
    with pytest.raises(ValueError, match="other vocabularies"):
        clf.predict(other)


def test_inferred_cardinalities_are_not_a_mismatch(ragged_model):
    Xr = _ragged(seed=2)
    unnamed = RaggedSequences(Xr.offsets, Xr.categorical, Xr.numeric,
                              categorical_names=("event",),
                              numeric_names=("price",))
    assert unnamed.cardinalities != (7,)
    assert ragged_model.predict(unnamed).shape == (40,)


# ------------------------------------------------------------ warm start
@pytest.mark.parametrize(
    "change",
    [{"hidden_size": 5}, {"cell": "gru"}, {"num_layers": 2}, {"pooling": "mean"},
     {"bidirectional": True}, {"dropout": 0.3}],
)
def test_warm_start_refuses_architecture_changes(change):
    reg = LSTMSequenceRegressor(warm_start=True, **TINY).fit(X3, Y)
    before = reg.predict(X3)
    key = next(iter(change))
    with pytest.raises(ValueError, match=f"architecture changed \\({key}"):
        reg.set_params(**change).fit(X3, Y)
    np.testing.assert_array_equal(reg.set_params(**{
        key: LSTMSequenceRegressor(**TINY).get_params()[key]}).predict(X3), before)


def test_warm_start_refuses_embedding_dim_change():
    Xr = _ragged()
    y = Xr.lengths.astype(float)
    reg = LSTMSequenceRegressor(warm_start=True, embedding_dim=4, **TINY).fit(Xr, y)
    with pytest.raises(ValueError, match="embedding_dims"):
        reg.set_params(embedding_dim=5).fit(Xr, y)


class _RecordLR(Callback):
    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])


def test_warm_start_applies_training_parameters():
    reg = LSTMSequenceRegressor(warm_start=True, early_stopping=False, **TINY)
    reg.fit(X3, Y)
    reg.set_params(lr=1e-4, max_epochs=3, callbacks=[_RecordLR()]).fit(X3, Y)
    assert reg.n_iter_ == 5
    assert reg.history_["lr"].iloc[-3:].tolist() == [1e-4] * 3
    reg.set_params(optimizer="sgd", callbacks=None).fit(X3, Y)
    assert isinstance(reg.net_.optimizer_, torch.optim.SGD)
    assert reg.n_iter_ == 8


def test_warm_start_without_changes_keeps_the_net():
    reg = LSTMSequenceRegressor(warm_start=True, **TINY).fit(X3, Y)
    net = reg.net_
    reg.fit(X3, Y)
    assert reg.net_ is net and reg.n_iter_ >= 3


# ------------------------------------------------------ numpy parameters
def test_numpy_scalar_parameters_are_accepted():
    params = dict(hidden_size=np.int64(4), num_layers=np.int64(1),
                  max_epochs=np.int64(2), batch_size=np.int64(16),
                  embedding_dim=np.int64(3), lr=np.float64(1e-2),
                  dropout=np.float64(0.1), n_iter_no_change=np.int64(2),
                  bidirectional=np.bool_(True), random_state=0)
    Xr = _ragged()
    clf = LSTMSequenceClassifier(**params).fit(Xr, (Xr.lengths > 3).astype(int))
    assert clf.predict(Xr).shape == (40,)


def test_grid_search_over_numpy_values():
    grid = {"hidden_size": np.arange(3, 5), "lr": np.array([1e-2, 2e-2])}
    search = GridSearchCV(LSTMSequenceClassifier(max_epochs=1, random_state=0),
                          grid, cv=2)
    search.fit(X3, LABELS)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"max_epochs": True}, "'max_epochs' parameter .* int in the range"),
        ({"hidden_size": np.True_}, "'hidden_size' parameter"),
        ({"callbacks": ["x"]}, "'callbacks' parameter .* list of skorch Callback"),
        ({"callbacks": [("name",)]}, "'callbacks' parameter"),
        ({"callbacks": [(1, _RecordLR())]}, "'callbacks' parameter"),
        ({"callbacks": _RecordLR()}, "'callbacks' parameter"),
    ],
)
def test_malformed_parameters_are_rejected(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        LSTMSequenceRegressor(**{**TINY, **params}).fit(X3, Y)


def test_named_callbacks_are_accepted():
    reg = LSTMSequenceRegressor(callbacks=[("lr", _RecordLR())], **TINY).fit(X3, Y)
    assert reg.history_["lr"].notna().all()


# ---------------------------------------------------------------- verbose
def test_verbose_2_fits_with_a_text_progress_bar(capsys):
    reg = LSTMSequenceRegressor(verbose=2, **TINY).fit(X3, Y)
    assert reg.n_iter_ >= 1
    bar = dict(reg.net_.callbacks_)["progress_bar"]
    assert bar.detect_notebook is False
    assert "/" in capsys.readouterr().err  # the bar went to stderr as text


# ---------------------------------------------------------------- threads
THREAD_PARAMS = dict(hidden_size=4, max_epochs=2, dropout=0.3, num_layers=2,
                     early_stopping=True, n_threads=1)


def _fit(seed, out, key):
    reg = LSTMSequenceRegressor(random_state=seed, **THREAD_PARAMS).fit(X3, Y)
    out[key] = reg.predict(X3)


def test_concurrent_fits_equal_sequential_fits():
    sequential = {}
    for seed in (0, 1):
        _fit(seed, sequential, seed)
    concurrent = {}
    threads = [threading.Thread(target=_fit, args=(s, concurrent, s)) for s in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for seed in (0, 1):
        assert np.array_equal(concurrent[seed], sequential[seed])
    assert not np.array_equal(sequential[0], sequential[1])


def test_a_fit_in_another_thread_leaves_the_callers_rng_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    out = {}
    t = threading.Thread(target=_fit, args=(0, out, 0))
    t.start()
    t.join()
    assert 0 in out
    assert torch.equal(torch.random.get_rng_state(), before)


def test_input_from_another_vectorizer_is_refused():
    """Same channels and sizes, other vocabularies: refused, not absorbed."""
    import pandas as pd

    from seqestimators import SequenceVectorizer, to_sequences

    def frame(items):
        events = pd.DataFrame({
            "user": np.repeat(np.arange(40), 3),
            "t": np.tile(np.arange(3), 40),
            "item": np.resize(items, 120),
        })
        return to_sequences(events, by="user", order_by="t")

    a, b = frame(["x", "y", "z"]), frame(["z", "y", "x", "y"])
    vec_a = SequenceVectorizer(categorical=["item"]).fit(a)
    vec_b = SequenceVectorizer(categorical=["item"]).fit(b)
    Xa, Xb = vec_a.transform(a), vec_b.transform(b)
    assert Xa.cardinalities == Xb.cardinalities
    assert Xa.vocabulary_fingerprint != Xb.vocabulary_fingerprint
    y = np.arange(40) % 2
    clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=1, random_state=0)
    clf.fit(Xa, y)
    clf.predict(Xa[:5])  # the same encoding is fine, also after row indexing
    with pytest.raises(ValueError, match="other vocabularies"):
        clf.predict(Xb)
