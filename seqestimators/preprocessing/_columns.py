"""Which list columns of a sequence frame are categorical, numeric or the
time column: the roles named by the user, and the rules that infer the rest
from element types."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..data._sequences import ListColumn, read_list_column
from ._time_features import looks_iso

__all__ = [
    "ID_MIN_SEQUENCES",
    "ID_MIN_VALUES",
    "ID_SHARE",
    "check_numeric_type",
    "check_scalar_events",
    "element_kind",
    "identifier_share",
    "read_column",
    "resolve_columns",
]

#: an inferred categorical column with at least this many distinct values,
#: in a frame of at least ID_MIN_SEQUENCES non-empty sequences, ...
ID_MIN_VALUES = 50
ID_MIN_SEQUENCES = 20
#: ... of which more than this share occur in a single sequence is an
#: identifier (a session or order id, an epoch timestamp), not a category
ID_SHARE = 0.9


def read_column(X: pd.DataFrame, name: str, *, caller: str) -> ListColumn:
    """:func:`read_list_column`, with integers beyond int64 named."""
    try:
        return read_list_column(X, name, caller=caller)
    except OverflowError:
        raise ValueError(
            f"Column {name!r} holds integers outside the int64 range [-2**63, "
            "2**63 - 1], which cannot be read as numbers. Convert them to strings "
            "(e.g. frame[col].map(lambda c: [str(v) for v in c])) to use them as "
            "categories."
        ) from None


def _is_nested(t: pa.DataType) -> bool:
    return (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_struct(t)
        or pa.types.is_map(t)
        or pa.types.is_union(t)
    )


def check_scalar_events(col: ListColumn) -> None:
    """TypeError when the events of a column are containers, not scalars."""
    t = col.values.type
    if _is_nested(t):
        raise TypeError(
            f"Column {col.name!r} holds lists of {t}: each event value is itself "
            "a container (an array, tuple, list or dict), but every event value "
            "must be a scalar. Split it into one list column per field, or drop "
            "the column, before vectorizing."
        )


def check_numeric_type(col: ListColumn) -> None:
    """TypeError unless a numeric column holds numbers (or durations)."""
    t = col.values.type
    if not (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_decimal(t)
        or pa.types.is_duration(t)
        or pa.types.is_null(t)
    ):
        raise TypeError(
            f"Numeric column {col.name!r} holds lists of {t}, not numbers. List it "
            "as categorical, or convert it to numbers."
        )


def element_kind(col: ListColumn) -> str:
    """'categorical', 'numeric', 'time', 'iso' (ISO 8601 strings) or
    'unsupported', from a list column's element type."""
    check_scalar_events(col)
    t = col.values.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "time"
    if pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_duration(t):
        return "numeric"
    if pa.types.is_null(t):
        return "categorical"
    if looks_iso(col.values):
        return "iso"
    if (
        pa.types.is_integer(t)
        or pa.types.is_boolean(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    ):
        return "categorical"
    return "unsupported"


def identifier_share(col: ListColumn) -> float | None:
    """Share of the distinct values of a column that occur in exactly one
    sequence; None when it has fewer than :data:`ID_MIN_VALUES` distinct
    values, or the frame fewer than :data:`ID_MIN_SEQUENCES` non-empty
    sequences (too few to tell an identifier from rare categories).

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> offsets = np.arange(0, 101, 5)  # 20 sequences of 5 events
    >>> identifier_share(ListColumn("id", offsets, pa.array(np.arange(100))))
    1.0
    >>> shared = pa.array(np.arange(100) % 60)  # 40 of 60 values in two sequences
    >>> round(identifier_share(ListColumn("id", offsets, shared)), 2)
    0.33
    """
    t = col.values.type
    lengths = col.lengths
    if (
        pa.types.is_null(t)
        or pa.types.is_boolean(t)
        or np.sum(lengths > 0) < ID_MIN_SEQUENCES
    ):
        return None
    codes = np.asarray(pc.dictionary_encode(col.values).indices, dtype=np.int64)
    n_values = int(codes.max()) + 1
    if n_values < ID_MIN_VALUES:
        return None
    n_rows = len(lengths)
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
    pairs = np.unique(codes * n_rows + rows)
    rows_per_value = np.bincount(pairs // n_rows, minlength=n_values)
    return float(np.mean(rows_per_value == 1))


# ------------------------------------------------------------- resolution
def _check_given(X, categorical, numeric, time, reference, caller) -> None:
    given = list(categorical or []) + list(numeric or [])
    explicit_time = [time] if time not in (None, "auto") else []
    if reference is not None and reference in given + explicit_time:
        raise ValueError(
            f"Column {reference!r} is the reference_time column (one time per "
            "row) and cannot also be a categorical, numeric or time column."
        )
    for c in given + explicit_time:
        if c not in X.columns:
            raise ValueError(
                f"Column {c!r} passed to {caller} is missing from the sequence "
                f"frame. Available columns: {list(X.columns)}."
            )
    overlap = set(categorical or []) & set(numeric or [])
    if overlap:
        raise ValueError(
            f"Columns {sorted(overlap)} are listed as both categorical and "
            "numeric; list each column once."
        )


def _pick_time(kinds: dict, categorical, numeric, time, caller) -> str | None:
    if time != "auto":
        return time
    explicit = set(categorical or []) | set(numeric or [])
    times = [
        c for c, (k, _) in kinds.items() if k in ("time", "iso") and c not in explicit
    ]
    if len(times) > 1:
        raise ValueError(
            f"{caller}(time='auto') found several timestamp list columns "
            f"{times}; pass time=<column> to choose one (or time=None)."
        )
    return times[0] if times else None


def _refuse_iso_strings(kinds: dict, time_, numeric) -> None:
    for c, (k, _) in kinds.items():
        if k == "iso" and c != time_ and c not in (numeric or []):
            raise ValueError(
                f"Column {c!r} holds ISO 8601 timestamps as strings, which would "
                "become one category per distinct time. Pass time="
                f"{c!r} to use it as the time column, convert it with "
                "pd.to_datetime, or list it in categorical=[...] to encode the "
                "strings as categories."
            )


def _drop_identifiers(columns: list, kinds: dict) -> list:
    kept = []
    for c in columns:
        share = identifier_share(kinds[c][1])
        if share is None or share <= ID_SHARE:
            kept.append(c)
            continue
        n_values = len(pc.unique(kinds[c][1].values))
        warnings.warn(
            f"Column {c!r} looks like an identifier ({n_values} distinct values, "
            f"{share:.0%} of them in a single sequence): embedding it would learn "
            "one vector per entity, which does not generalize. It is left out. "
            f"To use it anyway, list it in categorical=[...] (e.g. categorical="
            f"[{c!r}, ...]); if it holds epoch timestamps, pass time={c!r} with "
            "time_unit='s' (or 'ms', 'us', 'ns', 'D').",
            UserWarning,
            stacklevel=5,
        )
    return kept


def _check_resolved(categorical_, numeric_, time_, kinds, caller) -> None:
    if time_ in categorical_ or time_ in numeric_:
        raise ValueError(
            f"Column {time_!r} is the time column and cannot also be "
            "categorical or numeric."
        )
    if not (categorical_ or numeric_ or time_):
        unsupported = [c for c, (k, _) in kinds.items() if k == "unsupported"]
        raise ValueError(
            f"{caller} found no usable list column (categorical, numeric or time)"
            + (f"; unsupported element types in {unsupported}" if unsupported else "")
            + ". Pass categorical=[...] and/or numeric=[...]."
        )


def resolve_columns(
    X: pd.DataFrame, *, categorical, numeric, time, reference, caller: str
) -> tuple[list[str], list[str], str | None]:
    """``(categorical_, numeric_, time_)``: the columns given, and the others
    inferred from element types when a role is None (``time="auto"``).

    Inferred categorical columns that look like identifiers are left out with
    a warning; ISO 8601 string columns are the time column or an error.
    """
    _check_given(X, categorical, numeric, time, reference, caller)
    kinds = {}
    if categorical is None or numeric is None or time == "auto":
        for c in X.columns:
            if c == reference:  # one time per row, not a sequence
                continue
            col = read_column(X, c, caller=caller)
            kinds[c] = (element_kind(col), col)
    time_ = _pick_time(kinds, categorical, numeric, time, caller)
    taken = {time_}
    if categorical is None:
        _refuse_iso_strings(kinds, time_, numeric)
        candidates = [
            c
            for c, (k, _) in kinds.items()
            if k == "categorical" and c not in taken and c not in (numeric or [])
        ]
        categorical_ = _drop_identifiers(candidates, kinds)
    else:
        categorical_ = list(categorical)
    if numeric is None:
        numeric_ = [
            c
            for c, (k, _) in kinds.items()
            if k == "numeric" and c not in taken and c not in categorical_
        ]
    else:
        numeric_ = list(numeric)
    _check_resolved(categorical_, numeric_, time_, kinds, caller)
    return categorical_, numeric_, time_
