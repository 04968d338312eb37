"""Reading event times without pandas or pyarrow: ISO 8601 strings,
datetimes, ``numpy.datetime64`` values and numbers, as integer nanoseconds
or float seconds, the way :class:`~seqestimators.SequenceVectorizer` reads
them (standard library and numpy only)."""

from __future__ import annotations

import datetime as _dt
import math
from numbers import Integral, Real

import numpy as np

__all__ = ["EventError", "calendar_fraction", "local_ns", "time_reader"]

_EPOCH = _dt.datetime(1970, 1, 1)
_NS_PER_DAY = 86_400 * 10**9
#: nanoseconds per unit of an epoch time column (as the vectorizer's)
_UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1, "D": _NS_PER_DAY}


class EventError(ValueError):
    """Raw events that cannot be encoded: a missing or mistyped column,
    unequal list lengths, out-of-order times, a category unseen in ``fit``
    with ``handle_unknown="error"``, ... The message says what was expected,
    what was received and where.

    Examples
    --------
    >>> issubclass(EventError, ValueError)
    True
    """


def _ns_of_datetime(value: _dt.datetime, aware: bool, where: str) -> int:
    """Nanoseconds since 1970-01-01: of the UTC instant for an aware
    datetime, of the wall-clock time for a naive one."""
    if (value.tzinfo is not None) != aware:
        want = "with a UTC offset (e.g. '2024-01-01T10:00:00Z')" if aware else (
            "without a UTC offset (e.g. '2024-01-01T10:00:00')")
        raise EventError(
            f"{where} holds {value.isoformat()!r}, but the model was fitted on "
            f"times {want}; send times of that kind."
        )
    if aware:
        try:
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
        except OverflowError:
            raise EventError(f"{where} holds {value.isoformat()!r}, outside the "
                             "range of datetimes.") from None
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def _parse_datetime(value, aware: bool, where: str) -> int:
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value)
        except ValueError:
            raise EventError(
                f"{where} holds {value!r}, which is not an ISO 8601 time (such "
                "as '2024-01-31T12:00:00'). Send ISO 8601 strings."
            ) from None
    elif isinstance(value, np.datetime64):
        if aware:
            raise EventError(
                f"{where} holds a numpy datetime64 {value!r}, which has no "
                "timezone, but the model was fitted on timezone-aware times; "
                "send ISO 8601 strings with a UTC offset."
            )
        return int(value.astype("datetime64[ns]").astype(np.int64))
    elif isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        value = _dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, _dt.datetime):
        raise EventError(
            f"{where} holds {type(value).__name__} {value!r}, but the model was "
            "fitted on datetimes; send ISO 8601 strings."
        )
    return _ns_of_datetime(value, aware, where)


def _number(value, where: str) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise EventError(
            f"{where} holds {type(value).__name__} {value!r}, but the model was "
            "fitted on numeric times; send numbers."
        )
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise EventError(f"{where} holds {value!r}; times must be finite numbers.")
    return number


def _epoch_ns(value, factor: int, where: str) -> int:
    number = _number(value, where)
    if isinstance(value, Integral):
        ns = int(value) * factor
    else:
        ns = round(number * factor)
    if abs(ns) >= 2**63:
        raise EventError(
            f"{where} holds {value!r}, which is outside the range of datetimes "
            "(years 1677 to 2262) in the model's time unit."
        )
    return ns


def time_reader(kind: str, unit: str | None):
    """A function ``read(value, where) -> (seconds, ns)`` for the times of a
    time column that held ``kind`` in ``fit``: ``"seconds"`` (plain
    numbers: ``ns`` is None), ``"epoch"`` (numbers in ``unit`` since
    1970-01-01), ``"naive"`` or ``"aware"`` (datetimes).

    Examples
    --------
    >>> read = time_reader("naive", None)
    >>> read("1970-01-02T00:00:00", "t")
    (86400.0, 86400000000000)
    >>> time_reader("epoch", "ms")(1500, "t")
    (1.5, 1500000000)
    """
    if kind == "seconds":
        return lambda value, where: (_number(value, where), None)
    if kind == "epoch":
        factor = _UNITS[unit]

        def read_epoch(value, where):
            ns = _epoch_ns(value, factor, where)
            return ns / 1e9, ns

        return read_epoch
    aware = kind == "aware"

    def read_datetime(value, where):
        ns = _parse_datetime(value, aware, where)
        return ns / 1e9, ns

    return read_datetime


def calendar_fraction(local_ns: np.ndarray, field: str) -> np.ndarray:
    """Position of each wall-clock time (int64 nanoseconds) in the cycle of
    ``field`` ("hour", "dayofweek" or "month"), in [0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> calendar_fraction(np.array([6 * 3600 * 10**9]), "hour").tolist()
    [0.25]
    """
    if field == "hour":
        return np.mod(local_ns, _NS_PER_DAY) / _NS_PER_DAY
    if field == "dayofweek":  # Monday=0; 1970-01-01 was a Thursday
        return np.mod(np.floor_divide(local_ns, _NS_PER_DAY) + 3, 7) / 7.0
    months = local_ns.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    return np.mod(months, 12) / 12.0


def _zone(tz: str):
    """A tzinfo for a pyarrow timezone name: a fixed offset ('+01:00') or
    an IANA zone ('Europe/Paris', 'UTC')."""
    if tz and tz[0] in "+-" and len(tz) == 6 and tz[3] == ":":
        sign = 1 if tz[0] == "+" else -1
        minutes = sign * (int(tz[1:3]) * 60 + int(tz[4:6]))
        return _dt.timezone(_dt.timedelta(minutes=minutes))
    import zoneinfo

    return zoneinfo.ZoneInfo(tz)


def local_ns(utc_ns: np.ndarray, tz: str | None) -> np.ndarray:
    """Wall-clock nanoseconds in ``tz`` of UTC instants (int64
    nanoseconds); ``tz`` None returns them unchanged (naive times).

    Examples
    --------
    >>> import numpy as np
    >>> local_ns(np.array([0]), "+01:00").tolist()
    [3600000000000]
    """
    if tz is None or not len(utc_ns):
        return utc_ns
    zone = _zone(tz)
    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
    offsets = [
        (epoch + _dt.timedelta(microseconds=int(ns) // 1000)).astimezone(zone)
        .utcoffset() // _dt.timedelta(microseconds=1) * 1000
        for ns in utc_ns
    ]
    return utc_ns + np.asarray(offsets, dtype=np.int64)
