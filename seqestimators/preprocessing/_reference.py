"""Reading ``reference_time``: one time per row of a sequence frame, from a
column, an index level or a scalar, checked against the time column."""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..data._sequences import row_label
from ._time_features import is_datetime_type, is_seconds_type, tz_kind

__all__ = ["check_reference_type", "reference_column", "reference_values"]


def _levels(X: pd.DataFrame) -> list:
    return [level for level in X.index.names if level is not None]


def reference_column(X: pd.DataFrame, ref) -> str | None:
    """The reference_time column of ``X`` (None: no such column)."""
    if isinstance(ref, str) and ref in X.columns:
        return ref
    return None


def check_reference_name(X: pd.DataFrame, ref) -> None:
    """Raise early for a string that is no column, level or time."""
    if isinstance(ref, str) and ref not in X.columns and ref not in _levels(X):
        scalar_reference(ref, X)


def scalar_reference(ref, X: pd.DataFrame):
    """A scalar reference_time as a float (seconds) or a pd.Timestamp."""
    if isinstance(ref, Real) and not isinstance(ref, bool | np.bool_):
        return float(ref)
    try:
        ts = pd.Timestamp(ref)
    except (TypeError, ValueError):
        if isinstance(ref, str):
            raise ValueError(
                f"reference_time={ref!r} is neither a column of the sequence "
                "frame, nor an index level, nor a time that pd.Timestamp can "
                f"parse. Available columns: {list(X.columns)}; index levels: "
                f"{_levels(X)}."
            ) from None
        raise TypeError(
            "reference_time must be a column or index level name, a time or a "
            f"number of seconds; got {type(ref).__name__} {ref!r}."
        ) from None
    if pd.isna(ts):
        raise ValueError(
            f"reference_time={ref!r} is a missing time (NaT); pass a time, or "
            "the name of a column or index level holding one per row."
        )
    return ts


def reference_values(X: pd.DataFrame, ref, caller: str):
    """``(values, source, per_row)``: the references as an Arrow array (one
    per row, or one for all rows), how to name them in errors, and whether
    there is one per row."""
    per_row = isinstance(ref, str) and (ref in X.columns or ref in _levels(X))
    if per_row and ref in X.columns:
        values = X[ref]
        if isinstance(values, pd.DataFrame):
            raise ValueError(
                f"Column name {ref!r} is duplicated in the sequence frame."
            )
        source = f"reference_time column {ref!r}"
    elif per_row:
        values = X.index.get_level_values(ref)
        source = f"reference_time index level {ref!r}"
    else:
        source = f"reference_time={ref!r}"
        values = [scalar_reference(ref, X)]
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        raise TypeError(
            f"{source} must hold one time per row (datetimes, or numbers in "
            "seconds); its values could not be read as one type."
        ) from None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if arr.null_count:
        missing = np.asarray(pc.is_null(arr), dtype=bool)
        first = row_label(X.index, int(np.flatnonzero(missing)[0]))
        raise ValueError(
            f"{source} must give a time for every row, but {int(missing.sum())} "
            f"of {len(arr)} rows are missing (NaN/NaT/None), the first being row "
            f"{first!r}. Fill them, or drop those rows before {caller}."
        )
    return arr, source, per_row


def check_reference_type(ref_type, time_type, time_name: str, source: str) -> None:
    """TypeError when the references cannot be compared with the times."""
    if not (is_datetime_type(ref_type) or is_seconds_type(ref_type)):
        raise TypeError(
            f"{source} must hold times (datetimes, or numbers in seconds); got "
            f"values of type {ref_type}."
        )
    if pa.types.is_null(time_type):  # no events at all: nothing to compare
        return
    column = f"Time column {time_name!r}"
    if is_datetime_type(time_type) and not is_datetime_type(ref_type):
        raise TypeError(
            f"{column} holds datetimes but {source} holds {ref_type}; pass "
            "datetimes (e.g. pd.Timestamp('2024-03-01')) as the reference."
        )
    if is_seconds_type(time_type) and not is_seconds_type(ref_type):
        raise TypeError(
            f"{column} holds numbers (seconds) but {source} holds datetimes; "
            "pass the reference as a number in the unit of the time column."
        )
    tz_time = getattr(time_type, "tz", None)
    tz_ref = getattr(ref_type, "tz", None)
    if (tz_time is None) != (tz_ref is None):
        raise TypeError(
            f"{column} is {tz_kind(tz_time)} but {source} is "
            f"{tz_kind(tz_ref)}; naive "
            "and aware times cannot be compared. Localize the naive one (e.g. "
            "Series.dt.tz_localize('UTC') or Timestamp.tz_localize('UTC')), or "
            "make both naive."
        )
