"""plot_training_history draws the history_ of a fitted estimator."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer  # noqa: E402

from seqestimators import LSTMSequenceClassifier, plot_training_history  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def toy():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 6, 1)).astype(np.float32)
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def validated(toy):
    X, y = toy
    return LSTMSequenceClassifier(hidden_size=4, max_epochs=4, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def unvalidated(toy):
    X, y = toy
    return LSTMSequenceClassifier(
        hidden_size=4, max_epochs=3, early_stopping=False, random_state=0
    ).fit(X, y)


def _labels(ax):
    return [line.get_label() for line in ax.get_lines()]


def test_losses_restored_epoch_and_score(validated):
    h = validated.history_
    ax = plot_training_history(validated)
    best = validated.best_epoch_
    assert _labels(ax) == ["train loss", "validation loss", f"restored epoch ({best})"]
    train, valid, restored = ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), h["epoch"])
    np.testing.assert_allclose(train.get_ydata(), h["train_loss"])
    np.testing.assert_allclose(valid.get_ydata(), h["valid_loss"])
    assert list(restored.get_xdata()) == [best, best]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    # the validation score on the second y-axis, in the one legend
    (score,) = ax.right_ax.get_lines()
    assert score.get_label() == "validation score"
    np.testing.assert_allclose(score.get_ydata(), h["valid_score"])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [*_labels(ax), "validation score"]


def test_without_validation_only_the_training_loss(unvalidated):
    ax = plot_training_history(unvalidated)
    assert _labels(ax) == ["train loss", f"restored epoch ({unvalidated.n_iter_})"]
    assert not hasattr(ax, "right_ax")
    assert len(ax.figure.axes) == 1


def test_metric_none_draws_no_second_axis(validated):
    ax = plot_training_history(validated, metric=None)
    assert not hasattr(ax, "right_ax")
    assert "validation loss" in _labels(ax)


def test_pipelines_frames_and_skorch_histories(validated, toy):
    X, y = toy
    pipe = make_pipeline(FunctionTransformer(), clone(validated)).fit(X, y)
    _, axes = plt.subplots(1, 3)
    assert plot_training_history(pipe, ax=axes[0]) is axes[0]
    plot_training_history(pipe[-1].history_, ax=axes[1])
    plot_training_history(pipe[-1].net_.history, ax=axes[2])
    expected = _labels(axes[0])
    assert _labels(axes[1]) == expected
    # skorch's history has no restored epoch
    assert _labels(axes[2]) == expected[:2]


def test_wrong_inputs_say_what_is_expected():
    with pytest.raises(ValueError, match="needs a fitted estimator with a history_"):
        plot_training_history(LSTMSequenceClassifier())
    with pytest.raises(TypeError, match="expects a fitted estimator, a Pipeline"):
        plot_training_history([0.5, 0.4])
    with pytest.raises(ValueError, match="no 'train_loss' column"):
        plot_training_history(pd.DataFrame({"epoch": [1, 2]}))


def test_without_matplotlib_the_error_names_the_extra(validated, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # not importable
    with pytest.raises(ImportError, match=r"seqestimators\[plot\]"):
        plot_training_history(validated)
