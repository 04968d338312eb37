"""sample_weight of fit and partial_fit: validation, the weighted loss, its
behaviour, and metadata routing."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
import torch
from sklearn.base import clone, is_classifier
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import make_pipeline

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceVectorizer,
    TransformerSequenceClassifier,
    TransformerSequenceRegressor,
)
from seqestimators.neural_network._seeding import weighted_loss

TINY = dict(hidden_size=8, max_epochs=3, random_state=0)


def _toy(n=120, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 5, 1)).astype(np.float32)
    return X, X[:, -1, 0] > 0


def _estimators():
    return [
        LSTMSequenceClassifier(**TINY),
        LSTMSequenceClassifier(ensemble_size=2, class_weight="balanced", **TINY),
        LSTMSequenceRegressor(**TINY),
        TransformerSequenceClassifier(num_heads=2, **TINY),
        TransformerSequenceRegressor(num_heads=2, loss="poisson", **TINY),
    ]


def _target(est, X, y):
    if is_classifier(est):
        return y
    if getattr(est, "loss", None) == "poisson":
        return np.round(np.exp(X[:, -1, 0]))
    return X[:, -1, 0]


def _out(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


# ------------------------------------------------------------ equivalence
@pytest.mark.parametrize("est", _estimators(), ids=lambda e: type(e).__name__)
def test_unit_weights_equal_no_weights(est):
    X, y = _toy()
    y = _target(est, X, y)
    plain = _out(clone(est).fit(X, y), X)
    for weights in (np.ones(len(X)), np.full(len(X), 2.5)):
        weighted = clone(est).fit(X, y, sample_weight=weights)
        np.testing.assert_array_equal(_out(weighted, X), plain)


@pytest.mark.parametrize("est", _estimators(), ids=lambda e: type(e).__name__)
def test_varied_weights_train_every_estimator(est):
    X, y = _toy()
    y = _target(est, X, y)
    weights = np.random.RandomState(1).uniform(0, 3, len(X))
    weights[:10] = 0
    est = clone(est).fit(X, y, sample_weight=weights)
    assert np.isfinite(_out(est, X)).all()
    assert np.isfinite(est.loss_curve_).all()
    assert np.isfinite(est.best_loss_)
    assert np.isfinite(est.best_validation_score_)


def test_weighted_loss_is_the_loss_of_repeated_rows():
    rng = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 3, generator=rng)
    y = torch.tensor([0, 1, 2, 1, 0, 2])
    counts = torch.tensor([1, 3, 0, 2, 1, 4])
    criterion = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5]))
    repeated = criterion(
        logits.repeat_interleave(counts, 0), y.repeat_interleave(counts)
    )
    weighted = weighted_loss(criterion, logits, y, counts.float())
    torch.testing.assert_close(weighted, repeated)
    assert criterion.reduction == "mean"
    # class weights and sample weights multiply
    as_samples = weighted_loss(
        torch.nn.CrossEntropyLoss(), logits, y, counts * criterion.weight[y]
    )
    torch.testing.assert_close(weighted, as_samples)
    # multi-output regression: each row's loss is the mean over its outputs
    pred, target = torch.randn(6, 2, generator=rng), torch.randn(6, 2, generator=rng)
    mse = torch.nn.MSELoss()
    torch.testing.assert_close(
        weighted_loss(mse, pred, target, counts.float()),
        mse(pred.repeat_interleave(counts, 0), target.repeat_interleave(counts, 0)),
    )
    # a batch of zero weights has loss 0, not NaN
    assert float(weighted_loss(mse, pred, target, torch.zeros(6))) == 0.0


def test_weighted_ensemble_loss_is_the_members_sum():
    est = LSTMSequenceClassifier(ensemble_size=3, **TINY)
    X, y = _toy()
    est.fit(X, y)
    net = est.net_
    rng = torch.Generator().manual_seed(0)
    y_pred = torch.randn(3, 6, 2, generator=rng)
    y_true = torch.tensor([0, 1, 1, 0, 1, 0])
    w = torch.tensor([1.0, 2.0, 0.0, 1.0, 3.0, 1.0])
    total = net.get_loss(y_pred, y_true, X={"sample_weight": w}, training=True)
    expected = sum(weighted_loss(net.criterion_, p, y_true, w) for p in y_pred)
    torch.testing.assert_close(total, expected)


# -------------------------------------------------------------- behaviour
def test_zero_weights_ignore_corrupted_rows():
    X, y = _toy(n=300)
    corrupted = np.random.RandomState(2).rand(len(X)) < 0.6
    y_noisy = np.where(corrupted, ~y, y)
    weights = np.where(corrupted, 0.0, 1.0)
    params = dict(hidden_size=8, max_epochs=8, lr=2e-2, early_stopping=False,
                  random_state=0)
    clean = LSTMSequenceClassifier(**params).fit(X, y_noisy, sample_weight=weights)
    noisy = LSTMSequenceClassifier(**params).fit(X, y_noisy)
    assert clean.score(X, y) > 0.85
    assert noisy.score(X, y) < 0.5


def test_weighted_early_stopping_validation():
    # weights 0 on the corrupted rows: the weighted validation score measures
    # the clean target, the unweighted one the mostly corrupted labels
    X, y = _toy(n=300)
    corrupted = np.random.RandomState(2).rand(len(X)) < 0.6
    y_noisy = np.where(corrupted, ~y, y)
    weights = np.where(corrupted, 0.0, 1.0)
    params = dict(hidden_size=8, max_epochs=6, lr=2e-2, random_state=0)
    est = LSTMSequenceClassifier(**params).fit(X, y_noisy, sample_weight=weights)
    assert est.best_validation_score_ > 0.85
    assert est.score(X, y_noisy, sample_weight=weights) > 0.85


def test_partial_fit_accepts_weights():
    X, y = _toy()
    weights = np.random.RandomState(0).uniform(0.5, 2, len(X))
    clf = LSTMSequenceClassifier(**TINY)
    clf.partial_fit(X, y, classes=[False, True], sample_weight=weights)
    clf.partial_fit(X, y, sample_weight=weights)
    assert clf.n_iter_ == 2
    a = LSTMSequenceRegressor(**TINY).partial_fit(X, X[:, -1, 0])
    b = LSTMSequenceRegressor(**TINY).partial_fit(
        X, X[:, -1, 0], sample_weight=np.ones(len(X))
    )
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    b.partial_fit(X, X[:, -1, 0], sample_weight=weights)


# ------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "weights, message",
    [
        (-np.ones(120), "Negative values in data passed to `sample_weight`"),
        (np.ones(7), r"sample_weight.shape == \(7,\), expected \(120,\)"),
        (np.zeros(120), "at least one non-zero"),
        (np.full(120, np.nan), "NaN"),
    ],
    ids=["negative", "length", "all-zero", "nan"],
)
def test_bad_weights_raise(weights, message):
    X, y = _toy()
    clf = LSTMSequenceClassifier(**TINY)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y, sample_weight=weights)
    assert not hasattr(clf, "net_")
    with pytest.raises(ValueError, match=message):
        clf.partial_fit(X, y, classes=[False, True], sample_weight=weights)


def test_rejected_weights_leave_a_fitted_model_as_it_was():
    X, y = _toy()
    clf = LSTMSequenceClassifier(**TINY).fit(X, y)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match="Negative"):
        clf.fit(X, y, sample_weight=-np.ones(len(X)))
    np.testing.assert_array_equal(clf.predict_proba(X), before)


# ---------------------------------------------------------------- routing
@pytest.fixture
def routing():
    sklearn.set_config(enable_metadata_routing=True)
    try:
        yield
    finally:
        sklearn.set_config(enable_metadata_routing=False)


def test_cross_validate_routes_weights(routing):
    X, y = _toy()
    weights = np.random.RandomState(0).uniform(0.5, 2, len(X))
    clf = (
        LSTMSequenceClassifier(**TINY)
        .set_fit_request(sample_weight=True)
        .set_score_request(sample_weight=True)
    )
    result = cross_validate(
        clf, X, y, cv=KFold(2), params={"sample_weight": weights},
        return_estimator=True,
    )
    assert len(result["estimator"]) == 2
    assert np.isfinite(result["test_score"]).all()
    # without the request, passing weights is an error
    with pytest.raises(UnsetMetadataPassedError):
        cross_validate(
            LSTMSequenceClassifier(**TINY), X, y, cv=KFold(2),
            params={"sample_weight": weights},
        )


def test_pipeline_routes_weights(routing, sequences, targets):
    seq = sequences.head(120)
    y = targets.loc[seq.index, "will_buy"].to_numpy()
    weights = np.random.RandomState(0).uniform(0.5, 2, len(seq))
    seen = {}

    class Recording(LSTMSequenceClassifier):
        def fit(self, X, y, sample_weight=None):
            seen["weights"] = sample_weight
            return super().fit(X, y, sample_weight=sample_weight)

    pipe = make_pipeline(
        SequenceVectorizer(max_len=20),
        Recording(**TINY)
        .set_fit_request(sample_weight=True)
        .set_score_request(sample_weight=True),
    )
    pipe.fit(seq, y, sample_weight=weights)
    np.testing.assert_array_equal(seen["weights"], weights)
    assert pipe.predict(seq).shape == (len(seq),)
    result = cross_validate(
        pipe, seq, y, cv=KFold(2), params={"sample_weight": weights}
    )
    assert np.isfinite(result["test_score"]).all()


def test_validation_loss_is_the_weighted_mean_over_the_split():
    X, y = _toy(n=200)
    weights = np.random.RandomState(3).uniform(0, 3, len(X))
    # the network's own validation loss (the linear model may be kept
    # alone after 1 epoch)
    clf = LSTMSequenceClassifier(
        hidden_size=8, max_epochs=1, validation_fraction=0.3, random_state=0,
        wide=False,
    ).fit(X, y, sample_weight=weights)
    _, valid = clf._split(len(X), clf._stratify_labels(y.astype(np.int64)))
    log_proba = clf.predict_log_proba(X[valid])
    losses = -log_proba[np.arange(len(valid)), y[valid].astype(int)]
    expected = np.average(losses, weights=weights[valid])
    np.testing.assert_allclose(clf.history_["valid_loss"].iloc[-1], expected,
                               rtol=1e-5)
    accurate = clf.predict(X[valid]) == y[valid]
    np.testing.assert_allclose(
        clf.best_validation_score_, np.average(accurate, weights=weights[valid])
    )


def test_weights_of_one_class_only_raise():
    X, y = _toy()
    with pytest.raises(ValueError, match="at least 2 classes with a positive"):
        LSTMSequenceClassifier(**TINY).fit(X, y, sample_weight=y.astype(float))
