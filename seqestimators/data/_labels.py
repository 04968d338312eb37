"""Point-in-time labels: history before a cutoff, targets from the window after.

"Will this user buy in the next 30 days?" is answered honestly only when the
model sees nothing at or after the moment the question is asked.
:func:`make_window_labels` cuts an event log at one or several cutoffs: the
*history* holds the events strictly before a cutoff (as a sequence frame), the
*labels* are computed from the window ``[cutoff, cutoff + horizon)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._sequences import (
    _check_columns,
    _check_frame,
    positive_duration,
    to_sequences,
)

__all__ = ["make_window_labels"]


def _as_cutoffs(cutoff, times: pd.Series) -> list:
    scalar = np.isscalar(cutoff) or isinstance(cutoff, pd.Timestamp)
    values = [cutoff] if scalar else list(cutoff)
    if not values:
        raise ValueError("cutoff is empty; pass a time or a list of times.")
    is_datetime = pd.api.types.is_datetime64_any_dtype(times)
    out = []
    for v in values:
        if is_datetime:
            try:
                v = pd.Timestamp(v)
            except (TypeError, ValueError):
                raise TypeError(
                    f"cutoff {v!r} is not a time; the order_by column holds "
                    "datetimes, so pass a datetime or a string like '2024-03-01'."
                ) from None
            if times.dt.tz is not None and v.tzinfo is None:
                v = v.tz_localize(times.dt.tz)
        out.append(v)
    lo, hi = times.min(), times.max()
    for v in out:
        if not (lo < v <= hi):
            raise ValueError(
                f"cutoff {v} lies outside the data: events run from {lo} to {hi}, "
                "and a cutoff needs history before it and events at or after it. "
                "Pick a cutoff inside that range."
            )
    if len(set(out)) != len(out):
        raise ValueError("cutoff lists the same time twice; each cutoff once.")
    return sorted(out)


def make_window_labels(
    events: pd.DataFrame,
    cutoff,
    horizon,
    *,
    by: str = "user_id",
    order_by: str = "timestamp",
    target_event: tuple[str, object] | None = None,
    value: str | None = None,
    columns: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History before a cutoff and labels from the window after it.

    Parameters
    ----------
    events : pandas.DataFrame
        Long event log, one row per event. Not modified.
    cutoff : time or list of times
        Where to cut. Several cutoffs (rolling windows) stack into more
        samples: one row per (entity, cutoff).
    horizon : duration or number
        Length of the label window ``[cutoff, cutoff + horizon)`` — a
        ``pd.Timedelta``-like (``"30D"``) for datetime times.
    by, order_by : str
        Entity and time columns.
    target_event : (column, value), default=None
        The event that counts as a conversion, e.g. ``("event_type",
        "purchase")``. Adds the labels ``converted`` and ``n_converted``.
    value : str, default=None
        Numeric column summed over the window's target events (all events
        without ``target_event``) into the label ``value`` (e.g. spend).
    columns : list of str, default=None
        Columns of the history sequence frame (as in :func:`to_sequences`).

    Returns
    -------
    history : pandas.DataFrame
        Sequence frame of the events strictly before each cutoff, indexed by
        ``(by, "cutoff")``.
    labels : pandas.DataFrame
        Same index. Columns: ``any_event`` (1 if the entity had an event in the
        window), ``churn`` (1 - any_event), ``n_events``, ``converted`` and
        ``n_converted`` (with ``target_event``), ``value`` (with ``value``),
        ``cutoff`` (the cutoff time, for time features relative to it) and
        ``group`` (the entity id: pass it as ``groups`` to ``GroupKFold`` so
        that an entity's windows stay on one side of a split).

    Notes
    -----
    Entities without any event before a cutoff have no history and are left
    out for that cutoff: there is nothing to predict from. Entities with
    history but no event in the window are kept, with ``any_event = 0``.
    Events exactly at the cutoff belong to the window, never to the history.

    Examples
    --------
    >>> import pandas as pd
    >>> from seqestimators import make_window_labels
    >>> events = pd.DataFrame({
    ...     "user_id": [1, 1, 2, 2, 1],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-02",
    ...                                  "2024-01-03", "2024-01-20"]),
    ...     "event_type": ["view", "purchase", "view", "view", "purchase"]})
    >>> history, labels = make_window_labels(
    ...     events, "2024-01-04", "30D", target_event=("event_type", "purchase"))
    >>> labels[["any_event", "n_converted"]].to_dict("list")
    {'any_event': [1, 0], 'n_converted': [2, 0]}
    >>> history["event_type"].tolist()
    [['view'], ['view', 'view']]
    """
    _check_frame(events)
    _check_columns(events, [by, order_by], "Columns")
    if target_event is not None:
        if not (isinstance(target_event, tuple) and len(target_event) == 2):
            raise TypeError(
                "target_event must be a (column, value) pair such as "
                f"('event_type', 'purchase'); got {target_event!r}."
            )
        _check_columns(events, [target_event[0]], "target_event column")
    if value is not None:
        _check_columns(events, [value], "value column")
        if not pd.api.types.is_numeric_dtype(events[value]):
            raise TypeError(
                f"value column {value!r} must be numeric; got dtype "
                f"{events[value].dtype}."
            )
    times = events[order_by]
    if times.isna().any():
        raise ValueError(
            f"Ordering column {order_by!r} has missing values; drop or fill them."
        )
    cutoffs = _as_cutoffs(cutoff, times)
    h = positive_duration(horizon, times, "horizon", "30D")

    is_target = (
        (events[target_event[0]] == target_event[1]).to_numpy()
        if target_event is not None
        else np.ones(len(events), dtype=bool)
    )
    histories, labels = [], []
    for c in cutoffs:
        before = (times < c).to_numpy()
        window = ((times >= c) & (times < c + h)).to_numpy()
        if not before.any():
            continue
        hist = to_sequences(events[before], by=by, order_by=order_by, columns=columns)
        win = events.loc[window, [by]].copy()
        win["_target"] = is_target[window]
        if value is not None:
            win["_value"] = np.where(is_target[window], events.loc[window, value], 0.0)
        g = win.groupby(by, sort=False)
        n_events = g.size().reindex(hist.index, fill_value=0)
        lab = pd.DataFrame(index=hist.index)
        lab["any_event"] = (n_events > 0).astype(np.int64)
        lab["churn"] = 1 - lab["any_event"]
        lab["n_events"] = n_events.astype(np.int64)
        if target_event is not None:
            n_conv = g["_target"].sum().reindex(hist.index, fill_value=0)
            lab["n_converted"] = n_conv.astype(np.int64)
            lab["converted"] = (n_conv > 0).astype(np.int64)
        if value is not None:
            lab["value"] = g["_value"].sum().reindex(hist.index, fill_value=0.0)
        lab["cutoff"] = c
        lab["group"] = hist.index.to_numpy()
        hist.index = pd.MultiIndex.from_arrays(
            [hist.index, np.full(len(hist), c)], names=[by, "cutoff"]
        )
        lab.index = hist.index
        histories.append(hist)
        labels.append(lab)
    history = pd.concat(histories)
    labels_frame = pd.concat(labels)
    return history, labels_frame
