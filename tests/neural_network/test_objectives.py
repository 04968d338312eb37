"""LSTMSequenceRegressor(loss=...): squared error, Poisson, Huber, absolute error."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from sklearn.metrics import mean_poisson_deviance
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils._param_validation import InvalidParameterError

from seqestimators import LSTMSequenceRegressor
from seqestimators.nn import HalfPoissonDeviance

#: tiny, no early stopping: these learn the toy tasks below in ~1 s each
# the losses' mechanics on the plain network (one view, no skip paths)
SMALL = dict(hidden_size=8, max_epochs=30, lr=2e-2, dropout=0.0, early_stopping=False,
             pooling="last", bag_pooling=None, wide=False)
LOSSES = ["squared_error", "absolute_error", "huber", "poisson"]


def _sequences(n, seed):
    """``n`` univariate sequences of 5 steps and their last value."""
    X = np.random.RandomState(seed).normal(size=(n, 5, 1)).astype(np.float32)
    return X, X[:, -1, 0].astype(np.float64)


# ------------------------------------------------------------------ Poisson
@pytest.fixture(scope="module")
def counts():
    """Counts with a known log-linear rate in the last step: 300 rows to
    train on, 100 to test."""
    X, last = _sequences(400, seed=0)
    rate = np.exp(1.2 * last - 0.5)
    y = np.random.RandomState(1).poisson(rate).astype(np.float64)
    return X, y, rate


@pytest.fixture(scope="module")
def poisson_model(counts):
    X, y, _ = counts
    return LSTMSequenceRegressor(loss="poisson", random_state=0, **SMALL).fit(
        X[:300], y[:300]
    )


def test_poisson_predicts_non_negative_rates(poisson_model, counts):
    X, _, _ = counts
    pred = poisson_model.predict(X)
    assert pred.shape == (len(X),)
    assert np.isfinite(pred).all()
    assert (pred >= 0).all()
    # the network outputs log-rates; targets are not standardized
    np.testing.assert_allclose(np.log(pred), poisson_model._forward(X)[:, 0], rtol=1e-5)
    assert poisson_model.y_mean_.tolist() == [0.0]
    assert poisson_model.y_scale_.tolist() == [1.0]
    assert isinstance(poisson_model.net_.criterion_, HalfPoissonDeviance)


def test_poisson_learns_a_log_linear_rate(poisson_model, counts):
    X, y, rate = counts
    test = slice(300, None)
    deviance = mean_poisson_deviance(y[test], poisson_model.predict(X[test]))
    constant = mean_poisson_deviance(y[test], np.full(100, y[:300].mean()))
    oracle = mean_poisson_deviance(y[test], rate[test])
    # closes most of the gap between the mean rate and the true rates
    assert deviance < oracle + 0.5 * (constant - oracle)
    # and ranks the rates: larger predictions where the true rate is larger
    assert (
        np.corrcoef(np.log(poisson_model.predict(X[test])), np.log(rate[test]))[0, 1]
        > 0.9
    )


def test_poisson_training_starts_at_the_mean_rate(counts):
    """The output bias starts at log(mean(y)) of each output (without the
    linear start, which moves it)."""
    X, y, _ = counts
    y2 = np.column_stack([y, 50 * y + 3])
    reg = LSTMSequenceRegressor(
        loss="poisson", hidden_size=4, max_epochs=1, lr=1e-9, random_state=0,
        wide=False,
    ).fit(X, y2)
    bias = reg.net_.module_.head.bias.detach().numpy()
    np.testing.assert_allclose(bias, np.log(y2.mean(axis=0)), rtol=1e-5)
    assert reg.predict(X).shape == (len(X), 2)


def test_half_poisson_deviance_is_half_sklearns():
    """``valid_loss`` of a Poisson model is half its mean Poisson deviance."""
    rng = np.random.RandomState(0)
    y = rng.poisson(3.0, size=200).astype(np.float32)
    log_rate = rng.normal(1.0, 0.5, size=200).astype(np.float32)
    got = HalfPoissonDeviance()(torch.from_numpy(log_rate), torch.from_numpy(y))
    want = mean_poisson_deviance(y, np.exp(log_rate.astype(np.float64))) / 2
    assert float(got) == pytest.approx(want, rel=1e-5)
    perfect = HalfPoissonDeviance()(
        torch.log(torch.tensor([1.0, 4.0])), torch.tensor([1.0, 4.0])
    )
    assert float(perfect) == pytest.approx(0.0, abs=1e-6)


def test_poisson_valid_loss_and_score(counts):
    X, y, _ = counts
    reg = LSTMSequenceRegressor(
        loss="poisson", hidden_size=8, max_epochs=5, lr=2e-2, random_state=0
    ).fit(X, y)
    valid_loss = reg.history_["valid_loss"].to_numpy()
    assert all(np.isfinite(valid_loss)) and min(valid_loss) >= 0
    # R² of the rates, not of the log-rates: positive once anything is learned
    assert reg.best_validation_score_ > 0


def test_poisson_rejects_negative_targets(counts):
    X, y, _ = counts
    y_bad = y.copy()
    y_bad[[3, 7]] = [-1.0, -2.5]
    msg = (
        "LSTMSequenceRegressor with loss='poisson' requires non-negative y and "
        "sum(y) > 0, but y has 2 negative values (min -2.5)."
    )
    reg = LSTMSequenceRegressor(
        loss="poisson", hidden_size=4, max_epochs=1, random_state=0
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        reg.fit(X, y_bad)
    assert not hasattr(reg, "net_")
    with pytest.raises(ValueError, match=re.escape(msg)):
        reg.partial_fit(X, y_bad)
    # later batches are checked too
    reg.partial_fit(X, y)
    with pytest.raises(ValueError, match="1 negative value \\(min -1\\)"):
        reg.partial_fit(X[:4], y_bad[:4])
    # other losses take negative targets
    LSTMSequenceRegressor(
        loss="huber", hidden_size=4, max_epochs=1, random_state=0
    ).fit(X, y_bad)


def test_poisson_rejects_all_zero_targets_in_the_first_fit(counts):
    """As HistGradientBoostingRegressor(loss="poisson"): sum(y) > 0."""
    X, y, _ = counts
    reg = LSTMSequenceRegressor(
        loss="poisson", hidden_size=4, max_epochs=1, random_state=0
    )
    with pytest.raises(ValueError, match=re.escape("but every target is 0")):
        reg.fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match=re.escape("output(s) [1] is 0")):
        reg.fit(X, np.column_stack([y, np.zeros(len(X))]))
    # once the rate has a start, an all-zero batch is a valid observation
    reg.fit(X, y)
    before = reg.predict(X[:20]).mean()
    for _ in range(5):
        reg.partial_fit(X[:20], np.zeros(20))
    assert reg.predict(X[:20]).mean() < before


# ----------------------------------------------------- robust losses
@pytest.fixture(scope="module")
def outlier_fits():
    """A clean linear target with 5% huge outliers among the 300 training
    rows, fitted with three losses; the median absolute error on 100 clean
    test rows of each."""
    X, last = _sequences(400, seed=2)
    y = last + 0.1 * np.random.RandomState(3).normal(size=400)
    y_train = y[:300].copy()
    y_train[np.random.RandomState(4).choice(300, 15, replace=False)] += 50
    models, errors = {}, {}
    for loss in ("squared_error", "huber", "absolute_error"):
        reg = LSTMSequenceRegressor(loss=loss, random_state=0, **SMALL)
        models[loss] = reg.fit(X[:300], y_train)
        errors[loss] = np.median(np.abs(reg.predict(X[300:]) - y[300:]))
    return models, errors, y_train


@pytest.mark.parametrize("loss", ["huber", "absolute_error"])
def test_robust_losses_ignore_outliers(outlier_fits, loss):
    _, errors, _ = outlier_fits
    # the outliers drag the squared error's predictions by about 2
    assert errors["squared_error"] > 1.0
    assert errors[loss] < 0.25 * errors["squared_error"]
    assert errors[loss] < 0.3


def test_huber_and_absolute_error_criteria(outlier_fits):
    """Huber's delta is 1 on the robustly standardized scale: about one
    standard deviation of the clean targets, whatever the outliers."""
    models, _, y_train = outlier_fits
    huber = models["huber"].net_.criterion_
    assert isinstance(huber, torch.nn.HuberLoss) and huber.delta == 1.0
    assert isinstance(models["absolute_error"].net_.criterion_, torch.nn.L1Loss)
    assert isinstance(models["squared_error"].net_.criterion_, torch.nn.MSELoss)
    # the outliers inflate the standard deviation, not the MAD
    assert models["squared_error"].y_scale_[0] > 5
    for loss in ("huber", "absolute_error"):
        np.testing.assert_allclose(models[loss].y_mean_, [np.median(y_train)])
        assert 0.8 < models[loss].y_scale_[0] < 1.4


def test_absolute_error_predicts_the_median():
    """A skewed target unrelated to X: the model predicts the median (1 for
    a standard log-normal), not the mean (1.65)."""
    X, _ = _sequences(400, seed=5)
    y = np.random.RandomState(6).lognormal(0.0, 1.0, size=400)
    reg = LSTMSequenceRegressor(loss="absolute_error", random_state=0, **SMALL)
    pred = reg.fit(X, y).predict(X)
    center = np.median(pred)
    assert abs(center - np.median(y)) < 0.25
    assert abs(center - np.median(y)) < 0.5 * abs(center - y.mean())
    assert 0.4 < np.mean(y > pred) < 0.6


# ------------------------------------------------ parameter, warm start
def test_invalid_loss_is_rejected_at_fit(counts):
    X, y, _ = counts
    reg = LSTMSequenceRegressor(loss="quantile")
    with pytest.raises(
        InvalidParameterError, match="The 'loss' parameter of LSTMSequenceRegressor"
    ):
        reg.fit(X, y)
    assert LSTMSequenceRegressor().loss == "auto"
    assert reg.__sklearn_tags__().target_tags.positive_only is False
    reg.set_params(loss="poisson")
    assert reg.__sklearn_tags__().target_tags.positive_only is True


@pytest.mark.parametrize("loss", LOSSES)
def test_warm_start_and_partial_fit_keep_the_loss(counts, loss):
    X, y, _ = counts
    reg = LSTMSequenceRegressor(
        loss=loss, hidden_size=4, max_epochs=2, warm_start=True, random_state=0
    ).fit(X[:100], y[:100])
    criterion = type(reg.net_.criterion_)
    first = reg.predict(X[:10])
    reg.fit(X[:100], y[:100])
    assert reg.n_iter_ == 4
    reg.partial_fit(X[:100], y[:100])
    assert reg.n_iter_ == 5
    assert type(reg.net_.criterion_) is criterion
    pred = reg.predict(X[:10])
    assert np.isfinite(pred).all() and not np.array_equal(pred, first)
    if loss == "poisson":
        assert (pred >= 0).all()
    # a changed loss cannot continue the fitted network
    other = "huber" if loss == "poisson" else "poisson"
    reg.set_params(loss=other)
    msg = f"was fitted with loss={loss!r}, but loss is now {other!r}"
    with pytest.raises(ValueError, match=re.escape(msg)):
        reg.fit(X[:100], y[:100])
    with pytest.raises(ValueError, match=re.escape(msg)):
        reg.partial_fit(X[:100], y[:100])
    np.testing.assert_array_equal(reg.predict(X[:10]), pred)
    # a fresh fit takes the new loss
    reg.set_params(warm_start=False).fit(X[:100], y[:100])
    assert reg.n_iter_ == 2
    assert type(reg.net_.criterion_) is not criterion


def test_grid_search_over_the_loss(counts):
    X, y, _ = counts
    search = GridSearchCV(
        LSTMSequenceRegressor(hidden_size=4, max_epochs=3, lr=2e-2, random_state=0),
        {"loss": ["squared_error", "poisson"]},
        cv=KFold(2),
        scoring="neg_mean_absolute_error",
        error_score="raise",
    ).fit(X[:200], y[:200])
    assert list(search.cv_results_["param_loss"]) == ["squared_error", "poisson"]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.loss == search.best_params_["loss"]
    assert search.predict(X[:5]).shape == (5,)


def test_robust_scale_falls_back_to_the_standard_deviation(counts):
    """Mostly-zero targets have a MAD of 0: the scale is then the standard
    deviation (and 1 for a constant target), never a division by 0."""
    X, _, _ = counts
    y = np.zeros(len(X))
    y[::3] = np.arange(len(y[::3]), dtype=float)
    tiny = dict(hidden_size=4, max_epochs=1, random_state=0)
    reg = LSTMSequenceRegressor(loss="huber", **tiny).fit(X, y)
    assert reg.y_mean_.tolist() == [0.0]
    np.testing.assert_allclose(reg.y_scale_, [y.std()])
    reg = LSTMSequenceRegressor(loss="absolute_error", **tiny).fit(X, np.full(400, 7.0))
    assert reg.y_scale_.tolist() == [1.0]
    np.testing.assert_allclose(reg.predict(X[:5]), 7.0, atol=1.0)
