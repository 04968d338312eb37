"""The one copy of the rules for time columns and durations.

- :func:`as_time`: an ordering column as times. Datetimes and numbers are
  used as they are; text is parsed when it is unambiguous ISO 8601 and
  refused otherwise. Time is never ordered as text ("10:00" < "9:00").
- :func:`positive_duration`: a window length or an inactivity gap in the unit
  of the times. With datetime times it must carry its unit ("30D",
  ``pd.Timedelta(days=30)``): a plain number is refused, as pandas would read
  it as nanoseconds. With numeric times it is a plain number in their unit.
"""

from __future__ import annotations

import datetime
import numbers

import numpy as np
import pandas as pd

__all__ = ["as_time", "positive_duration"]

# a UTC offset ("Z", "+02:00", "-0500", "+01") after the time of day
_UTC_OFFSET = r"[T ]\d[\d:.,]*\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)\s*$"

_PARSE_HINT = (
    "Time is never ordered as text; parse the column first, e.g. "
    "events[{name!r}] = pd.to_datetime(events[{name!r}], format='%d/%m/%Y "
    "%H:%M') with the format of your data (or pd.to_numeric(...) for numbers "
    "stored as text)."
)


def _is_text(key: pd.Series) -> bool:
    if isinstance(key.dtype, pd.CategoricalDtype):
        return key.dtype.categories.inferred_type == "string"
    if not (key.dtype == object or pd.api.types.is_string_dtype(key.dtype)):
        return False
    return pd.api.types.infer_dtype(key, skipna=True) == "string"


def as_time(key: pd.Series, name) -> pd.Series:
    """The ordering column ``key`` as times that order correctly.

    Datetime and numeric columns come back unchanged. A column of text is
    parsed with ``pd.to_datetime(key, format="ISO8601")``; text with several
    UTC offsets (a log spanning a daylight-saving change) is converted to UTC.
    Text that is not ISO 8601, or that mixes times with and without a UTC
    offset, is refused with an error that says how to parse it. ``key`` must
    not hold missing values (checked by the callers).

    Examples
    --------
    >>> import pandas as pd
    >>> as_time(pd.Series(["2024-01-02", "2024-01-01T10:00"]), "t").tolist()
    [Timestamp('2024-01-02 00:00:00'), Timestamp('2024-01-01 10:00:00')]
    >>> as_time(pd.Series(["2024-03-31T03:30+02:00", "2024-03-31T01:30+01:00"]),
    ...         "t").tolist()
    [Timestamp('2024-03-31 01:30:00+0000', tz='UTC'), Timestamp('2024-03-31 00:30:00+0000', tz='UTC')]
    """  # noqa: E501
    if not _is_text(key):
        return key
    try:
        parsed = pd.to_datetime(key, format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        parsed = None
    if parsed is not None:
        return _all_parsed(parsed, key, name)
    try:  # several UTC offsets only parse to UTC
        utc = pd.to_datetime(key, format="ISO8601", utc=True)
    except (ValueError, TypeError, OverflowError):
        raise _not_iso_error(key, name) from None
    has_offset = key.str.contains(_UTC_OFFSET, regex=True).to_numpy(dtype=bool)
    if not has_offset.all():
        with_offset = key.iloc[int(np.flatnonzero(has_offset)[0])]
        without = key.iloc[int(np.flatnonzero(~has_offset)[0])]
        raise ValueError(
            f"Ordering column {name!r} mixes times with a UTC offset (such as "
            f"{with_offset!r}) and times without one (such as {without!r}), so "
            "their order is ambiguous. Parse the column with the time zone you "
            f"mean, e.g. pd.to_datetime(events[{name!r}], format='ISO8601', "
            "utc=True) if times without an offset are in UTC."
        )
    return _all_parsed(utc, key, name)


def _all_parsed(parsed: pd.Series, key: pd.Series, name) -> pd.Series:
    """``parsed``, unless some text (``""``, ``"NaT"``) parsed to no time."""
    missing = parsed.isna().to_numpy()
    if missing.any():
        bad = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"Ordering column {name!r} holds text, and {key.iloc[bad]!r} (row "
            f"position {bad}) is not a time. Drop or fill such rows before "
            "ordering events."
        )
    return parsed


def _not_iso_error(key: pd.Series, name) -> ValueError:
    coerced = pd.to_datetime(key, format="ISO8601", utc=True, errors="coerce")
    failed = np.flatnonzero(coerced.isna().to_numpy())
    which = ""
    if failed.size:
        which = f" {key.iloc[int(failed[0])]!r} (row position {int(failed[0])}) is"
        which = f", and{which} not an ISO 8601 time"
    return ValueError(
        f"Ordering column {name!r} holds text{which}. " + _PARSE_HINT.format(name=name)
    )


# --------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------
def _is_plain_number(value) -> bool:
    """A number without a unit: int, float, bool, numeric text, or a
    ``np.timedelta64`` of the generic unit."""
    if isinstance(value, np.timedelta64):  # (a numpy integer subclass)
        return np.datetime_data(value.dtype)[0] == "generic"
    if isinstance(value, numbers.Number | np.bool_):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def _as_keywords(example: str) -> str:
    """``"30D"`` as ``"days=30"``: the pd.Timedelta keywords of ``example``."""
    seconds = pd.Timedelta(example).total_seconds()
    for unit, size in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if seconds % size == 0:
            return f"{unit}={int(seconds // size)}"
    return f"seconds={seconds:g}"


def positive_duration(value, times: pd.Series, name: str, example: str):
    """``value`` as a positive duration in the unit of ``times``.

    With datetime times: a ``pd.Timedelta`` from a string with a unit
    (``"30D"``, ``"30min"``), a ``pd.Timedelta``, ``datetime.timedelta`` or
    ``np.timedelta64`` with a unit; a plain number is refused. With numeric
    times: a positive number, in the unit of the times. ``name`` and
    ``example`` (a duration string) appear in the error messages.

    Examples
    --------
    >>> import pandas as pd
    >>> positive_duration("30D", pd.Series(pd.to_datetime(["2024-01-01"])),
    ...                   "horizon", "30D")
    Timedelta('30 days 00:00:00')
    >>> positive_duration(1800, pd.Series([0, 60]), "gap", "30min")
    1800
    """
    if pd.api.types.is_datetime64_any_dtype(times):
        return _positive_timedelta(value, name, example)
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a positive number in the unit of the time column, "
            f"which holds numbers; got {value!r}. A duration such as {example!r} "
            "needs datetime times: convert them first, e.g. with "
            "pd.to_datetime(events['timestamp'], unit='s') for epoch seconds."
        )
    if not value > 0:
        raise ValueError(f"{name} must be positive; got {value!r}.")
    return value


def _seconds_hint(value, name: str) -> str:
    """``"; for 1800 seconds, gap='1800s'"`` (nothing for a bool)."""
    if isinstance(value, bool | np.bool_):
        return ""
    if isinstance(value, np.timedelta64):
        value = int(value.astype(np.int64))
    number = str(value).strip()
    return f"; for {number} seconds, {name}='{number}s'"


def _positive_timedelta(value, name: str, example: str) -> pd.Timedelta:
    if _is_plain_number(value):
        raise TypeError(
            f"{name}={value!r} is a plain number, but the times are datetimes, so "
            "its unit is unknown (pandas would read it as nanoseconds). Pass a "
            f"duration with its unit, such as {name}={example!r} or "
            f"{name}=pd.Timedelta({_as_keywords(example)})"
            f"{_seconds_hint(value, name)}."
        )
    if not isinstance(value, str | pd.Timedelta | datetime.timedelta | np.timedelta64):
        raise TypeError(
            f"{name} must be a duration such as {example!r} or a pd.Timedelta for "
            f"datetime times; got {value!r}."
        )
    try:
        duration = pd.Timedelta(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a duration such as {example!r} for datetime "
            f"times; got {value!r}."
        ) from None
    if duration is pd.NaT:
        raise ValueError(
            f"{name} is missing (NaT); pass a duration such as {example!r}."
        )
    if duration <= pd.Timedelta(0):
        raise ValueError(f"{name} must be positive; got {value!r}.")
    return duration
