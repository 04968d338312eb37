"""Point-in-time labels: history before a cutoff, targets from the window after.

"Will this user buy in the next 30 days?" is answered honestly only when the
model sees nothing at or after the moment the question is asked.
:func:`make_window_labels` cuts an event log at one or several cutoffs: the
*history* holds the events strictly before a cutoff (as a sequence frame), the
*labels* are computed from the window ``[cutoff, cutoff + horizon)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from ..utils._compat import validate_params
from ._sequences import (
    _check_columns,
    _check_frame,
    _time_key,
    positive_duration,
    to_sequences,
)

__all__ = ["make_window_labels"]

#: name of the cutoff level of the result's index and of the labels' column
_CUTOFF = "cutoff"


def _as_cutoff(value, times: pd.Series):
    """One cutoff as a value comparable with ``times``."""
    if not pd.api.types.is_datetime64_any_dtype(times):
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"cutoff {value!r} is not a number; the order_by column holds "
                "numbers, so pass a number in their unit."
            )
        if np.isnan(value):
            raise ValueError("cutoff is missing (NaN); pass a number.")
        return value
    try:
        cut = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"cutoff {value!r} is not a time; the order_by column holds "
            "datetimes, so pass a datetime or a string like '2024-03-01'."
        ) from None
    if cut is pd.NaT:
        raise ValueError(
            "cutoff is missing (NaT); pass a datetime or a string like "
            "'2024-03-01'."
        )
    if times.dt.tz is not None and cut.tzinfo is None:
        cut = cut.tz_localize(times.dt.tz)
    elif times.dt.tz is None and cut.tzinfo is not None:
        raise TypeError(
            f"cutoff {value!r} has a time zone but the times do not; pass a "
            "cutoff without one."
        )
    return cut


def _as_cutoffs(cutoff, times: pd.Series) -> list:
    if cutoff is None:
        raise TypeError(
            "cutoff is None; pass a time (e.g. '2024-03-01') or a list of times."
        )
    values = list(cutoff) if pd.api.types.is_list_like(cutoff) else [cutoff]
    if not values:
        raise ValueError("cutoff is empty; pass a time or a list of times.")
    out = [_as_cutoff(v, times) for v in values]  # a few cutoffs, not events
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


def _check_label_columns(events: pd.DataFrame, target_event, value) -> None:
    if _CUTOFF in events.columns:
        raise ValueError(
            f"events has a column named {_CUTOFF!r}, the name make_window_labels "
            "gives the cutoff level of the result's index and the labels' "
            "cutoff column. Rename it first, e.g. "
            f"events.rename(columns={{{_CUTOFF!r}: 'cutoff_time'}}), or drop it."
        )
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


@validate_params(
    {
        "events": "no_validation",
        "cutoff": "no_validation",
        "horizon": "no_validation",
        "by": [Hashable],
        "order_by": [Hashable],
        "target_event": "no_validation",
        "value": [Hashable, None],
        "columns": [str, "array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def make_window_labels(
    events,
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
    events : pandas.DataFrame, polars.DataFrame, pyarrow.Table or path
        Long event log, one row per event: a pandas or polars DataFrame, a
        pyarrow Table, RecordBatch or Dataset, or the path of a Parquet file
        (see :func:`to_sequences`). Not modified.
    cutoff : time or list of times
        Where to cut: datetimes (or strings such as ``"2024-03-01"``) for
        datetime times, numbers for numeric times. Several cutoffs (rolling
        windows) stack into more samples: one row per (entity, cutoff).
    horizon : str, timedelta or number
        Length of the label window ``[cutoff, cutoff + horizon)``. For datetime
        times a duration with its unit: ``"30D"``, ``"12h"`` or
        ``pd.Timedelta(days=30)``; a plain number is refused (its unit would
        be a guess). For numeric times a positive number in their unit.
    by, order_by : str
        Entity and time columns. Times are datetimes, numbers, or ISO 8601
        text (parsed as in :func:`to_sequences`).
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
    ``events`` must not have a column named ``cutoff``: that name is taken by
    the result.

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
    events = _check_frame(events)
    _check_columns(events, [by, order_by], "Columns")
    _check_label_columns(events, target_event, value)
    times = _time_key(events, order_by, caller="make_window_labels")
    if times.dtype != events[order_by].dtype:  # parsed from text: reuse them
        events = events.copy(deep=False)
        events[order_by] = times
    cutoffs = _as_cutoffs(cutoff, times)
    h = positive_duration(horizon, times, "horizon", "30D")
    is_target = (
        (events[target_event[0]] == target_event[1]).to_numpy()
        if target_event is not None
        else np.ones(len(events), dtype=bool)
    )
    histories, labels = [], []
    for c in cutoffs:  # one pass per cutoff (a few), vectorized within
        before = (times < c).to_numpy()
        if not before.any():
            continue
        window = ((times >= c) & (times < c + h)).to_numpy()
        hist = to_sequences(events[before], by=by, order_by=order_by, columns=columns)
        lab = _window_labels(
            events, window, is_target, hist.index, by, target_event, value
        )
        lab[_CUTOFF] = c
        lab["group"] = hist.index.to_numpy()
        hist.index = pd.MultiIndex.from_arrays(
            [hist.index, np.full(len(hist), c)], names=[by, _CUTOFF]
        )
        lab.index = hist.index
        histories.append(hist)
        labels.append(lab)
    return pd.concat(histories), pd.concat(labels)


def _window_labels(events, window, is_target, entities, by, target_event, value):
    """Labels of ``entities`` from the events in ``window`` (a row mask)."""
    win = events.loc[window, [by]].copy()
    win["_target"] = is_target[window]
    if value is not None:
        win["_value"] = np.where(is_target[window], events.loc[window, value], 0.0)
    g = win.groupby(by, sort=False)
    n_events = g.size().reindex(entities, fill_value=0)
    lab = pd.DataFrame(index=entities)
    lab["any_event"] = (n_events > 0).astype(np.int64)
    lab["churn"] = 1 - lab["any_event"]
    lab["n_events"] = n_events.astype(np.int64)
    if target_event is not None:
        n_conv = g["_target"].sum().reindex(entities, fill_value=0)
        lab["n_converted"] = n_conv.astype(np.int64)
        lab["converted"] = (n_conv > 0).astype(np.int64)
    if value is not None:
        lab["value"] = g["_value"].sum().reindex(entities, fill_value=0.0)
    return lab
