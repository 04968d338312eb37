"""Sessions: split each entity's events where it was inactive for a while."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pandas as pd

from ..utils._compat import validate_params
from ._ops import entity_time_order
from ._sequences import (
    _check_columns,
    _check_frame,
    _sortable,
    _time_key,
    positive_duration,
)

__all__ = ["split_sessions"]


@validate_params(
    {
        "events": "no_validation",
        "gap": "no_validation",
        "by": [Hashable],
        "order_by": [Hashable],
        "name": [Hashable],
    },
    prefer_skip_nested_validation=True,
)
def split_sessions(
    events,
    gap="30min",
    *,
    by: str = "user_id",
    order_by: str = "timestamp",
    name: str = "session_id",
) -> pd.DataFrame:
    """Number the sessions of each entity by an inactivity gap.

    A new session starts at an entity's first event and after every pause
    longer than ``gap``. The result is a copy of ``events`` with a column
    ``name`` of session ids (int64, unique across entities, in order of entity
    then time), usable as the sequence key: ``to_sequences(sessions,
    by="session_id")``.

    Parameters
    ----------
    events : pandas.DataFrame, polars.DataFrame, pyarrow.Table or path
        Long event log, one row per event: a pandas or polars DataFrame, a
        pyarrow Table, RecordBatch or Dataset, or the path of a Parquet file
        (see :func:`to_sequences`). Not modified.
    gap : str, timedelta or number, default="30min"
        Inactivity that ends a session. For datetime times a duration with its
        unit: ``"30min"``, ``"1h"`` or ``pd.Timedelta(minutes=30)``; a plain
        number is refused (its unit would be a guess). For numeric times a
        positive number in their unit.
    by, order_by : str
        Entity and time columns. Times are datetimes, numbers, or ISO 8601
        text (parsed as in :func:`to_sequences`).
    name : str, default="session_id"
        Name of the new column; must not exist yet.

    Returns
    -------
    sessions : pandas.DataFrame
        ``events`` (same row order and index) plus the session id column; a
        pandas frame whatever the type of ``events``.

    Examples
    --------
    >>> import pandas as pd
    >>> from seqestimators import split_sessions
    >>> events = pd.DataFrame({"user_id": [1, 1, 1, 2],
    ...                        "timestamp": pd.to_datetime(
    ...     ["2024-01-01 10:00", "2024-01-01 10:10", "2024-01-01 12:00",
    ...      "2024-01-01 10:05"])})
    >>> split_sessions(events, "30min")["session_id"].tolist()
    [0, 0, 1, 2]
    """
    events = _check_frame(events)
    _check_columns(events, [by, order_by], "Columns")
    if name in events.columns:
        raise ValueError(
            f"Column {name!r} already exists; pass another name= for the "
            "session ids."
        )
    if events[by].isna().any():
        raise ValueError(
            f"Entity column {by!r} has missing values; drop or fill them first."
        )
    times = _time_key(events, order_by, caller="split_sessions")
    limit = positive_duration(gap, times, "gap", "30min")
    if isinstance(limit, pd.Timedelta):
        seconds = limit.total_seconds()
        t = _sortable(times, order_by).astype("datetime64[ns]").astype(np.int64) / 1e9
    else:
        seconds = float(limit)
        t = times.to_numpy(dtype=np.float64)
    codes = pd.factorize(events[by], sort=True)[0]
    order = entity_time_order(codes, t)
    if order is None:
        order = np.arange(len(codes))
    c, ts = codes[order], t[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (c[1:] != c[:-1]) | (np.diff(ts) > seconds)
    session = np.empty(len(order), dtype=np.int64)
    session[order] = np.cumsum(new) - 1
    out = events.copy()
    out[name] = session
    return out
