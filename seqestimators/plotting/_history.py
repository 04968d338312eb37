"""Training curves of a fitted estimator, from its ``history_``."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_training_history"]

_INSTALL_HINT = (
    "plot_training_history needs matplotlib, which the 'plot' extra installs: "
    "pip install 'seqestimators[plot]'."
)


def plot_training_history(estimator_or_history, *, ax=None, metric="valid_score"):
    """Plot training and validation loss per epoch, and the restored epoch.

    Draws the ``train_loss`` and ``valid_loss`` columns of ``history_``
    against ``epoch``, a dashed vertical line at the epoch whose weights the
    model holds (the ``best`` column), and ``metric`` on a second y-axis at
    the right when the history has values for it.

    Parameters
    ----------
    estimator_or_history : estimator, Pipeline or pandas.DataFrame
        A fitted estimator of this package, a fitted Pipeline ending with
        one (its last step is read), or a ``history_`` frame itself. A skorch
        ``History`` (``net_.history``) is accepted too; it has no ``best``
        epoch.
    ax : matplotlib Axes, default=None
        Where to draw the losses; a new 6 x 3.5 inch figure when None.
    metric : str or None, default="valid_score"
        Column drawn on the second y-axis (``valid_score``: accuracy for
        classifiers, R² for regressors). Nothing is drawn there when the
        column is absent or all NaN (no validation data), or when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes of the losses. The second y-axis, when drawn, is
        ``ax.right_ax``.

    Raises
    ------
    ImportError
        When matplotlib is not installed (the ``plot`` extra).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from seqestimators import LSTMSequenceClassifier, plot_training_history
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(80, 5, 1)).astype("float32")
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=3,
    ...                              random_state=0).fit(X, y)
    >>> ax = plot_training_history(clf)
    >>> [line.get_label() for line in ax.get_lines()][:2]
    ['train loss', 'validation loss']
    """
    try:
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    history = _history_of(estimator_or_history)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    epochs = history["epoch"].to_numpy()
    ax.plot(epochs, history["train_loss"].to_numpy(), marker=".", label="train loss")
    if _has_values(history, "valid_loss"):
        ax.plot(epochs, history["valid_loss"].to_numpy(), marker=".",
                label="validation loss")
    if "best" in history and history["best"].any():
        best = int(epochs[history["best"].to_numpy(dtype=bool)][0])
        ax.axvline(best, color="grey", ls="--", label=f"restored epoch ({best})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = ax.get_legend_handles_labels()
    if metric is not None and _has_values(history, metric):
        right = ax.twinx()
        right.plot(epochs, history[metric].to_numpy(dtype=float), color="tab:green",
                   ls=":", marker=".", label=_label(metric))
        right.set_ylabel(_label(metric))
        ax.right_ax = right
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    # above the axes: it hides no curve of either y-axis
    ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncol=2, frameon=False)
    return ax


def _history_of(obj) -> pd.DataFrame:
    """The ``history_`` frame of an estimator, a Pipeline or a history."""
    if hasattr(obj, "steps"):  # a Pipeline: its last step
        obj = obj[-1]
    if hasattr(obj, "get_params") and not isinstance(obj, pd.DataFrame):
        if "history_" not in vars(obj):
            raise ValueError(
                f"plot_training_history needs a fitted estimator with a "
                f"history_; {type(obj).__name__} has none. Fit it first (an "
                "estimator of seqestimators.neural_network)."
            )
        obj = obj.history_
    if hasattr(obj, "to_list") and not isinstance(obj, pd.DataFrame):
        from ..neural_network._history import history_frame  # a skorch History

        obj = history_frame(obj, None)
    if not isinstance(obj, pd.DataFrame):
        raise TypeError(
            "plot_training_history expects a fitted estimator, a Pipeline "
            "ending with one, or its history_ (a pandas DataFrame); got "
            f"{type(obj).__name__}."
        )
    missing = [c for c in ("epoch", "train_loss") if c not in obj.columns]
    if missing:
        raise ValueError(
            f"The history has no {missing[0]!r} column; expected an estimator's "
            f"history_ (columns epoch, train_loss, ...), got columns "
            f"{list(obj.columns)}."
        )
    return obj


def _has_values(history: pd.DataFrame, column: str) -> bool:
    if column not in history.columns:
        return False
    values = pd.to_numeric(history[column], errors="coerce").to_numpy(dtype=float)
    return bool(np.isfinite(values).any())


def _label(column: str) -> str:
    return "validation score" if column == "valid_score" else column
