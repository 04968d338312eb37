"""TransformerSequenceClassifier and TransformerSequenceRegressor: the LSTM
estimators' contract over the self-attention encoder (the scikit-learn checks
run in tests/test_common.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from seqestimators import (
    LSTMSequenceClassifier,
    RaggedSequences,
    SequenceVectorizer,
    TransformerSequenceClassifier,
    TransformerSequenceRegressor,
    load,
    save,
)
from seqestimators.model_selection import default_search_space, tune
from seqestimators.neural_network import _transformer
from seqestimators.neural_network._batching import SequenceDataset
from seqestimators.neural_network._seeding import init_parameters
from seqestimators.neural_network._transformer import AttentionBatchIterator

#: one small block; enough for the tasks below
TINY = dict(hidden_size=8, num_layers=1, num_heads=2, lr=1e-2, random_state=0)


def ragged_data(seed=0):
    """Sequences of 1-12 events (two of 60 and 80), one categorical and one
    numeric channel; the label is the sign of the last numeric value."""
    rng = np.random.RandomState(seed)
    lengths = np.r_[rng.randint(1, 13, size=58), 60, 80]
    offsets = np.r_[0, np.cumsum(lengths)]
    n = offsets[-1]
    X = RaggedSequences(
        offsets, rng.randint(2, 6, size=(n, 1)), rng.normal(size=(n, 1)),
        cardinalities=[6],
    )
    last = X.numeric[offsets[1:] - 1, 0]
    return X, np.where(last > 0, "up", "down")


@pytest.fixture(scope="module")
def data():
    return ragged_data()


# ------------------------------------------------------------- padding
@pytest.mark.parametrize("causal", [False, True], ids=["bidirectional", "causal"])
@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention",
                                     "last+mean+max"])
def test_prediction_independent_of_padding(data, pooling, causal):
    """A short sequence predicts the same alone and inside a batch with
    much longer sequences (which pads it to their length)."""
    X, y = data
    clf = TransformerSequenceClassifier(
        **TINY, pooling=pooling, causal=causal, max_epochs=1, early_stopping=False
    ).fit(X, y)
    proba = clf.predict_proba(X)
    rows = list(range(0, 58, 7))
    alone = np.vstack([clf.predict_proba(X[[i]]) for i in rows])
    np.testing.assert_allclose(proba[rows], alone, atol=1e-6)


def test_causal_and_bidirectional_differ(data):
    X, y = data
    a, b = (
        # the plain network: the linear start may be kept alone after 1 epoch
        TransformerSequenceClassifier(**TINY, causal=c, max_epochs=1, wide=False)
        .fit(X, y)
        for c in (False, True)
    )
    assert not np.allclose(a.predict_proba(X), b.predict_proba(X))


# ------------------------------------------------------- the contract
@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return TransformerSequenceClassifier(**TINY, max_epochs=30).fit(X, y)


def test_predict_returns_original_labels(fitted, data):
    X, y = data
    assert fitted.classes_.tolist() == ["down", "up"]
    pred = fitted.predict(X)
    assert pred.dtype == y.dtype and set(pred) <= {"down", "up"}
    assert (pred == y).mean() > 0.8
    np.testing.assert_allclose(fitted.predict_proba(X).sum(axis=1), 1.0)
    assert fitted.predict_topk(X[:3], k=2)[:, 0].tolist() == pred[:3].tolist()


def test_parameters_follow_the_lstm_ones():
    params = TransformerSequenceClassifier().get_params()
    lstm = LSTMSequenceClassifier().get_params()
    assert set(lstm) - set(params) == {"bidirectional", "cell"}
    assert set(params) - set(lstm) == {"num_heads", "causal", "max_positions"}
    assert (params["hidden_size"], params["num_layers"], params["num_heads"]) == (
        64, 2, 4)
    assert params["causal"] is False
    reg = TransformerSequenceRegressor().get_params()
    assert set(reg) - set(params) == {"loss"}


def test_network_is_the_transformer_sequence_net(fitted):
    module = fitted.net_.module_
    assert type(module.encoder).__name__ == "TransformerEncoder"
    assert len(module.encoder.blocks) == 1
    assert module.bag is not None and module.wide is not None  # the skip paths
    # positions counted from the end: the longest training sequence
    assert int(module.encoder.trained_positions) == 80


def test_long_sequences_beyond_training_predict_finite(fitted):
    rng = np.random.RandomState(1)
    n = 300  # longer than every training sequence (80)
    X = RaggedSequences([0, n], rng.randint(2, 6, size=(n, 1)),
                        rng.normal(size=(n, 1)), cardinalities=[6])
    assert np.isfinite(fitted.predict_proba(X)).all()


def test_regressor_in_original_scale(data):
    X, _ = data
    y = 100.0 + 10.0 * X.numeric[X.offsets[1:] - 1, 0]
    reg = TransformerSequenceRegressor(**TINY, max_epochs=30).fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == (len(y),)
    assert abs(pred.mean() - 100.0) < 5.0
    assert reg.score(X, y) > 0.3


def test_poisson_regressor_predicts_rates(data):
    X, y = data
    counts = (y == "up").astype(int) * 3
    reg = TransformerSequenceRegressor(**TINY, loss="auto", max_epochs=5).fit(
        X, counts)
    assert reg._fitted_loss == "poisson"
    assert (reg.predict(X) >= 0).all()


def test_pipeline_with_time_features(sequences, targets):
    """From a sequence frame: the vectorizer's time features reach the
    encoder as numeric channels next to the learned positions."""
    pipe = make_pipeline(
        SequenceVectorizer(max_len=50),
        TransformerSequenceClassifier(**TINY, max_epochs=3),
    )
    y = targets["will_buy"].to_numpy()
    pipe.fit(sequences, y)
    assert pipe[-1].input_signature_["n_numeric"] >= 2
    assert set(pipe.predict(sequences)) <= set(np.unique(y))


# ------------------------------------------------------ early stopping
# the network's own early stopping (on noise the linear start may be kept
# alone: tests/neural_network/test_estimators.py)
ES = dict(TINY, dropout=0.0, max_epochs=40, n_iter_no_change=3, lr=2e-2, wide=False)


@pytest.fixture(scope="module")
def noise():
    """Labels that are pure noise: the validation loss can only get worse."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 5, 2)).astype(np.float32)
    return X, rng.randint(0, 2, size=150)


def test_early_stopping_restores_best(noise):
    X, y = noise
    clf = TransformerSequenceClassifier(**ES).fit(X, y)
    assert clf.stop_reason_ == "early_stopping"
    assert clf.best_epoch_ < clf.n_iter_ == clf.best_epoch_ + ES["n_iter_no_change"]
    valid_loss = clf.history_["valid_loss"].to_numpy()
    assert clf.best_epoch_ == int(np.argmin(valid_loss)) + 1
    # the kept weights are those of best_epoch_: a fit of exactly that many
    # epochs predicts the same
    shorter = TransformerSequenceClassifier(
        **{**ES, "max_epochs": clf.best_epoch_}).fit(X, y)
    np.testing.assert_allclose(shorter.predict_proba(X), clf.predict_proba(X),
                               atol=1e-6)


# ------------------------------------------------------------ save/load
@pytest.mark.parametrize("Estimator", [TransformerSequenceClassifier,
                                       TransformerSequenceRegressor])
def test_save_load_round_trip(data, Estimator):
    X, y = data
    if Estimator is TransformerSequenceRegressor:
        y = X.numeric[X.offsets[1:] - 1, 0]
    est = Estimator(**TINY, causal=True, max_epochs=2).fit(X, y)
    buffer = io.BytesIO()
    save(est, buffer)
    buffer.seek(0)
    restored = load(buffer)
    assert type(restored) is Estimator
    assert restored.get_params() == est.get_params()
    method = "predict_proba" if hasattr(est, "predict_proba") else "predict"
    assert np.array_equal(getattr(restored, method)(X), getattr(est, method)(X))
    assert int(restored.net_.module_.encoder.trained_positions) == 80


def test_model_file_with_a_recurrent_network_is_refused(data):
    """A file naming the Transformer class around an LSTM's network (edited
    by hand) is refused at load, not at the first predict."""
    X, y = data
    lstm = LSTMSequenceClassifier(hidden_size=8, max_epochs=1, random_state=0)
    state = lstm.fit(X, y)._saved_state()
    clf = TransformerSequenceClassifier(**TINY)
    with pytest.raises(ValueError, match="encoder='transformer'"):
        clf._restore_saved_state(state)


def test_ensemble_of_transformers(data):
    X, y = data
    clf = TransformerSequenceClassifier(**TINY, ensemble_size=2, max_epochs=2)
    clf.fit(X, y)
    assert clf.net_.module_.n_members == 2
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    buffer = io.BytesIO()
    save(clf, buffer)
    buffer.seek(0)
    assert np.array_equal(load(buffer).predict_proba(X), clf.predict_proba(X))


# ------------------------------------------------------------- batches
def test_batches_bound_attention_pairs():
    lengths = np.r_[np.full(64, 10), np.full(16, 400)]
    X = RaggedSequences(np.r_[0, np.cumsum(lengths)], np.full((lengths.sum(), 1), 2))
    it = AttentionBatchIterator(SequenceDataset(X), batch_size=32, shuffle=True,
                                max_pairs=400**2 * 3)
    batches = it.batches()
    assert sorted(np.concatenate(batches).tolist()) == list(range(80))
    for rows in batches:
        assert len(rows) * lengths[rows].max() ** 2 <= 400**2 * 3
    assert max(len(r) for r in batches) == 32  # short rows keep full batches
    assert len(it) == len(batches)


def test_predict_splits_long_batches_without_changing_outputs(fitted, data,
                                                              monkeypatch):
    X, _ = data
    expected = fitted.predict_proba(X)
    # 2 heads: prediction batches of 60-80 events now hold one row each
    monkeypatch.setattr(_transformer, "MAX_ATTENTION_FLOATS", 2 * 80**2)
    assert fitted._max_batch_pairs(training=False) == 80**2
    np.testing.assert_allclose(fitted.predict_proba(X), expected, atol=1e-6)


def test_event_cap_grows_with_width_and_depth(fitted):
    small = fitted._max_batch_events()
    kwargs = {**fitted.net_.get_params_for("module"), "num_layers": 4}
    assert fitted._max_batch_events(kwargs) < small


def test_built_on_the_meta_device_positions_start_untrained(fitted):
    module = fitted.net_.module_
    state = {k: v.clone() for k, v in module.state_dict().items()}
    with torch.device("meta"):
        fresh = type(module)(**fitted.net_.get_params_for("module"))
    fresh.to_empty(device="cpu")
    init_parameters(fresh, torch.Generator().manual_seed(0))
    assert int(fresh.encoder.trained_positions) == 0
    assert set(fresh.state_dict()) == set(state)


# -------------------------------------------------------------- errors
def test_width_not_divisible_by_heads(data):
    X, y = data
    clf = TransformerSequenceClassifier(hidden_size=10, num_heads=4, max_epochs=1)
    with pytest.raises(ValueError, match="hidden_size=10 must be a multiple of "
                       "num_heads=4.*hidden_size=12"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


@pytest.mark.parametrize("params", [dict(num_heads=0), dict(causal="yes"),
                                    dict(max_positions=0), dict(num_heads=2.0)])
def test_invalid_parameters(data, params):
    X, y = data
    with pytest.raises(InvalidParameterError):
        TransformerSequenceClassifier(**params, max_epochs=1).fit(X, y)


def test_recurrent_parameters_are_not_parameters():
    with pytest.raises(TypeError):
        TransformerSequenceClassifier(cell="gru")
    with pytest.raises(ValueError, match="Invalid parameter 'bidirectional'"):
        TransformerSequenceRegressor().set_params(bidirectional=True)


def test_warm_start_refuses_another_architecture(data):
    X, y = data
    clf = TransformerSequenceClassifier(**TINY, max_epochs=1, warm_start=True)
    clf.fit(X, y)
    clf.set_params(max_epochs=2).fit(X, y)  # training parameters may change
    assert clf.n_iter_ == 3
    with pytest.raises(ValueError, match="num_heads: 2 -> 4"):
        clf.set_params(num_heads=4).fit(X, y)
    with pytest.raises(ValueError, match="causal: False -> True"):
        clf.set_params(num_heads=2, causal=True).fit(X, y)


# --------------------------------------------------------------- tuning
def test_tune_uses_the_transformer_space(data):
    X, y = data
    space = default_search_space(TransformerSequenceClassifier())
    assert {"num_heads", "causal"} <= set(space) and "cell" not in space
    assert all(h % k == 0 for h in space["hidden_size"][1]
               for k in space["num_heads"][1])
    assert default_search_space(TransformerSequenceRegressor()) == space
    clf = TransformerSequenceClassifier(max_epochs=1, n_threads=1, random_state=0)
    result = tune(clf, X, y, n_trials=2, cv=2, random_state=0, refit=False)
    assert set(result.best_params_) == set(space)
