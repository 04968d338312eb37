"""LSTMSequenceClassifier and LSTMSequenceRegressor: behaviour and errors."""

from __future__ import annotations

import copy
import pickle
import re

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, log_loss, recall_score
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    RaggedSequences,
    SequenceVectorizer,
)
from seqestimators.data._ops import top_k_indices
from seqestimators.metrics import top_k
from seqestimators.neural_network._batching import BucketBatchIterator, SequenceDataset

#: tiny and quick; enough to learn the toy tasks below
FAST = dict(hidden_size=8, max_epochs=5, lr=3e-2, early_stopping=False, random_state=0)


def toy_sequences(n=200, n_steps=6, seed=0):
    """Numeric sequences (n, n_steps, 1) and the sign of their last step."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_steps, 1)).astype(np.float32)
    return X, X[:, -1, 0] > 0


@pytest.fixture(scope="module")
def toy():
    return toy_sequences()


# ------------------------------------------------------------------ labels
@pytest.mark.parametrize(
    "labels",
    [
        np.array(["down", "up"]),
        np.array([7, 3]),  # the positive class has the *smaller* label
        np.array([False, True]),
    ],
    ids=["str", "int", "bool"],
)
def test_classifier_returns_original_labels(toy, labels):
    X, positive = toy
    y = labels[positive.astype(int)]
    clf = LSTMSequenceClassifier(**FAST).fit(X[:150], y[:150])
    assert clf.classes_.tolist() == sorted(labels.tolist())
    assert clf.classes_.dtype == labels.dtype
    pred = clf.predict(X[150:])
    assert pred.dtype == labels.dtype
    # learned, and with the labels the right way round
    assert accuracy_score(y[150:], pred) > 0.9
    proba = clf.predict_proba(X[150:])
    assert proba.shape == (50, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-10)
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X[150:])), proba)
    assert clf.score(X[150:], y[150:]) == accuracy_score(y[150:], pred)


def test_multiclass_string_labels(ragged, targets):
    y = targets["next_event"].to_numpy()
    clf = LSTMSequenceClassifier(**FAST).fit(ragged, y)
    assert clf.classes_.tolist() == sorted(set(y))
    assert len(clf.classes_) == 4
    proba = clf.predict_proba(ragged)
    assert proba.shape == (len(y), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-10)
    assert set(clf.predict(ragged)) <= set(clf.classes_)
    # the next event is mostly predicted by the last one: beats the majority
    majority = pd.Series(y).value_counts(normalize=True).iloc[0]
    assert clf.score(ragged, y) > majority


def test_pandas_targets(ragged, targets):
    clf = LSTMSequenceClassifier(**FAST).fit(ragged, targets["will_buy"])
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    reg = LSTMSequenceRegressor(**FAST).fit(ragged, targets["future_spend"])
    assert reg.predict(ragged).shape == (len(targets),)


# ------------------------------------------------------------ predict_topk
#: 12 string classes: k=2 takes the partition path of predict_topk, k >= 3
#: the full sort
MANY_LABELS = np.array([f"item_{c}" for c in "abcdefghijkl"])


@pytest.fixture(scope="module")
def many_classes(toy):
    X, _ = toy
    rng = np.random.RandomState(0)
    # skewed class frequencies, tied to the last step: varied rankings
    shift = (X[:, -1, 0] > 0).astype(int) * 6
    y = MANY_LABELS[(rng.geometric(0.3, size=len(X)) - 1 + shift) % 12]
    clf = LSTMSequenceClassifier(**{**FAST, "max_epochs": 2}).fit(X, y)
    return clf, X


@pytest.mark.parametrize("k", [1, 2, 5, 12])
def test_predict_topk_ranks_by_probability(many_classes, k):
    clf, X = many_classes
    labels = clf.predict_topk(X, k=k)
    assert labels.shape == (len(X), k)
    assert labels.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(labels[:, 0], clf.predict(X))
    proba = clf.predict_proba(X)
    order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(labels, clf.classes_[order])
    np.testing.assert_array_equal(labels, top_k(proba, clf.classes_, k))
    # best first, and the rows hold different labels
    ranked = np.take_along_axis(proba, order, axis=1)
    assert (np.diff(ranked, axis=1) <= 0).all()
    assert all(len(set(row)) == k for row in labels)


def test_predict_topk_default_k_and_varied_rankings(many_classes):
    clf, X = many_classes
    labels = clf.predict_topk(X)
    assert labels.shape == (len(X), 5)
    assert set(labels.ravel()) <= set(MANY_LABELS)
    # the model tells sequences apart: not one ranking for every row
    assert len({tuple(row) for row in labels}) > 1


def test_predict_topk_breaks_ties_by_class_order(many_classes):
    """All logits equal: every class is as likely, and the ranking follows
    ``classes_``, for both the partition and the sort path."""
    clf, X = many_classes
    flat = pickle.loads(pickle.dumps(clf))
    with torch.no_grad():
        flat.net_.module_.head.weight.zero_()
        flat.net_.module_.head.bias.zero_()
        for weight in flat.net_.module_.wide.parameters():
            weight.zero_()
    for k in (2, 7):
        np.testing.assert_array_equal(
            flat.predict_topk(X[:4], k=k), np.tile(MANY_LABELS[:k], (4, 1))
        )


@pytest.mark.parametrize("n_cols", [3, 12, 40])
def test_top_k_indices_match_a_stable_sort(n_cols):
    """The partition path selects the same columns as a stable argsort,
    also when ties straddle the k-th place."""
    rng = np.random.RandomState(n_cols)
    scores = rng.randint(0, 4, size=(50, n_cols)).astype(np.float64)
    for k in range(1, n_cols + 1):
        want = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(top_k_indices(scores, k), want)
    np.testing.assert_array_equal(
        top_k_indices(np.array([[1.0, 3, 3, 0, 3, 3, 3, 3, 3, 3]]), 2), [[1, 2]]
    )


def test_predict_topk_rejects_bad_k(many_classes):
    clf, X = many_classes
    msg = (
        "k=13 is larger than the number of classes (12) of "
        "LSTMSequenceClassifier; pass k <= 12."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        clf.predict_topk(X, k=13)
    with pytest.raises(ValueError, match=re.escape("k == 0, must be >= 1.")):
        clf.predict_topk(X, k=0)
    with pytest.raises(TypeError, match="k must be an instance of int"):
        clf.predict_topk(X, k=2.0)
    with pytest.raises(TypeError, match="k must be an int >= 1, not a bool"):
        clf.predict_topk(X, k=True)
    # numpy integers are ints
    assert clf.predict_topk(X[:2], k=np.int64(3)).shape == (2, 3)


def test_predict_topk_needs_a_fitted_model(toy):
    X, _ = toy
    with pytest.raises(NotFittedError):
        LSTMSequenceClassifier().predict_topk(X, k=1)


# ------------------------------------------------------------ class weight
@pytest.fixture(scope="module")
def imbalanced():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4, 1)).astype(np.float32)
    y = (X[:, -1, 0] + rng.normal(size=300) > 1.6).astype(int)
    assert 0.05 < y.mean() < 0.2
    return X, y


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 10.0}])
def test_class_weight_raises_minority_recall(imbalanced, class_weight):
    X, y = imbalanced
    plain = LSTMSequenceClassifier(**FAST).fit(X, y)
    weighted = LSTMSequenceClassifier(class_weight=class_weight, **FAST).fit(X, y)
    weight = weighted.net_.criterion_.weight.numpy()
    if class_weight == "balanced":
        np.testing.assert_allclose(weight, len(y) / (2 * np.bincount(y)), rtol=1e-6)
    else:
        np.testing.assert_allclose(weight, [1.0, 10.0])
    assert (
        recall_score(y, weighted.predict(X)) > recall_score(y, plain.predict(X)) + 0.1
    )


def test_class_weight_with_string_labels(imbalanced):
    X, y = imbalanced
    labels = np.array(["no", "yes"])[y]
    clf = LSTMSequenceClassifier(class_weight={"yes": 5.0}, **FAST).fit(X, labels)
    np.testing.assert_allclose(clf.net_.criterion_.weight.numpy(), [1.0, 5.0])


def test_class_weight_unknown_class(imbalanced):
    X, y = imbalanced
    clf = LSTMSequenceClassifier(class_weight={0: 1.0, 5: 2.0}, **FAST)
    with pytest.raises(ValueError, match=re.escape("class_weight has keys [5]")):
        clf.fit(X, y)


# --------------------------------------------------------------- regressor
def test_regressor_predicts_in_original_scale(toy):
    X, _ = toy
    y = 1000 * (X[:, -1, 0] + 0.5 * X[:, -2, 0]) + 5000
    reg = LSTMSequenceRegressor(**FAST).fit(X[:150], y[:150])
    pred = reg.predict(X[150:])
    assert pred.shape == (50,)
    assert abs(pred.mean() - 5000) < 500
    assert 500 < pred.std() < 2000
    assert reg.score(X[150:], y[150:]) > 0.5
    np.testing.assert_allclose(reg.y_mean_, [y[:150].mean()])
    np.testing.assert_allclose(reg.y_scale_, [y[:150].std()])


def test_regressor_multi_output(toy):
    X, _ = toy
    y = np.c_[1000 * X[:, -1, 0] + 5000, -2 * X[:, -1, 0]]
    reg = LSTMSequenceRegressor(**FAST).fit(X[:150], y[:150])
    assert reg.n_outputs_ == 2
    pred = reg.predict(X[150:])
    assert pred.shape == (50, 2)
    assert reg.score(X[150:], y[150:]) > 0.5
    assert abs(pred[:, 0].mean() - 5000) < 500
    # a single column stays 2-D
    reg1 = LSTMSequenceRegressor(**FAST).fit(X, y[:, :1])
    assert reg1.predict(X[:3]).shape == (3, 1)


def test_regressor_constant_target(toy):
    X, _ = toy
    reg = LSTMSequenceRegressor(
        **{**FAST, "max_epochs": 1}, loss="squared_error"
    ).fit(X, np.full(len(X), 7.0))
    # a zero standard deviation is not divided by
    assert reg.y_scale_.tolist() == [1.0]
    np.testing.assert_allclose(reg.predict(X), 7.0, atol=0.5)


def test_regressor_early_stopping_with_one_validation_sample(toy):
    X, _ = toy
    reg = LSTMSequenceRegressor(
        hidden_size=4, max_epochs=2, early_stopping=True, random_state=0
    ).fit(X[:5], np.arange(5.0))
    # R² is undefined on one sample: recorded as NaN, training unaffected
    assert len(reg.validation_scores_) == 2
    assert np.isnan(reg.validation_scores_).all()
    assert reg.predict(X[:2]).shape == (2,)


# ------------------------------------------------------------------ inputs
@pytest.fixture(scope="module")
def will_buy_clf(ragged, targets):
    """Classifier fitted on the vectorized event log (ragged input)."""
    return LSTMSequenceClassifier(**FAST).fit(ragged, targets["will_buy"])


def test_ragged_and_padded_inputs_agree(ragged, targets, will_buy_clf):
    padded = ragged.to_padded()
    proba = will_buy_clf.predict_proba(ragged)
    np.testing.assert_array_equal(will_buy_clf.predict_proba(padded), proba)
    # a model fitted on the padded form is the same model
    from_padded = LSTMSequenceClassifier(**FAST).fit(padded, targets["will_buy"])
    np.testing.assert_array_equal(from_padded.predict_proba(ragged), proba)


def test_padded_dict_with_one_kind_of_channel(ragged, targets):
    padded = ragged.to_padded()
    y = targets["will_buy"]
    for key in ("categorical", "numeric"):
        X = {key: padded[key], "lengths": padded["lengths"]}
        clf = LSTMSequenceClassifier(**{**FAST, "max_epochs": 1}).fit(X, y)
        assert clf.predict(X).shape == (len(y),)


def test_array_inputs(toy):
    X, y = toy
    clf3 = LSTMSequenceClassifier(**FAST).fit(X, y)
    assert clf3.score(X, y) > 0.9
    assert not hasattr(clf3, "n_features_in_")
    # sequences of another length are fine for a 3-D fit
    assert clf3.predict(X[:4, :3]).shape == (4,)
    X2 = X[..., 0]
    clf2 = LSTMSequenceClassifier(**FAST).fit(X2, y)
    assert clf2.n_features_in_ == X2.shape[1]
    assert clf2.score(X2, y) > 0.9
    # a univariate 2-D array is the 3-D array with one channel
    np.testing.assert_array_equal(clf2.predict_proba(X2), clf2.predict_proba(X))


def test_zero_length_sequences_predict(ragged, will_buy_clf):
    lengths = ragged.lengths[:6].copy()
    lengths[[1, 4]] = 0
    offsets = np.r_[0, np.cumsum(lengths)]
    rows = ragged[:6]
    keep = np.repeat(lengths > 0, rows.lengths)
    X = RaggedSequences(
        offsets,
        rows.categorical[keep],
        rows.numeric[keep],
        cardinalities=ragged.cardinalities,
    )
    proba = will_buy_clf.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba[1], proba[4], atol=1e-6)
    # non-empty rows are unaffected by their empty neighbours
    np.testing.assert_allclose(
        proba[[0, 2, 3, 5]], will_buy_clf.predict_proba(ragged[[0, 2, 3, 5]]), atol=1e-6
    )
    # and a batch of only empty sequences works too
    empty = X[[1, 4]]
    np.testing.assert_allclose(
        will_buy_clf.predict_proba(empty), proba[[1, 4]], atol=1e-6
    )


@pytest.mark.parametrize("Estimator", [LSTMSequenceClassifier, LSTMSequenceRegressor])
def test_zero_length_sequences_in_training(Estimator):
    rng = np.random.RandomState(0)
    lengths = rng.randint(0, 4, size=50)
    X = RaggedSequences(
        np.r_[0, np.cumsum(lengths)],
        rng.randint(2, 5, size=(lengths.sum(), 1)),
        cardinalities=[5],
    )
    est = Estimator(**{**FAST, "max_epochs": 2}, bidirectional=True, pooling="max")
    pred = est.fit(X, rng.randint(0, 2, size=50)).predict(X)
    assert len(np.unique(pred[lengths == 0])) == 1


# --------------------------------------------------------- early stopping
@pytest.fixture(scope="module")
def overfit_data():
    """Labels that are pure noise: the validation loss can only get worse."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5, 2)).astype(np.float32)
    return X, rng.randint(0, 2, size=200)


ES = dict(
    hidden_size=16,
    lr=3e-2,
    max_epochs=60,
    n_iter_no_change=3,
    dropout=0.0,
    random_state=0,
    # early stopping of the network itself (the linear start could be kept
    # alone on this data: tested below)
    wide=False,
)


class _ValidationCapture(Callback):
    """Keep the validation dataset skorch trains with."""

    def on_epoch_begin(self, net, dataset_valid=None, **kwargs):
        self.dataset_valid_ = dataset_valid


@pytest.fixture(scope="module")
def early_stopped(overfit_data):
    X, y = overfit_data
    capture = ("capture", _ValidationCapture())
    return LSTMSequenceClassifier(**ES, callbacks=[capture]).fit(X, y)


def test_early_stopping_stops(early_stopped):
    clf = early_stopped
    assert clf.n_iter_ < ES["max_epochs"]
    assert clf.n_iter_ == len(clf.history_) == len(clf.loss_curve_)
    # stopped after n_iter_no_change epochs without improvement
    assert clf.n_iter_ == clf.best_epoch_ + ES["n_iter_no_change"]


def test_early_stopping_attributes(early_stopped):
    clf = early_stopped
    h = clf.history_
    for key in ("train_loss", "valid_loss", "valid_score", "dur"):
        assert h[key].notna().sum() == clf.n_iter_
    valid_loss = h["valid_loss"].to_numpy()
    assert clf.best_epoch_ == int(np.argmin(valid_loss)) + 1
    assert clf.best_loss_ == pytest.approx(valid_loss.min())
    assert clf.loss_curve_ == pytest.approx(h["train_loss"].tolist())
    assert clf.validation_scores_ == pytest.approx(h["valid_score"].tolist())
    assert clf.best_validation_score_ == clf.validation_scores_[clf.best_epoch_ - 1]
    assert all(0 <= s <= 1 for s in clf.validation_scores_)


def test_history_is_a_frame_of_epochs(early_stopped):
    clf = early_stopped
    h = clf.history_
    assert isinstance(h, pd.DataFrame)
    assert list(h.columns[:6]) == [
        "epoch", "train_loss", "valid_loss", "valid_score", "dur", "best"
    ]
    assert h["epoch"].tolist() == list(range(1, clf.n_iter_ + 1))
    assert h["best"].dtype == bool
    assert h.loc[h["best"], "epoch"].tolist() == [clf.best_epoch_]
    # no per-batch records, no skorch "best so far" flags
    assert not {"batches", "train_loss_best", "valid_loss_best"} & set(h.columns)
    # skorch's own record stays on the net, with the same values
    assert clf.net_.history[:, "valid_loss"] == pytest.approx(h["valid_loss"].tolist())


def test_early_stopping_restores_best_weights(early_stopped, overfit_data):
    clf = early_stopped
    assert clf.best_epoch_ < clf.n_iter_
    # the restored model has the best validation loss on the held-out data
    valid = dict(clf.net_.callbacks_)["capture"].dataset_valid_
    valid_y = clf.classes_[valid.y]
    loss = log_loss(valid_y, clf.predict_proba(valid.X), labels=clf.classes_)
    assert loss == pytest.approx(clf.best_loss_, abs=1e-5)
    # ... and predicts like a model trained for exactly best_epoch_ epochs
    X, y = overfit_data
    shorter = LSTMSequenceClassifier(**{**ES, "max_epochs": clf.best_epoch_}).fit(X, y)
    assert shorter.n_iter_ == clf.best_epoch_
    np.testing.assert_allclose(
        shorter.predict_proba(X), clf.predict_proba(X), atol=1e-6
    )


def test_linear_model_kept_when_no_epoch_beats_it():
    """Labels decided by one numeric summary (the mean): the linear start
    solves it; a network trained with a learning rate far too large does
    not beat it on validation, and the linear model alone is kept:
    best_epoch_ 0, the heads' weights zero, best_loss_ the linear model's
    validation loss."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 6, 1)).astype(np.float32)
    y = (X[:, :, 0].mean(1) > 0).astype(int)
    clf = LSTMSequenceClassifier(hidden_size=8, max_epochs=2, lr=1.0,
                                 random_state=0).fit(X, y)
    assert clf.best_epoch_ == 0
    assert torch.count_nonzero(clf.net_.module_.head.weight) == 0
    assert clf.history_["best"].sum() == 0
    assert clf.best_loss_ < min(clf.history_["valid_loss"])
    assert clf.score(X, y) > 0.95
    assert clf.wide_alpha_ is not None and set(clf.wide_alpha_) == {"numeric"}
    # kept, the linear model is refitted on every sequence, the validation
    # split included: its summaries are standardized with all 300
    from seqestimators.nn import numeric_summaries

    z = numeric_summaries(torch.from_numpy(X), torch.full((len(X),), X.shape[1]))
    train, _ = clf._split(len(X), y)
    center = clf.net_.module_.wide.summary_center
    torch.testing.assert_close(center, z.mean(0))
    assert not torch.allclose(center, z[train].mean(0))


class _RecordingClassifier(LSTMSequenceClassifier):
    """Records the network as trained (on the training rows, before the
    linear part is refitted on every sequence)."""

    def _refit_linear_model(self, all_ds, parallel, heads=None, start=None):
        if heads is not None:
            self.trained_ = copy.deepcopy(self.net_.module_)
            self.trained_.load_state_dict(heads, strict=False)
            self.linear_on_train_ = copy.deepcopy(self.net_.module_)
        return super()._refit_linear_model(all_ds, parallel, heads, start)


def test_kept_network_adds_to_the_refitted_linear_model():
    """Labels decided by the first value (which no numeric summary holds):
    the network beats the linear start and is kept. Its linear part is then
    refitted on every sequence, the validation split included, as a kept
    linear model would be, and the network adds to it exactly what it had
    learned to add to the linear model fitted on the training rows."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 6, 1)).astype(np.float32)
    y = (X[:, 0, 0] > 0).astype(int)
    params = dict(hidden_size=8, max_epochs=30, lr=3e-2, random_state=0)
    clf = _RecordingClassifier(**params).fit(X, y)
    assert clf.best_epoch_ > 0
    assert torch.count_nonzero(clf.net_.module_.head.weight) > 0
    assert clf.score(X, y) > 0.95
    # the same linear start, the network diverging: the linear model is kept
    # and refitted on every sequence
    linear = LSTMSequenceClassifier(**{**params, "max_epochs": 2, "lr": 1.0}).fit(X, y)
    assert linear.best_epoch_ == 0 and linear.wide_alpha_ == clf.wide_alpha_
    center = clf.net_.module_.wide.summary_center
    torch.testing.assert_close(center, linear.net_.module_.wide.summary_center)

    def raw(module):
        return clf._forward(X) if module is None else _module_output(clf, module, X)

    added = raw(None) - raw(clf.trained_)
    refit = linear._forward(X) - raw(clf.linear_on_train_)
    np.testing.assert_allclose(added, refit, atol=2e-5)
    assert np.abs(refit).max() > 1e-3  # the refit did change the linear model


def _module_output(est, module, X):
    """Raw outputs of ``module`` in place of ``est``'s fitted one."""
    fitted = est.net_.module_
    est.net_.module_ = module
    try:
        return est._forward(X)
    finally:
        est.net_.module_ = fitted


def test_fitted_model_holds_no_validation_data():
    """The held-out data is not saved with the model."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 50, 2)).astype(np.float32)
    y = rng.randint(0, 2, size=600)  # 60 held out: 24 kB of floats
    params = {**ES, "max_epochs": 1, "hidden_size": 4}
    size = {
        es: len(
            pickle.dumps(LSTMSequenceClassifier(**params, early_stopping=es).fit(X, y))
        )
        for es in (False, True)
    }
    assert size[True] < size[False] + 10_000, size


def test_no_early_stopping_trains_max_epochs(overfit_data):
    X, y = overfit_data
    clf = LSTMSequenceClassifier(**{**ES, "early_stopping": False, "max_epochs": 4})
    clf.fit(X, y)
    assert clf.n_iter_ == 4 == len(clf.history_)
    assert clf.validation_scores_ is None
    assert clf.best_validation_score_ is None
    # the columns are there, empty: no epoch had validation data
    assert clf.history_[["valid_loss", "valid_score"]].isna().all().all()
    assert clf.history_["best"].tolist() == [False, False, False, True]
    assert clf.best_loss_ == min(clf.loss_curve_)


# ------------------------------------------------- warm start, partial_fit
def test_warm_start_continues(toy):
    X, y = toy
    clf = LSTMSequenceClassifier(**{**FAST, "max_epochs": 2}, warm_start=True)
    clf.fit(X, y)
    first_loss = clf.loss_curve_[0]
    net = clf.net_
    clf.fit(X, y)
    assert clf.net_ is net
    assert clf.n_iter_ == 4 == len(clf.history_) == len(clf.loss_curve_)
    assert clf.loss_curve_[2] < first_loss  # did not start from scratch
    # without warm_start, fit starts over
    clf.set_params(warm_start=False).fit(X, y)
    assert clf.n_iter_ == 2


def test_warm_start_switching_early_stopping_on(toy):
    X, y = toy
    clf = LSTMSequenceClassifier(**{**FAST, "max_epochs": 2}, warm_start=True)
    clf.fit(X, y)
    assert clf.validation_scores_ is None
    clf.set_params(early_stopping=True).fit(X, y)
    assert clf.n_iter_ == 4
    assert len(clf.validation_scores_) == 4
    # the history counts on; only the epochs of the second fit validated
    assert clf.history_["epoch"].tolist() == [1, 2, 3, 4]
    assert clf.history_["valid_loss"].isna().tolist() == [True, True, False, False]


def test_partial_fit_classifier(toy):
    X, y = toy
    clf = LSTMSequenceClassifier(**{**FAST, "early_stopping": True})
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    for i in range(1, 4):
        clf.partial_fit(X, y, classes=[False, True])
        assert clf.n_iter_ == i == len(clf.history_)
    # partial_fit never holds out validation data
    assert clf.validation_scores_ is None
    assert clf.classes_.tolist() == [False, True]
    with pytest.raises(ValueError, match=re.escape("y contains classes [2]")):
        clf.partial_fit(X, np.where(y, 2, 0))
    # a later warm fit with early stopping works
    clf.set_params(warm_start=True).fit(X, y)
    assert clf.n_iter_ == 3 + FAST["max_epochs"]


def test_partial_fit_declares_unseen_classes(toy):
    X, y = toy
    clf = LSTMSequenceClassifier(**FAST).partial_fit(
        X, y.astype(int), classes=[0, 1, 2]
    )
    assert clf.predict_proba(X).shape == (len(X), 3)
    clf.partial_fit(X[:5], [2, 2, 2, 2, 2])
    assert clf.n_iter_ == 2


def test_partial_fit_regressor(toy):
    X, y = toy
    reg = LSTMSequenceRegressor(**FAST)
    reg.partial_fit(X, y.astype(float)).partial_fit(X, y.astype(float))
    assert reg.n_iter_ == 2
    with pytest.raises(ValueError, match="y has 2 outputs"):
        reg.partial_fit(X, np.c_[y, y].astype(float))


class _BatchRecorder(Callback):
    """Record the training targets of every batch, per epoch."""

    def initialize(self):
        self.epochs_ = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.epochs_.append([])

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training:
            self.epochs_[-1].append(batch[1].tolist())


def test_partial_fit_calls_shuffle_differently():
    """Each partial_fit call (and each warm start) draws a new batch order
    instead of replaying the first epoch's."""
    X = np.zeros((64, 3, 1), dtype=np.float32)
    y = np.arange(64) % 2
    clf = LSTMSequenceClassifier(
        **{**FAST, "batch_size": 8}, callbacks=[("rec", _BatchRecorder())]
    )
    clf.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    first, second = dict(clf.net_.callbacks_)["rec"].epochs_
    assert sorted(sum(first, [])) == sorted(sum(second, [])) == sorted(y.tolist())
    assert first != second


def test_batches_are_bucketed_by_length():
    lengths = np.random.RandomState(0).randint(1, 50, size=200)
    X = RaggedSequences(np.r_[0, np.cumsum(lengths)], numeric=np.zeros(lengths.sum()))
    ds = SequenceDataset(X, np.arange(200))
    it = BucketBatchIterator(ds, batch_size=10, shuffle=True, random_state=0)
    orders = [np.concatenate(it.batches()) for _ in range(2)]
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.arange(200))
    assert not np.array_equal(*orders)
    # padding is cut: a batch is padded to its own longest sequence only
    padded = sum(inputs["numeric"].shape[1] * 10 for inputs, _ in it)
    assert padded < 0.7 * 200 * lengths.max()
    # prediction order: sorted by length
    plain = BucketBatchIterator(ds, batch_size=10)
    np.testing.assert_array_equal(
        np.concatenate(plain.batches()), np.argsort(lengths, kind="stable")
    )


def test_max_events_shrinks_batches_of_long_sequences():
    lengths = np.r_[np.full(300, 4), np.full(40, 100)]
    X = RaggedSequences(np.r_[0, np.cumsum(lengths)], numeric=np.zeros(lengths.sum()))
    ds = SequenceDataset(X, np.zeros(len(lengths)))
    it = BucketBatchIterator(ds, batch_size=64, shuffle=True, max_events=1000)
    batches = it.batches()
    rows = np.concatenate(batches)
    np.testing.assert_array_equal(np.sort(rows), np.arange(len(lengths)))
    for b in batches:
        assert len(b) * lengths[b].max() <= 1000 or len(b) == 1
        assert len(b) <= 64
    # short rows keep full batches, long rows come 8 at a time (2**3 * 100 <= 1000)
    sizes = sorted({len(b) for b in batches if lengths[b].max() == 100})
    assert sizes == [8]
    assert max(len(b) for b in batches if lengths[b].max() == 4) == 64
    assert abs(len(it) - len(batches)) <= 2


# ------------------------------------------------------------ determinism
@pytest.mark.parametrize("Estimator", [LSTMSequenceClassifier, LSTMSequenceRegressor])
def test_same_random_state_same_model(toy, Estimator):
    X, y = toy
    params = {**FAST, "max_epochs": 2, "dropout": 0.3, "early_stopping": True}

    def outputs(random_state):
        est = Estimator(**{**params, "random_state": random_state}).fit(X, y)
        return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)

    first = outputs(0)
    assert np.array_equal(outputs(0), first)
    assert not np.array_equal(outputs(1), first)


def test_random_state_none_draws_fresh_models(toy):
    X, y = toy
    params = {**FAST, "max_epochs": 1, "random_state": None}
    a = LSTMSequenceRegressor(**params).fit(X, y).predict(X)
    b = LSTMSequenceRegressor(**params).fit(X, y).predict(X)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("random_state", [0, None])
def test_fit_leaves_global_random_states_alone(toy, random_state):
    X, y = toy
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()
    params = {**FAST, "max_epochs": 2, "early_stopping": True}
    LSTMSequenceClassifier(**{**params, "random_state": random_state}).fit(X, y)
    LSTMSequenceRegressor(**{**params, "random_state": random_state}).partial_fit(X, y)
    assert torch.equal(torch.get_rng_state(), torch_state)
    new_np_state = np.random.get_state()
    assert np.array_equal(new_np_state[1], np_state[1])
    assert new_np_state[2:] == np_state[2:]


# ------------------------------------------- scikit-learn on the event log
def vec_pipe(estimator):
    return Pipeline([("vec", SequenceVectorizer(max_len=50)), ("model", estimator)])


CV_CLF = dict(hidden_size=8, max_epochs=5, lr=2e-2, random_state=0)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_will_buy_learned_in_cross_validation(sequences, targets, early_stopping):
    """``will_buy`` depends only on the order of the events: a sequence model
    must be clearly above chance (event counts alone are at 0.5)."""
    pipe = vec_pipe(LSTMSequenceClassifier(early_stopping=early_stopping, **CV_CLF))
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    auc = cross_val_score(
        pipe, sequences, targets["will_buy"], cv=cv, scoring="roc_auc"
    )
    assert auc.min() >= 0.85, auc


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search(sequences, targets, n_jobs):
    pipe = vec_pipe(LSTMSequenceClassifier(**{**CV_CLF, "max_epochs": 2}))
    grid = {"model__hidden_size": [4, 8], "model__early_stopping": [False, True]}
    if n_jobs == 2:  # starting workers is costly: one small grid
        grid = {"model__hidden_size": [4, 8]}
    search = GridSearchCV(pipe, grid, cv=2, scoring="roc_auc", n_jobs=n_jobs)
    search.fit(sequences, targets["will_buy"])
    assert len(search.cv_results_["params"]) == (4 if n_jobs == 1 else 2)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(sequences.iloc[:5]).shape == (5,)


def test_randomized_search(sequences, targets):
    pipe = vec_pipe(LSTMSequenceClassifier(**{**CV_CLF, "max_epochs": 2}))
    dist = {"model__lr": [1e-3, 1e-2, 3e-2], "model__pooling": ["last", "mean"]}
    search = RandomizedSearchCV(pipe, dist, n_iter=2, cv=2, random_state=0)
    search.fit(sequences, targets["next_event"])
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert set(search.best_estimator_.classes_) == set(targets["next_event"])


def test_transformed_target_regressor(sequences, targets):
    model = TransformedTargetRegressor(
        regressor=vec_pipe(LSTMSequenceRegressor(**FAST)),
        func=np.log1p,
        inverse_func=np.expm1,
    )
    y = targets["future_spend"]
    model.fit(sequences, y)
    pred = model.predict(sequences)
    assert pred.shape == (len(y),)
    assert np.isfinite(pred).all()
    # predictions are in the scale of the spend, not of its logarithm
    assert np.median(pred) < 5 * np.median(y[y > 0]) + 1
    assert pred.max() > np.log1p(y).max()


# ----------------------------------------------------------------- verbose
def test_verbose_prints_epoch_table(toy, capsys):
    X, y = toy
    LSTMSequenceClassifier(
        **{**FAST, "max_epochs": 2, "early_stopping": True}, verbose=1
    ).fit(X, y)
    out = capsys.readouterr().out
    for column in ("epoch", "train_loss", "valid_loss", "valid_score", "dur"):
        assert column in out
    LSTMSequenceClassifier(**{**FAST, "max_epochs": 2, "early_stopping": True}).fit(
        X, y
    )
    assert capsys.readouterr().out == ""


def test_verbose_2_shows_a_progress_bar_over_batches(toy, capsys):
    X, y = toy
    clf = LSTMSequenceClassifier(
        **{**FAST, "max_epochs": 1, "early_stopping": False, "batch_size": 50},
        verbose=2,
    ).fit(X, y)
    err = capsys.readouterr().err
    n_batches = -(-len(X) // clf.batch_size_)
    assert f"0/{n_batches}" in err  # a tqdm bar over the epoch's batches


# ------------------------------------------------------------------ errors
@pytest.fixture(scope="module")
def fitted_3d(toy):
    X, y = toy
    return LSTMSequenceClassifier(**{**FAST, "max_epochs": 1}).fit(X, y)


def test_nan_and_inf_rejected(toy, ragged):
    X, y = toy
    clf = LSTMSequenceClassifier(**FAST)
    for bad in (np.nan, np.inf):
        X_bad = X.copy()
        X_bad[3, 2, 0] = bad
        with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
            clf.fit(X_bad, y)
        padded = ragged.to_padded()
        padded["numeric"][0, 0, 0] = bad
        with pytest.raises(ValueError, match="NaN or infinity"):
            clf.fit(padded, np.arange(len(ragged)) % 2)
        numeric = ragged.numeric.copy()
        numeric[5, 0] = bad
        X_rag = RaggedSequences(ragged.offsets, ragged.categorical, numeric)
        with pytest.raises(ValueError, match="NaN or infinity"):
            clf.fit(X_rag, np.arange(len(ragged)) % 2)


def test_empty_input_rejected(ragged):
    clf = LSTMSequenceClassifier(**FAST)
    with pytest.raises(ValueError, match="0 sample"):
        clf.fit(np.zeros((0, 3, 1)), [])
    with pytest.raises(ValueError, match="got 0 sequences"):
        clf.fit(ragged[:0], [])
    padded = ragged[:0].to_padded()
    with pytest.raises(ValueError, match="got 0 sequences"):
        clf.fit(padded, [])


def test_length_mismatch_rejected(toy, ragged):
    X, y = toy
    msg = "X and y have different numbers of samples: X has 200 sequences, y has 199"
    with pytest.raises(ValueError, match=msg):
        LSTMSequenceClassifier(**FAST).fit(X, y[:-1])
    with pytest.raises(ValueError, match="different numbers of samples"):
        LSTMSequenceRegressor(**FAST).fit(ragged, np.zeros(len(ragged) + 1))


def test_single_class_rejected(toy):
    X, _ = toy
    with pytest.raises(ValueError, match="only one class: 'a'"):
        LSTMSequenceClassifier(**FAST).fit(X, np.full(len(X), "a"))


def test_y_none_rejected(toy):
    X, _ = toy
    with pytest.raises(ValueError, match="requires y to be passed"):
        LSTMSequenceRegressor(**FAST).fit(X, None)


def test_padded_dict_errors(ragged):
    padded = ragged.to_padded()
    y = np.arange(len(ragged)) % 2
    clf = LSTMSequenceClassifier(**FAST)
    with pytest.raises(ValueError, match="without the 'lengths' key"):
        clf.fit({"numeric": padded["numeric"]}, y)
    with pytest.raises(ValueError, match="different padded lengths"):
        clf.fit({**padded, "numeric": padded["numeric"][:, :-1]}, y)
    with pytest.raises(ValueError, match=re.escape("'numeric' must have shape (n, L")):
        clf.fit({**padded, "numeric": padded["numeric"][:-1]}, y)
    with pytest.raises(ValueError, match="'lengths' must lie in"):
        clf.fit({**padded, "lengths": padded["lengths"] + 100}, y)
    with pytest.raises(ValueError, match="unexpected keys"):
        clf.fit({**padded, "mask": padded["lengths"]}, y)


def test_wrong_ndim_rejected(toy):
    X, y = toy
    clf = LSTMSequenceClassifier(**FAST)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        clf.fit(X[:, 0, 0], y)
    with pytest.raises(ValueError, match="got an array with 4 dimensions"):
        clf.fit(X[..., None], y)


def test_predict_before_fit():
    X, _ = toy_sequences(5)
    for Estimator in (LSTMSequenceClassifier, LSTMSequenceRegressor):
        with pytest.raises(NotFittedError):
            Estimator().predict(X)
    with pytest.raises(NotFittedError):
        LSTMSequenceClassifier().predict_proba(X)


def test_predict_with_other_channels(fitted_3d, toy):
    X, _ = toy
    msg = "X has 0 categorical and 2 numeric channels, but LSTMSequenceClassifier "
    with pytest.raises(ValueError, match=msg):
        fitted_3d.predict(np.concatenate([X, X], axis=-1))


def test_predict_2d_with_other_length():
    X, y = toy_sequences(20)
    clf = LSTMSequenceClassifier(**{**FAST, "max_epochs": 1}).fit(X[..., 0], y)
    with pytest.raises(ValueError, match="X has 5 features, but"):
        clf.predict(X[:, :5, 0])


def test_categorical_ids_beyond_vocabulary(will_buy_clf, ragged):
    categorical = ragged.categorical.copy()
    categorical[0, 0] = ragged.cardinalities[0]
    X = RaggedSequences(
        ragged.offsets,
        categorical,
        ragged.numeric,
        categorical_names=ragged.categorical_names,
    )
    with pytest.raises(ValueError, match="Ids beyond the fitted vocabulary"):
        will_buy_clf.predict(X)


def test_categorical_ids_beyond_cardinality_at_fit(ragged):
    X = RaggedSequences(
        ragged.offsets,
        ragged.categorical,
        ragged.numeric,
        cardinalities=[2] * ragged.n_categorical,
    )
    with pytest.raises(ValueError, match=r"outside \[0, 1\] given by its cardinality"):
        LSTMSequenceClassifier(**FAST).fit(X, np.arange(len(X)) % 2)


def test_invalid_parameters(toy):
    X, y = toy
    msg = (
        "The 'hidden_size' parameter of LSTMSequenceClassifier must be an int in "
        "the range [1, inf). Got 0 instead."
    )
    with pytest.raises(InvalidParameterError, match=re.escape(msg)):
        LSTMSequenceClassifier(hidden_size=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'pooling' parameter"):
        LSTMSequenceRegressor(pooling="sum").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'class_weight' parameter"):
        LSTMSequenceClassifier(class_weight="auto").fit(X, y)


def test_sequence_frame_passed_directly(sequences, targets):
    with pytest.raises(TypeError, match="Vectorize sequence frames first"):
        LSTMSequenceClassifier(**FAST).fit(sequences, targets["will_buy"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda(toy):
    X, y = toy
    with pytest.raises(ValueError, match="CUDA is not available"):
        LSTMSequenceClassifier(device="cuda", **FAST).fit(X, y)


class _RecordThreads(Callback):
    def on_epoch_begin(self, net, **kwargs):
        net.history.record("torch_threads", torch.get_num_threads())


def test_n_threads_applies_during_fit_and_is_restored(toy):
    X, y = toy
    before = torch.get_num_threads()
    target = 2 if before == 1 else 1
    clf = LSTMSequenceClassifier(
        hidden_size=4, max_epochs=2, early_stopping=False, n_threads=target,
        callbacks=[_RecordThreads()], random_state=0,
    ).fit(X, y)
    assert clf.history_["torch_threads"].tolist() == [target, target]
    assert torch.get_num_threads() == before
    clf.predict(X)
    assert torch.get_num_threads() == before
