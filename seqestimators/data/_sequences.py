"""From a long event log to a sequence frame, and back to flat arrays.

A *sequence frame* is a DataFrame indexed by entity id (a user, a session)
whose columns are lists of that entity's event values in time order. It is the
sample unit of seqestimators: one row is one sample, so scikit-learn's
splitters, scorers and searches work on it unchanged.

Everything here works on flat values and offsets with numpy and Arrow; there is
no Python loop per entity or per event.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..utils._compat import validate_params
from ._frames import as_pandas_frame
from ._ops import entity_time_order
from ._times import as_time, positive_duration

__all__ = ["positive_duration", "to_sequences"]


def _is_list_type(t: pa.DataType) -> bool:
    return (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
    )


def _check_frame(events, name: str = "events") -> pd.DataFrame:
    """``events`` as a pandas frame (see :func:`as_pandas_frame`), not empty."""
    events = as_pandas_frame(events, name=name)
    if events.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 rows): at least one row is required.")
    return events


def _check_columns(frame: pd.DataFrame, columns, what: str) -> list[str]:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} {missing} not found in the frame. Available columns: "
            f"{list(frame.columns)}."
        )
    duplicated = set(frame.columns[frame.columns.duplicated()])
    repeated = list(dict.fromkeys(c for c in columns if c in duplicated))
    if repeated:
        raise ValueError(
            f"{what} {repeated} appear more than once in the frame's columns; "
            "rename or drop the duplicates."
        )
    return list(columns)


@validate_params(
    {
        "events": "no_validation",
        "by": [Hashable],
        "order_by": [Hashable, None],
        "columns": [str, "array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def to_sequences(
    events,
    by: str = "user_id",
    order_by: str | None = "timestamp",
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Group a long event log into a sequence frame.

    Parameters
    ----------
    events : pandas.DataFrame, polars.DataFrame, pyarrow.Table or path
        One row per event: a pandas or polars DataFrame (a polars LazyFrame is
        collected), a pyarrow Table, RecordBatch or Dataset, or the path of a
        Parquet file. Not modified.
    by : str, default="user_id"
        Column identifying the entity (user, session) of each event. Its sorted
        unique values become the index of the result.
    order_by : str or None, default="timestamp"
        Column giving the time order of events within an entity: datetimes,
        numbers, or ISO 8601 text (parsed, see Notes). Ties keep the input
        order (a stable sort). None keeps the input order.
    columns : list of str, default=None
        Columns to turn into list columns. None takes every column but ``by``
        (``order_by`` included, so the timestamps stay available to
        :class:`~seqestimators.SequenceVectorizer`).

    Returns
    -------
    sequences : pandas.DataFrame
        One row per entity, indexed by ``by``; each column is a
        ``pandas.ArrowDtype`` list column holding that entity's values in time
        order.

    Notes
    -----
    Time is never ordered as text. An ``order_by`` column of text is parsed
    with ``pd.to_datetime(..., format="ISO8601")`` when every value is an ISO
    8601 time; its list column then holds those datetimes (text with several
    UTC offsets is converted to UTC). Other text, and text that mixes times
    with and without a UTC offset, is refused: parse it first with
    ``pd.to_datetime(..., format=...)``. Other text columns are left as text.

    Integer or float times (e.g. Unix epoch seconds) are ordered as numbers
    and kept as numbers; their unit is yours. Convert them with
    ``pd.to_datetime(events[col], unit="s")`` to get datetimes, or tell
    :class:`~seqestimators.SequenceVectorizer` their unit (``time_unit``).

    The grouping is vectorized: a stable argsort by time then by entity, one
    ``take`` per column, and Arrow list arrays built from offsets. Input that
    is already sorted by entity and time skips the sort.

    Examples
    --------
    >>> import pandas as pd
    >>> from seqestimators import to_sequences
    >>> events = pd.DataFrame({
    ...     "user_id": [2, 1, 2, 1],
    ...     "timestamp": [3, 1, 1, 2],
    ...     "event": ["buy", "view", "view", "cart"]})
    >>> seqs = to_sequences(events)
    >>> seqs["event"].tolist()
    [['view', 'cart'], ['view', 'buy']]

    ISO 8601 text is ordered as time, not as text:

    >>> events["timestamp"] = ["2024-01-02", "2024-01-01T09:00",
    ...                        "2024-01-01T10:00", "2024-01-01T10:00"]
    >>> to_sequences(events)["event"].tolist()
    [['view', 'cart'], ['view', 'buy']]

    An Arrow table (or a polars DataFrame, or a Parquet file) goes straight in:

    >>> import pyarrow as pa
    >>> table = pa.table({"user_id": [2, 1, 1], "event": ["buy", "view", "cart"]})
    >>> to_sequences(table, order_by=None)["event"].tolist()
    [['view', 'cart'], ['buy']]
    """
    events = _check_frame(events)
    columns = _sequence_columns(events, by, order_by, columns)
    codes, uniques = _entity_codes(events, by)
    if order_by is None:
        times = None
        order = entity_time_order(codes, None)
    else:
        times = _time_key(events, order_by, caller="to_sequences")
        order = entity_time_order(codes, _sortable(times, order_by))
    sorted_codes = codes if order is None else codes[order]
    counts = np.bincount(sorted_codes, minlength=len(uniques))
    offsets = np.zeros(len(uniques) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    pa_offsets = pa.array(offsets, type=pa.int64())
    take = None if order is None else pa.array(order, type=pa.int64())
    data = {
        col: _list_array(times if col == order_by else events[col], take, pa_offsets)
        for col in columns
    }
    return pd.DataFrame(data, index=pd.Index(uniques, name=by))


def _sequence_columns(events: pd.DataFrame, by, order_by, columns) -> list:
    """The checked list of columns to turn into list columns."""
    _check_columns(events, [by], "Entity column (by)")
    if order_by is not None:
        _check_columns(events, [order_by], "Ordering column (order_by)")
        if order_by == by:
            raise ValueError("order_by must differ from by.")
    if columns is None:
        return _check_columns(
            events, [c for c in events.columns if c != by], "Columns"
        )
    if isinstance(columns, str):
        columns = [columns]
    columns = _check_columns(events, list(columns), "Columns")
    if by in columns:
        raise ValueError(
            f"columns must not contain the entity column {by!r}: it becomes "
            "the index."
        )
    if not columns:
        raise ValueError("No columns left to turn into sequences.")
    return columns


def _entity_codes(events: pd.DataFrame, by) -> tuple[np.ndarray, pd.Index]:
    """int64 codes of the entities (in sorted order) and the sorted entities."""
    codes, uniques = pd.factorize(events[by], sort=True)
    if (codes < 0).any():
        bad = int(np.flatnonzero(codes < 0)[0])
        raise ValueError(
            f"Entity column {by!r} has missing values (first at row position "
            f"{bad}); drop or fill them before calling to_sequences."
        )
    return codes.astype(np.int64, copy=False), uniques


def _time_key(events: pd.DataFrame, order_by, *, caller: str) -> pd.Series:
    """The ordering column as times (see :func:`as_time`), without missing
    values."""
    key = events[order_by]
    missing = key.isna().to_numpy()
    if missing.any():
        bad = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"Ordering column {order_by!r} has missing values (first at row "
            f"position {bad}); drop or fill them before calling {caller}."
        )
    return as_time(key, order_by)


def _list_array(series: pd.Series, take, offsets: pa.Array):
    """``series`` reordered by ``take`` and cut into lists at ``offsets``."""
    values = _to_arrow(series)
    if take is not None:
        values = values.take(take)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    lists = pa.LargeListArray.from_arrays(offsets, values)
    return pd.arrays.ArrowExtensionArray(lists)


def _sortable(key: pd.Series, name: str) -> np.ndarray:
    """A numpy array whose order is the column's order."""
    if isinstance(key.dtype, pd.DatetimeTZDtype):
        return key.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    values = key.to_numpy()
    if values.dtype == object or values.dtype.kind in "OSU":
        try:
            return np.asarray(pd.factorize(key, sort=True)[0])
        except TypeError as exc:
            raise TypeError(
                f"Ordering column {name!r} has values that cannot be ordered: {exc}"
            ) from None
    return values


def _to_arrow(series: pd.Series) -> pa.Array:
    arr = pa.array(series.array) if isinstance(series.dtype, pd.ArrowDtype) else None
    if arr is None:
        arr = pa.Array.from_pandas(series)
    return arr


# --------------------------------------------------------------------------
# Reading list columns of a sequence frame
# --------------------------------------------------------------------------


@dataclass
class ListColumn:
    """One list column of a sequence frame as flat Arrow values and offsets."""

    name: str
    offsets: np.ndarray  # (n_rows + 1,) int64, starting at 0
    values: pa.Array  # flat values, nulls already rejected

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


def check_sequence_frame(X, *, caller: str) -> pd.DataFrame:
    """``X`` as a pandas sequence frame (see :func:`as_pandas_frame`); a
    helpful error unless it is a non-empty frame."""
    X = as_pandas_frame(
        X,
        name="X",
        what=f"{caller} expects a sequence frame (one row per entity, list-valued "
        "columns) as",
        hint="build one from an event log with seqestimators.to_sequences",
    )
    if X.shape[0] == 0:
        raise ValueError(
            f"{caller} got an empty sequence frame (0 rows): at least one "
            "sequence is required."
        )
    return X


def read_list_column(frame: pd.DataFrame, name: str, *, caller: str) -> ListColumn:
    """Flat values and offsets of list column ``name``, with validation."""
    if name not in frame.columns:
        raise ValueError(
            f"Column {name!r} is missing from the sequence frame passed to {caller}. "
            f"Available columns: {list(frame.columns)}."
        )
    series = frame[name]
    if isinstance(series, pd.DataFrame):
        raise ValueError(f"Column name {name!r} is duplicated in the sequence frame.")
    arr = _column_as_list_array(series, name, caller)
    if arr.null_count:
        label = row_label(frame.index, _first(pc.is_null(arr)))
        raise ValueError(
            f"Column {name!r}, row {label!r}: the cell is missing "
            "(None/NaN) instead of a list. Use an empty list for an entity without "
            "events."
        )
    offsets = np.asarray(arr.offsets, dtype=np.int64)
    values = arr.values  # not yet sliced to the array's own span
    start, stop = int(offsets[0]), int(offsets[-1])
    if start or stop != len(values):
        values = values.slice(start, stop - start)
        offsets = offsets - start
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if values.null_count or _has_nan(values):
        mask = pc.is_null(values, nan_is_null=True)
        event = _first(mask)
        row = int(np.searchsorted(offsets, event, side="right") - 1)
        label = row_label(frame.index, row)
        raise ValueError(
            f"Column {name!r}, row {label!r}: a list holds a missing "
            "value (None/NaN). Drop or fill missing event values before "
            f"{caller}."
        )
    return ListColumn(name=name, offsets=offsets, values=values)


def row_label(index: pd.Index, position: int):
    """The index label at ``position``, as a plain Python value for messages."""
    label = index[position]
    return label.item() if isinstance(label, np.generic) else label


def _first(mask) -> int:
    return int(np.flatnonzero(np.asarray(mask, dtype=bool))[0])


def _has_nan(values: pa.Array) -> bool:
    if pa.types.is_floating(values.type) and len(values):
        return bool(pc.any(pc.is_nan(values)).as_py())
    return False


_LONG_HINT = (
    "This looks like a long event log (one row per event); call "
    "seqestimators.to_sequences(events, by=..., order_by=...) first to get one "
    "row per entity with list columns."
)


def _column_as_list_array(series: pd.Series, name: str, caller: str) -> pa.Array:
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        if not _is_list_type(dtype.pyarrow_dtype):
            raise TypeError(
                f"Column {name!r} holds scalars of type {dtype}, not lists. "
                + _LONG_HINT
            )
        arr = pa.array(series.array)
    elif pd.api.types.is_object_dtype(dtype):
        values = series.to_numpy()
        try:
            arr = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            kinds = pd.Series(values).map(
                lambda v: isinstance(v, list | tuple | np.ndarray) or v is None
            )
            if (~kinds).all():
                raise TypeError(
                    f"Column {name!r} holds scalars, not lists. " + _LONG_HINT
                ) from None
            if (~kinds).any():
                bad = int(np.flatnonzero(~kinds.to_numpy())[0])
                label = row_label(series.index, bad)
                raise TypeError(
                    f"Column {name!r}, row {label!r}: expected a list of "
                    f"event values, got {type(values[bad]).__name__} "
                    f"{values[bad]!r}. Every cell of a sequence column must be a "
                    "list."
                ) from None
            raise TypeError(
                f"Column {name!r} could not be read as lists of one type: {exc}. "
                "Make the values of a column share one type."
            ) from None
        if pa.types.is_null(arr.type):  # every cell is None/NaN
            arr = pa.nulls(len(arr), pa.list_(pa.null()))
        if not _is_list_type(arr.type):
            raise TypeError(f"Column {name!r} holds scalars, not lists. " + _LONG_HINT)
    else:
        raise TypeError(
            f"Column {name!r} holds scalars of dtype {dtype}, not lists. " + _LONG_HINT
        )
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_fixed_size_list(arr.type):
        arr = arr.cast(pa.large_list(arr.type.value_type))
    return arr


def common_offsets(columns: Sequence[ListColumn], index, *, caller: str) -> np.ndarray:
    """The shared offsets of several list columns; error if lengths differ."""
    first = columns[0]
    for col in columns[1:]:
        if not np.array_equal(col.offsets, first.offsets):
            diff = np.flatnonzero(col.lengths != first.lengths)[0]
            raise ValueError(
                f"Row {row_label(index, diff)!r}: column {col.name!r} has "
                f"{col.lengths[diff]} events but column {first.name!r} has "
                f"{first.lengths[diff]}. All list columns of a row must have one "
                "value per event (same length)."
            )
    return first.offsets


def timestamps_to_seconds(col: ListColumn) -> np.ndarray:
    """Flat timestamps (datetime or numeric) as float64 seconds."""
    return values_to_seconds(col.values, f"Time column {col.name!r}")


def values_to_seconds(values: pa.Array, what: str) -> np.ndarray:
    """Arrow timestamps, dates, durations or numbers as float64 seconds.

    Timezone-aware timestamps give seconds since the epoch in UTC. ``what``
    names the values in the error for any other type.
    """
    t = values.type
    if pa.types.is_null(t):  # only empty lists: no timestamps at all
        return np.zeros(len(values), dtype=np.float64)
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        ns = pc.cast(values, pa.timestamp("ns", tz=getattr(t, "tz", None)))
        return np.asarray(ns.cast(pa.int64()), dtype=np.float64) / 1e9
    if pa.types.is_duration(t):
        ns = pc.cast(values, pa.duration("ns"))
        return np.asarray(ns.cast(pa.int64()), dtype=np.float64) / 1e9
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return np.asarray(values, dtype=np.float64)
    raise TypeError(
        f"{what} must hold timestamps or numbers (seconds); got lists of {t}."
    )
