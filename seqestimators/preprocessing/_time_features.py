"""Time features as pure functions on flat arrays and offsets.

- gaps: seconds since the previous event of the same sequence;
- ages and recency: seconds from each event, and from each sequence's last
  event, to the sequence's reference time;
- calendar: the position of each event in the day, week or year, as an angle;
- reading time columns: numbers with a unit (epoch times) and ISO 8601
  strings as Arrow timestamps, and a description of a time column's type that
  ``transform`` compares with the one seen in ``fit``.

No Python loop per event or per sequence.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "CALENDAR_FIELDS",
    "TIME_UNITS",
    "ages",
    "calendar_channels",
    "check_calendar",
    "describe_time",
    "epoch_to_datetime",
    "first_negative",
    "gaps",
    "is_datetime_type",
    "is_seconds_type",
    "looks_iso",
    "parse_iso",
    "show_time",
    "time_feature_names",
    "tz_kind",
]

#: calendar fields; each adds a ``_sin`` and a ``_cos`` channel
CALENDAR_FIELDS = ("hour", "dayofweek", "month")
#: nanoseconds per unit of a numeric (epoch) time column
TIME_UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1, "D": 86_400 * 10**9}
_NS_PER_DAY = 86_400 * 10**9
#: what an ISO 8601 date or timestamp starts with
_ISO_START = r"^\d{4}-\d{2}-\d{2}"


def is_datetime_type(t: pa.DataType) -> bool:
    return pa.types.is_timestamp(t) or pa.types.is_date(t)


def is_seconds_type(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_duration(t)


def tz_kind(tz) -> str:
    return f"timezone-aware ({tz})" if tz is not None else "timezone-naive"


# ------------------------------------------------------------------ names
def check_calendar(calendar: Sequence[str]) -> list[str]:
    """The calendar fields as a list; ValueError for unknown or repeated ones."""
    calendar = list(calendar or [])
    unknown = [c for c in calendar if c not in CALENDAR_FIELDS]
    if unknown:
        raise ValueError(
            f"calendar fields {unknown} are not supported; choose among "
            f"{list(CALENDAR_FIELDS)}, e.g. calendar=['hour', 'dayofweek']."
        )
    if len(set(calendar)) != len(calendar):
        raise ValueError(f"calendar lists a field twice: {calendar}; each once.")
    return calendar


def time_feature_names(reference: bool, calendar: Sequence[str]) -> list[str]:
    """The time channels, in order: the gap, age and recency with a
    reference, then a sine and a cosine per calendar field.

    Examples
    --------
    >>> time_feature_names(True, ["hour"])
    ['log_gap', 'log_age', 'log_recency', 'hour_sin', 'hour_cos']
    """
    features = ["log_gap"]
    if reference:
        features += ["log_age", "log_recency"]
    for field in calendar:
        features += [f"{field}_sin", f"{field}_cos"]
    return features


# ----------------------------------------------------------- gaps and ages
def gaps(seconds: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Seconds since the previous event of the same sequence (0 for the
    first event of each sequence); negative where times go backwards.

    Examples
    --------
    >>> import numpy as np
    >>> gaps(np.array([0.0, 10.0, 70.0, 5.0]), np.array([0, 3, 4])).tolist()
    [0.0, 10.0, 60.0, 0.0]
    """
    lengths = np.diff(offsets)
    gap = np.diff(seconds, prepend=seconds[:1] if len(seconds) else seconds)
    gap[offsets[:-1][lengths > 0]] = 0.0
    return gap


def first_negative(values: np.ndarray) -> int | None:
    """Position of the first negative value (None: there is none)."""
    if np.any(values < 0):
        return int(np.flatnonzero(values < 0)[0])
    return None


def ages(
    ref_seconds: np.ndarray, seconds: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seconds from each event to its row's reference (``age``), from each
    non-empty row's last event to its reference (``last_age``), and the
    positions of the non-empty rows (``filled``).

    Examples
    --------
    >>> import numpy as np
    >>> age, last, filled = ages(np.array([100.0, 9.0]), np.array([0.0, 70.0]),
    ...                          np.array([0, 2, 2]))
    >>> age.tolist(), last.tolist(), filled.tolist()
    ([100.0, 30.0], [30.0], [0])
    """
    lengths = np.diff(offsets)
    age = np.repeat(ref_seconds, lengths)
    age -= seconds
    filled = np.flatnonzero(lengths > 0)
    last_age = age[offsets[1:][filled] - 1]  # rows are sorted by time
    return age, last_age, filled


# ----------------------------------------------------------------- calendar
def _local_ns(values: pa.Array) -> np.ndarray:
    """Datetimes as int64 nanoseconds of their wall-clock time (local time of
    a timezone-aware column), for calendar features."""
    t = values.type
    if pa.types.is_null(t):
        return np.zeros(len(values), dtype=np.int64)
    if pa.types.is_timestamp(t) and t.tz is not None:
        values = pc.local_timestamp(values)
    ns = pc.cast(values, pa.timestamp("ns"))
    return np.asarray(ns.cast(pa.int64()), dtype=np.int64)


def _calendar_fraction(local_ns: np.ndarray, field: str) -> np.ndarray:
    """Position of each time in the field's cycle, in [0, 1)."""
    if field == "hour":  # fractional hour of the day
        return np.mod(local_ns, _NS_PER_DAY) / _NS_PER_DAY
    if field == "dayofweek":  # Monday=0, as pandas; 1970-01-01 was a Thursday
        return np.mod(np.floor_divide(local_ns, _NS_PER_DAY) + 3, 7) / 7.0
    months = local_ns.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    return np.mod(months, 12) / 12.0  # month: January=0


def calendar_channels(
    values: pa.Array, fields: Sequence[str]
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """``(field, sin, cos)`` of each calendar field of flat datetimes, in
    their wall-clock time.

    Examples
    --------
    >>> import pyarrow as pa, pandas as pd
    >>> times = pa.array([pd.Timestamp("2024-01-01 06:00")])
    >>> [(f, round(float(s[0]), 3)) for f, s, c in calendar_channels(times, ["hour"])]
    [('hour', 1.0)]
    """
    local = _local_ns(values)
    for field in fields:
        angle = _calendar_fraction(local, field)
        angle *= 2 * np.pi
        yield field, np.sin(angle), np.cos(angle)


# --------------------------------------------------------- reading times
def epoch_to_datetime(values: pa.Array, unit: str, what: str) -> pa.Array:
    """Numbers counted in ``unit`` since 1970-01-01 as timezone-naive
    nanosecond timestamps; ValueError beyond the datetime64[ns] range.

    Examples
    --------
    >>> import pyarrow as pa
    >>> str(epoch_to_datetime(pa.array([86_400_000]), "ms", "t")[0])
    '1970-01-02 00:00:00'
    """
    if pa.types.is_null(values.type):
        return values
    factor = TIME_UNITS[unit]
    limit = np.iinfo(np.int64).max
    if pa.types.is_integer(values.type):
        raw = np.asarray(values.cast(pa.int64()), dtype=np.int64)
        fits = np.abs(raw) <= limit // factor
        ns = raw * factor if fits.all() else None
    else:
        scaled = np.asarray(values, dtype=np.float64) * factor
        fits = np.abs(scaled) < 2.0**63
        ns = np.round(scaled).astype(np.int64) if fits.all() else None
    if ns is None:
        bad = np.asarray(values)[~fits][0]
        raise ValueError(
            f"{what} holds {bad!r}, which as {unit!r} since 1970-01-01 is outside "
            "the range of datetimes (years 1677 to 2262). Check time_unit, or "
            "convert the column with pd.to_datetime."
        )
    return pa.array(ns, pa.timestamp("ns"))


def looks_iso(values: pa.Array) -> bool:
    """Whether flat strings are all ISO 8601 dates or timestamps."""
    t = values.type
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)) or not len(values):
        return False
    if not pc.all(pc.match_substring_regex(values, _ISO_START)).as_py():
        return False
    try:
        parse_iso(values, "")
    except ValueError:
        return False
    return True


def parse_iso(values: pa.Array, what: str) -> pa.Array:
    """ISO 8601 strings as Arrow timestamps (timezone-aware when they carry
    an offset); ValueError naming ``what`` when they do not parse."""
    if pa.types.is_null(values.type):
        return values
    strings = values.to_numpy(zero_copy_only=False)
    try:
        parsed = pd.to_datetime(strings, format="ISO8601")
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(
            f"{what} holds strings that are not ISO 8601 timestamps with one "
            f"timezone ({exc}). Convert it with pd.to_datetime (utc=True for "
            "mixed UTC offsets) before vectorizing."
        ) from None
    return pa.array(parsed)


def describe_time(t: pa.DataType, unit: str | None) -> str | None:
    """What a (read) time column holds, as compared between fit and
    transform; None for a column without values.

    Examples
    --------
    >>> import pyarrow as pa
    >>> describe_time(pa.timestamp("us", tz="Europe/Paris"), None)
    'datetimes in Europe/Paris'
    >>> describe_time(pa.int64(), "ms")
    "numbers ('ms' since 1970-01-01)"
    """
    if pa.types.is_null(t):
        return None
    if unit is not None and (pa.types.is_integer(t) or pa.types.is_floating(t)):
        return f"numbers ({unit!r} since 1970-01-01)"
    if is_datetime_type(t):
        tz = getattr(t, "tz", None)
        return "datetimes (timezone-naive)" if tz is None else f"datetimes in {tz}"
    if pa.types.is_duration(t):
        return "durations"
    return "numbers (seconds)"


def show_time(seconds: float, time_type: pa.DataType) -> object:
    """A time in seconds, shown like the time column's values."""
    if not is_datetime_type(time_type):
        return seconds
    tz = getattr(time_type, "tz", None)
    ns = pa.array([round(seconds * 1e9)], pa.int64())
    return ns.cast(pa.timestamp("ns", tz=tz))[0].as_py()
