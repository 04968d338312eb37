"""One sequence's events on a timeline, coloured by their attribution."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_event_attributions"]

_INSTALL_HINT = (
    "plot_event_attributions needs matplotlib, which the 'plot' extra "
    "installs: pip install 'seqestimators[plot]'."
)


def plot_event_attributions(
    attributions, row, *, X=None, label=None, channel=None, ax=None, cmap="RdBu_r"
):
    """Draw one sequence's events in order, coloured by their attribution.

    Each event is a marker on a line, from the oldest (left) to the latest
    (right), coloured on a diverging scale centred on zero (red: towards the
    explained class or a higher value, blue: away from it), with its value
    in the ``label`` column of ``X`` written above it.

    Parameters
    ----------
    attributions : Bunch or pandas.DataFrame
        What :func:`~seqestimators.event_attributions` returns, or its
        ``attributions`` frame.
    row : label
        The index label of the sequence (e.g. the user id).
    X : pandas.DataFrame or None, default=None
        The sequence frame that was explained, for the events' labels.
    label : str or None, default=None
        Column of ``X`` whose values label the events; None: the first
        column of the attributions that ``X`` has (no labels without ``X``).
    channel : str or None, default=None
        Colour by this channel's attributions; None: by their sum over the
        channels (the event's total).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure, wider for longer sequences, when None.
    cmap : str, default="RdBu_r"
        A diverging matplotlib colormap.

    Returns
    -------
    ax : matplotlib Axes
        The colour bar is ``ax.colorbar``.

    Raises
    ------
    ImportError
        When matplotlib is not installed (the ``plot`` extra).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from seqestimators import plot_event_attributions
    >>> scores = pd.DataFrame({"event": [[0.5, -0.2, 1.0]]}, index=["u1"])
    >>> X = pd.DataFrame({"event": [["view", "cart", "buy"]]}, index=["u1"])
    >>> ax = plot_event_attributions(scores, "u1", X=X)
    >>> [t.get_text() for t in ax.texts]
    ['view', 'cart', 'buy']
    """
    try:
        import matplotlib.pyplot as plt
        from matplotlib.colors import Normalize
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    frame = getattr(attributions, "attributions", attributions)
    scores = _scores(frame, row, channel)
    labels = _labels(frame, row, X, label, len(scores))
    if ax is None:
        _, ax = plt.subplots(figsize=(min(16.0, 2.0 + 0.6 * len(scores)), 2.2))
    bound = float(np.abs(scores).max()) if len(scores) else 0.0
    norm = Normalize(-bound or -1.0, bound or 1.0)
    steps = np.arange(len(scores))
    ax.plot(steps, np.zeros(len(steps)), color="lightgrey", zorder=1)
    points = ax.scatter(steps, np.zeros(len(steps)), c=scores, cmap=cmap, norm=norm,
                        s=160, edgecolors="black", linewidths=0.5, zorder=2)
    for x, text in zip(steps, labels or []):
        ax.text(x, 0.02, str(text), rotation=45, ha="left", va="bottom", fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.05, 0.12)
    ax.set_xlabel("event (oldest to latest)")
    what = "total" if channel is None else channel
    ax.set_title(f"{row}: attribution per event ({what})", fontsize=10)
    ax.colorbar = ax.figure.colorbar(points, ax=ax, pad=0.01, label="attribution")
    return ax


def _scores(frame: pd.DataFrame, row, channel) -> np.ndarray:
    if row not in frame.index:
        raise ValueError(
            f"row={row!r} is not in the attributions' index (e.g. "
            f"{list(frame.index[:3])}); pass the index label of a sequence."
        )
    if channel is not None and channel not in frame.columns:
        raise ValueError(
            f"channel={channel!r} is not a column of the attributions; they are "
            f"{list(frame.columns)}. Pass one of them, or None for the total."
        )
    columns = list(frame.columns) if channel is None else [channel]
    cells = [np.asarray(frame.at[row, c], dtype=np.float64) for c in columns]
    return np.sum(cells, axis=0) if cells else np.zeros(0)


def _labels(frame, row, X, label, n: int):
    if X is None:
        return None
    if label is None:
        shared = [c for c in frame.columns if c in X.columns]
        if not shared:
            return None
        label = shared[0]
    if label not in X.columns:
        raise ValueError(
            f"label={label!r} is not a column of X; its columns are "
            f"{list(X.columns)}."
        )
    values = list(X.at[row, label])
    # events cut off by max_len score 0 and keep their place: as many labels
    return values[-n:] if len(values) >= n else values
