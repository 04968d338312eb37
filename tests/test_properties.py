"""Property-based tests of to_sequences and SequenceVectorizer (hypothesis).

Every generated input either gives the output a plain-Python reference
computes (shapes, lengths, order, ids, scaling, padding) or raises one of the
documented exception types (ValueError, TypeError) with a message that names
the problem; the input is never modified.

Runs use the ``seqestimators-ci`` profile: 300 examples per property,
derandomized (the same examples on every run) and without an example
database. ``SEQESTIMATORS_HYPOTHESIS_PROFILE=seqestimators-explore`` runs
3,000 random examples per property instead (see docs/reliability.md).
"""

from __future__ import annotations

import collections
import math
import os
import pickle
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqestimators import (
    SequenceVectorizer,
    make_window_labels,
    split_sessions,
    to_sequences,
)

# On a failure, hypothesis' pytest plugin imports libcst (to suggest a patch),
# whose import raises a DeprecationWarning that pyproject's filterwarnings
# turns into an INTERNALERROR hiding the failure; import it here, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:  # pragma: no cover - libcst not installed
        pass

_COMMON = dict(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
settings.register_profile(
    "seqestimators-ci", max_examples=300, derandomize=True, **_COMMON
)
settings.register_profile("seqestimators-explore", max_examples=3000, **_COMMON)
PROFILE = settings.get_profile(
    os.environ.get("SEQESTIMATORS_HYPOTHESIS_PROFILE", "seqestimators-ci")
)

#: examples run per property (counted in the test bodies, reported at the end)
EXAMPLES: collections.Counter = collections.Counter()
#: of which ended in a documented error
ERRORS: collections.Counter = collections.Counter()
#: of which were not applicable (returned early, nothing checked)
SKIPPED: collections.Counter = collections.Counter()

T0 = pd.Timestamp("2024-01-01")

# unicode: any plane, combining marks, control characters, the empty string
# (lone surrogates are excluded: pandas itself cannot store them)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=5)
EXTREME_FLOATS = st.sampled_from(
    [0.0, -0.0, 1.0, 5e-324, -5e-324, 1e-300, 1e300, -1e300, 1.7e308, -1.7e308]
)


def _snapshot(frame: pd.DataFrame):
    """Index, dtypes and every cell of a frame, lists in object cells too
    (Arrow arrays are immutable: kept as they are)."""
    columns = {}
    for col in frame.columns:
        series = frame[col]
        if isinstance(series.dtype, pd.ArrowDtype):
            columns[col] = _buffers(pa.array(series.array))
        else:
            columns[col] = [pickle.dumps(v) for v in series]
    return list(frame.index), frame.dtypes.astype(str).tolist(), columns


def _buffers(arr) -> list:
    """Where an Arrow array's memory lies (Arrow memory is immutable: the same
    buffers hold the same values)."""
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    return [
        (b.address, b.size) if b is not None else None
        for chunk in chunks
        for b in chunk.buffers()
    ]


def _unchanged(frame: pd.DataFrame, snapshot) -> bool:
    return _snapshot(frame) == snapshot


def _documented(exc: Exception, *needles: str) -> None:
    """A documented error type, with a message naming what is wrong."""
    assert isinstance(exc, ValueError | TypeError), repr(exc)
    message = str(exc)
    assert len(message) > 30, message
    assert any(n in message for n in needles), message


# --------------------------------------------------------------------------
# to_sequences
# --------------------------------------------------------------------------
@st.composite
def event_logs(draw, ties=True):
    n = draw(st.integers(1, 14))
    kind = draw(st.sampled_from(["int", "str"]))
    if kind == "int":
        ids = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    else:
        pool = draw(st.lists(TEXT, min_size=1, max_size=4, unique=True))
        ids = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    time_kinds = ["int", "float", "datetime", "tz"]
    time_kind = draw(st.sampled_from(time_kinds + ["none"] if ties else time_kinds))
    if ties:
        ticks = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    else:
        ticks = draw(st.lists(st.integers(0, 99), min_size=n, max_size=n, unique=True))
    if time_kind == "float":
        floats = st.one_of(EXTREME_FLOATS, st.floats(-10, 10))
        times = draw(st.lists(floats, min_size=n, max_size=n, unique=not ties))
    elif time_kind == "datetime":
        times = [T0 + pd.Timedelta(seconds=k) for k in ticks]
    elif time_kind == "tz":
        start = pd.Timestamp("2024-03-31 01:00", tz="Europe/Paris")
        times = [start + pd.Timedelta(hours=k) for k in ticks]
    else:
        times = ticks
    # a missing entity or time value now and then: a documented error
    hole = draw(st.sampled_from([None] * 8 + ["user", "t"])) if ties else None
    if hole is not None:
        at = draw(st.integers(0, n - 1))
        target = ids if hole == "user" else times
        target[at] = None
    events = pd.DataFrame(
        {
            "user": ids,
            "t": times,
            "event": draw(st.lists(TEXT, min_size=n, max_size=n)),
            "item": draw(
                st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n)
            ),
            "price": draw(
                st.lists(
                    st.one_of(
                        EXTREME_FLOATS,
                        st.floats(allow_nan=True, allow_infinity=True),
                    ),
                    min_size=n,
                    max_size=n,
                )
            ),
            "flag": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        }
    )
    if draw(st.booleans()):
        events = events.convert_dtypes(dtype_backend="pyarrow")
    order_by = None if time_kind == "none" else "t"
    columns = draw(
        st.one_of(
            st.none(),
            st.lists(
                st.sampled_from(["t", "event", "item", "price", "flag"]),
                min_size=1,
                unique=True,
            ),
        )
    )
    return events, order_by, columns


def _plain(value):
    """A Python value; missing (None, NaN, NA) as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _same(a, b) -> bool:
    a, b = _plain(a), _plain(b)
    if isinstance(a, pd.Timestamp) or isinstance(b, pd.Timestamp):
        return a is not None and b is not None and pd.Timestamp(a) == pd.Timestamp(b)
    return (
        a == b
        and type(a) is type(b)
        or (isinstance(a, float) and isinstance(b, float) and a == b)
    )


@settings(PROFILE)
@given(event_logs())
def test_to_sequences_groups_and_orders_like_a_stable_sort(case):
    EXAMPLES["to_sequences"] += 1
    events, order_by, columns = case
    before = _snapshot(events)
    try:
        seqs = to_sequences(events, by="user", order_by=order_by, columns=columns)
    except (ValueError, TypeError) as exc:
        ERRORS["to_sequences"] += 1
        _documented(exc, "missing values")
        assert events["user"].isna().any() or events["t"].isna().any()
        assert _unchanged(events, before)
        return
    assert _unchanged(events, before)
    assert not events["user"].isna().any()
    assert order_by is None or not events["t"].isna().any()

    # the reference: positions of each entity, stable-sorted by time
    ids = [_plain(v) for v in events["user"]]
    entities = sorted(set(ids))
    assert [_plain(v) for v in seqs.index] == entities
    assert seqs.index.name == "user"
    expected_columns = columns or ["t", "event", "item", "price", "flag"]
    assert list(seqs.columns) == expected_columns
    times = [_plain(v) for v in events["t"]]
    for col in expected_columns:
        assert isinstance(seqs[col].dtype, pd.ArrowDtype)
        lists = pa.array(seqs[col].array).to_pylist()
        values = list(events[col])
        for entity, got in zip(entities, lists):
            rows = [i for i, v in enumerate(ids) if v == entity]
            if order_by is not None:
                rows.sort(key=lambda i: times[i])
            want = [values[i] for i in rows]
            assert len(got) == len(want)
            assert all(_same(g, w) for g, w in zip(got, want)), (col, got, want)


@settings(PROFILE)
@given(event_logs(ties=False), st.randoms(use_true_random=False))
def test_to_sequences_ignores_row_order_when_keys_are_unique(case, rnd):
    EXAMPLES["to_sequences (shuffled)"] += 1
    events, order_by, columns = case
    if order_by is None or events[["user", "t"]].isna().any().any():
        SKIPPED["to_sequences (shuffled)"] += 1
        return  # order then depends on the input (documented)
    if events.duplicated(subset=["user", "t"]).any():
        SKIPPED["to_sequences (shuffled)"] += 1
        return  # ties (-0.0 and 0.0) keep the input order (tested above)
    rows = list(range(len(events)))
    rnd.shuffle(rows)
    shuffled = events.iloc[rows].reset_index(drop=True)
    a = to_sequences(events, by="user", order_by="t", columns=columns)
    b = to_sequences(shuffled, by="user", order_by="t", columns=columns)
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------
# time columns: never ordered as text; durations: never a unit guessed
# --------------------------------------------------------------------------
#: UTC offsets (minutes) of an "aware" ISO column
OFFSETS = st.sampled_from([0, 60, 120, -300, 330, -600])


def _iso(instant: pd.Timestamp, offset: int | None, draw) -> str:
    """``instant`` (naive = UTC) as ISO 8601 text in a random style."""
    local = instant + pd.Timedelta(minutes=offset or 0)
    sep = draw(st.sampled_from(["T", " "]))
    if local.microsecond:  # milliseconds, written with 3 or 6 digits
        clock = local.strftime("%H:%M:%S.%f")[: draw(st.sampled_from([12, 15]))]
    elif local.second:
        clock = local.strftime("%H:%M:%S")
    else:
        clock = local.strftime(draw(st.sampled_from(["%H:%M", "%H:%M:%S"])))
    if offset is None:
        if clock.startswith("00:00") and not local.second and not local.microsecond:
            if draw(st.booleans()):
                return local.strftime("%Y-%m-%d")
        return local.strftime("%Y-%m-%d") + sep + clock
    if offset == 0 and draw(st.booleans()):
        suffix = "Z"
    else:
        sign = "+" if offset >= 0 else "-"
        hours, minutes = divmod(abs(offset), 60)
        colon = draw(st.sampled_from([":", ""]))
        suffix = f"{sign}{hours:02d}{colon}{minutes:02d}"
    return local.strftime("%Y-%m-%d") + "T" + clock + suffix


@st.composite
def timed_logs(draw):
    """A log whose true times are known, written as ISO text, datetimes or
    numbers, rows in random order."""
    n = draw(st.integers(1, 12))
    users = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    # milliseconds over a few days: dates, hours and sub-seconds all vary
    ms = draw(
        st.lists(
            st.one_of(
                st.integers(0, 3 * 86_400_000),
                st.integers(0, 3).map(lambda d: d * 86_400_000),  # midnights
            ),
            min_size=n,
            max_size=n,
        )
    )
    instants = [T0 + pd.Timedelta(milliseconds=m) for m in ms]
    kind = draw(st.sampled_from(["iso", "iso-aware", "datetime", "tz", "int", "float"]))
    if kind == "iso":
        times = [_iso(t, None, draw) for t in instants]
    elif kind == "iso-aware":
        offsets = draw(st.lists(OFFSETS, min_size=n, max_size=n))
        times = [_iso(t, o, draw) for t, o in zip(instants, offsets)]
    elif kind == "datetime":
        times = pd.to_datetime(instants)
    elif kind == "tz":
        times = pd.DatetimeIndex(instants).tz_localize("UTC").tz_convert("Asia/Kolkata")
    elif kind == "int":
        times = ms
    else:
        times = [m / 1000.0 for m in ms]
    dtype = draw(st.sampled_from([None, object, "category"])) if "iso" in kind else None
    events = pd.DataFrame(
        {
            "user": users,
            "t": pd.Series(times, dtype=dtype) if dtype else times,
            "pos": np.arange(n),
        }
    )
    return events, ms, kind


@settings(PROFILE)
@given(timed_logs())
def test_to_sequences_orders_time_in_true_time_order(case):
    """ISO text, datetimes and numbers give sequences in true time order; the
    time column comes back as datetimes (text parsed) or as the numbers."""
    EXAMPLES["to_sequences (time kinds)"] += 1
    events, ms, kind = case
    before = _snapshot(events)
    seqs = to_sequences(events, by="user", order_by="t")
    assert _unchanged(events, before)
    rows = sorted(range(len(ms)), key=lambda i: (events["user"][i], ms[i]))
    flat_pos = [p for cell in seqs["pos"] for p in cell]
    assert flat_pos == rows  # stable: ties keep the input order
    value_type = seqs["t"].dtype.pyarrow_dtype.value_type
    flat_t = [v for cell in seqs["t"] for v in cell]
    if kind in ("int", "float"):
        assert not pa.types.is_timestamp(value_type)
        assert flat_t == [events["t"][i] for i in rows]
        return
    assert pa.types.is_timestamp(value_type), value_type
    true = [T0 + pd.Timedelta(milliseconds=ms[i]) for i in rows]
    if value_type.tz is not None:
        true = [t.tz_localize("UTC") for t in true]
    assert [pd.Timestamp(v) for v in flat_t] == true


ISO_TEXT = st.integers(0, 10**6).map(
    lambda s: (T0 + pd.Timedelta(seconds=s)).isoformat()
)


@st.composite
def text_times(draw):
    """ISO text (two thirds of the examples) or ISO text mixed with any text."""
    n = draw(st.integers(1, 6))
    if draw(st.sampled_from(["iso", "iso", "any"])) == "iso":
        return draw(st.lists(ISO_TEXT, min_size=n, max_size=n))
    return draw(st.lists(st.one_of(ISO_TEXT, TEXT), min_size=n, max_size=n))


@settings(PROFILE)
@given(text_times(), st.booleans())
def test_text_times_are_parsed_or_refused_never_sorted_as_text(texts, categorical):
    """Any text as times: parsed to datetimes (ordered as time) or refused
    with a message that says how to parse it."""
    EXAMPLES["to_sequences (text times)"] += 1
    events = pd.DataFrame({"user": 1, "t": texts, "pos": np.arange(len(texts))})
    if categorical:
        events["t"] = events["t"].astype("category")
    try:
        seqs = to_sequences(events, by="user", order_by="t")
    except ValueError as exc:
        ERRORS["to_sequences (text times)"] += 1
        _documented(exc, "pd.to_datetime", "is not a time", "UTC offset")
        return
    assert pa.types.is_timestamp(seqs["t"].dtype.pyarrow_dtype.value_type)
    flat = [pd.Timestamp(v) for v in seqs["t"].iloc[0]]
    assert flat == sorted(pd.to_datetime(pd.Series(texts), format="ISO8601"))


PLAIN_NUMBERS = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.integers(-(2**31), 2**31 - 1).map(np.int64),
    st.floats(-1e9, 1e9).map(np.float32),
    st.integers(0, 10**6).map(str),
    st.floats(0, 1e6).map(repr),
    st.integers(0, 10**6).map(np.timedelta64),  # no unit: generic
)
DATETIME_TIMES = st.sampled_from(["naive", "tz", "iso"])


def _datetime_log(kind: str) -> pd.DataFrame:
    times = pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-09"])
    if kind == "tz":
        times = times.tz_localize("Europe/Paris")
    elif kind == "iso":
        times = [t.isoformat() for t in times]
    return pd.DataFrame({"user_id": [1, 1, 2], "timestamp": times})


@settings(PROFILE)
@given(PLAIN_NUMBERS, DATETIME_TIMES, st.sampled_from(["horizon", "gap"]))
def test_a_plain_number_with_datetime_times_always_raises(value, kind, which):
    EXAMPLES["durations (plain numbers)"] += 1
    events = _datetime_log(kind)
    with pytest.raises(TypeError, match="is a plain number") as info:
        if which == "gap":
            split_sessions(events, value)
        else:
            make_window_labels(events, "2024-01-02", value)
    example = "'30min'" if which == "gap" else "'30D'"
    assert f"{which}={example}" in str(info.value)
    assert "pd.Timedelta(" in str(info.value)


@settings(PROFILE)
@given(
    st.lists(st.integers(0, 10_000), min_size=1, max_size=10),
    st.integers(1, 3_000),
    st.sampled_from(["s", "min", "text", "timedelta"]),
)
def test_durations_with_units_match_numbers_in_that_unit(seconds, gap, form):
    """Datetime times with a duration give the sessions that epoch seconds
    with the same number of seconds give."""
    EXAMPLES["durations (with units)"] += 1
    gap_s = gap * 60 if form == "min" else gap
    duration = {
        "s": f"{gap}s",
        "min": f"{gap}min",
        "text": pd.Timedelta(seconds=gap).isoformat(),  # "P0DT0H30M0S"
        "timedelta": pd.Timedelta(seconds=gap),
    }[form]
    numeric = pd.DataFrame({"user_id": 1, "timestamp": seconds})
    dated = numeric.assign(timestamp=T0 + pd.to_timedelta(numeric["timestamp"], "s"))
    want = split_sessions(numeric, gap_s)["session_id"].tolist()
    assert split_sessions(dated, duration)["session_id"].tolist() == want


# --------------------------------------------------------------------------
# SequenceVectorizer
# --------------------------------------------------------------------------
@st.composite
def pools(draw):
    """Values the sequences are drawn from (few, so categories repeat)."""
    finite = st.one_of(EXTREME_FLOATS, st.floats(-1e6, 1e6))
    price = draw(st.lists(finite, min_size=1, max_size=4))
    if draw(st.integers(0, 9)) == 0:  # NaN or infinity: documented errors
        price.append(draw(st.sampled_from([np.nan, np.inf, -np.inf])))
    return {
        "event": draw(st.lists(TEXT, min_size=1, max_size=4, unique=True)),
        "item": draw(
            st.lists(
                st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=4, unique=True
            )
        ),
        "flag": draw(st.sampled_from([[True], [False], [True, False]])),
        "price": price,
    }


@st.composite
def sequence_frames(draw, pool):
    n = draw(st.integers(1, 6))
    short, long = st.integers(0, 5), st.integers(200, 2000)
    lengths = draw(
        st.lists(st.one_of(short, short, short, short, long), min_size=n, max_size=n)
    )
    rng = np.random.RandomState(draw(st.integers(0, 2**32 - 1)))
    data = {}
    for col, values in pool.items():
        values = np.asarray(values, dtype=object if col == "event" else None)
        data[col] = [values[rng.randint(0, len(values), L)] for L in lengths]
    # non-decreasing times with duplicates (gaps of 0 seconds)
    seconds = [np.cumsum(rng.randint(0, 3, L)) * 7 for L in lengths]
    as_datetime = draw(st.booleans())
    data["t"] = [
        T0 + pd.to_timedelta(s, unit="s") if as_datetime else s for s in seconds
    ]
    index = pd.Index(
        draw(st.lists(st.one_of(st.integers(), TEXT), min_size=n, max_size=n)),
        name="user",
    )
    form = draw(st.sampled_from(["lists", "arrays", "arrow"]))
    columns = {}
    for col, cells in data.items():
        if form == "arrays":
            columns[col] = pd.Series([np.asarray(c) for c in cells], index=index)
            continue
        if col == "t" and as_datetime:
            cells = [list(c) for c in cells]  # pandas Timestamps
        else:
            cells = [np.asarray(c).tolist() for c in cells]
        if form == "arrow":
            arr = pa.array(cells, type=pa.large_list(_ARROW_TYPES[col](as_datetime)))
            columns[col] = pd.Series(pd.arrays.ArrowExtensionArray(arr), index=index)
        else:
            columns[col] = pd.Series(cells, index=index, dtype=object)
    return pd.DataFrame(columns, index=index), {"seconds": seconds, **data}


_ARROW_TYPES = {
    "event": lambda dt: pa.string(),
    "item": lambda dt: pa.int64(),
    "flag": lambda dt: pa.bool_(),
    "price": lambda dt: pa.float64(),
    "t": lambda dt: pa.timestamp("ns") if dt else pa.int64(),
}


@st.composite
def vectorizer_cases(draw):
    pool = draw(pools())
    fit_frame, fit_raw = draw(sequence_frames(pool))
    # transform: the same pools, new ones (all-unknown tokens) or a mix
    other = draw(st.sampled_from(["same", "new", "mixed"]))
    if other != "same":
        extra = draw(pools())
        pool = extra if other == "new" else {k: pool[k] + extra[k] for k in pool}
    frame, raw = draw(sequence_frames(pool))
    params = dict(
        time=draw(st.sampled_from(["t", None])),
        max_len=draw(st.sampled_from([None, 1, 2, 5, 300])),
        min_frequency=draw(st.sampled_from([1, 1, 2, 0.25])),
        max_categories=draw(st.sampled_from([None, None, 1, 3])),
        handle_unknown=draw(st.sampled_from(["ignore"] * 4 + ["error"])),
    )
    row = draw(st.integers(0, len(frame) - 1))
    return fit_frame, fit_raw, frame, raw, params, row


CATEGORICAL = ["event", "item", "flag"]


def _kept(cells, max_len):
    return [c if max_len is None or len(c) <= max_len else c[-max_len:] for c in cells]


def _gaps(seconds, max_len):
    gaps = [np.log1p(np.diff(s, prepend=s[:1]).astype(np.float64)) for s in seconds]
    return np.concatenate(_kept(gaps, max_len) or [np.zeros(0)])


def _reference_vocabulary(cells, max_len, min_frequency, max_categories):
    values = [
        v.item() if isinstance(v, np.generic) else v
        for c in _kept(cells, max_len)
        for v in c
    ]
    counts = collections.Counter(values)
    threshold = min_frequency
    if isinstance(min_frequency, float):
        threshold = min_frequency * len(values)
    kept = [(v, k) for v, k in counts.items() if k >= threshold]
    kept.sort(key=lambda vk: (-vk[1], vk[0]))
    return [v for v, _ in kept][:max_categories]


def _numeric_columns(raw, max_len, time):
    price = np.concatenate(
        [np.asarray(c, dtype=np.float64) for c in _kept(raw["price"], max_len)]
        or [np.zeros(0)]
    )
    columns = [price]
    if time is not None:
        columns.append(_gaps(raw["seconds"], max_len))
    return np.column_stack(columns)


def _reference_stats(block):
    """Mean and scale, computed on values divided by their peak (no
    overflow); a standard deviation at rounding level means a constant."""
    if not len(block):
        return np.zeros(block.shape[1]), np.ones(block.shape[1])
    peak = np.abs(block).max(axis=0)
    peak = np.where(peak > 0, peak, 1.0)
    unit = block / peak
    mean, std = unit.mean(axis=0) * peak, unit.std(axis=0) * peak
    eps = np.finfo(float).eps
    n = len(block)
    constant = (std <= 1e-12) | (std <= np.sqrt(n * eps) * std + n * eps * abs(mean))
    return mean, np.where(constant, 1.0, std)


def _has(cells, test, max_len=None) -> bool:
    cells = [np.asarray(c, dtype=np.float64) for c in cells]
    return any(test(c).any() for c in _kept(cells, max_len))


def _reference_outcome(fit_raw, raw, params) -> str | None:
    """The documented error the reference expects (a part of its message),
    in the order the checks run, or None."""
    max_len = params["max_len"]
    # fit: NaN is rejected when a column is read, infinity among kept events
    if _has(fit_raw["price"], np.isnan):
        return "a list holds a missing value"
    if _has(fit_raw["price"], np.isinf, max_len):
        return "holds infinite values"
    # transform: reading, then categorical encoding, then numeric channels
    if _has(raw["price"], np.isnan):
        return "a list holds a missing value"
    if params["handle_unknown"] == "error":
        for col in CATEGORICAL:
            vocab = set(
                _reference_vocabulary(
                    fit_raw[col],
                    max_len,
                    params["min_frequency"],
                    params["max_categories"],
                )
            )
            if any(v not in vocab for c in _kept(raw[col], max_len) for v in c):
                return "has categories unseen in fit"
    if _has(raw["price"], np.isinf, max_len):
        return "holds infinite values"
    mean, scale = _reference_stats(_numeric_columns(fit_raw, max_len, params["time"]))
    with np.errstate(over="ignore"):
        z = _numeric_columns(raw, max_len, params["time"]) / scale - mean / scale
        if not (np.abs(z) <= np.finfo(np.float32).max).all():
            return "too large to standardize"
    return None


@settings(PROFILE)
@given(vectorizer_cases())
def test_vectorizer_matches_a_reference_implementation(case):
    EXAMPLES["SequenceVectorizer"] += 1
    fit_frame, fit_raw, frame, raw, params, row = case
    snapshots = _snapshot(fit_frame), _snapshot(frame)

    def unchanged():
        return _unchanged(fit_frame, snapshots[0]) and _unchanged(frame, snapshots[1])

    vec = SequenceVectorizer(categorical=CATEGORICAL, numeric=["price"], **params)
    expected_error = _reference_outcome(fit_raw, raw, params)
    max_len = params["max_len"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow warnings either
            vec.fit(fit_frame)
            Xt = vec.transform(frame)
    except (ValueError, TypeError) as exc:
        ERRORS["SequenceVectorizer"] += 1
        assert expected_error is not None, repr(exc)
        _documented(exc, expected_error)
        assert unchanged()
        return
    assert expected_error is None
    assert unchanged()

    # vocabularies: frequency descending, ties by value, value types kept
    for col in CATEGORICAL:
        want = _reference_vocabulary(
            fit_raw[col], max_len, params["min_frequency"], params["max_categories"]
        )
        got = vec.vocabularies_[col].tolist()
        assert got == want
        assert [type(v) for v in got] == [type(v) for v in want]
    assert vec.cardinalities_ == [len(vec.vocabularies_[c]) + 2 for c in CATEGORICAL]

    # lengths and offsets
    lengths = np.array([len(c) for c in raw["event"]])
    kept = lengths if max_len is None else np.minimum(lengths, max_len)
    np.testing.assert_array_equal(Xt.lengths, kept)
    np.testing.assert_array_equal(Xt.offsets, np.concatenate([[0], np.cumsum(kept)]))
    assert Xt.index.equals(frame.index)

    # ids: position in the vocabulary + 2, unknown 1
    for j, col in enumerate(CATEGORICAL):
        lookup = {v: i + 2 for i, v in enumerate(vec.vocabularies_[col].tolist())}
        ids = [
            lookup.get(v.item() if isinstance(v, np.generic) else v, 1)
            for c in _kept(raw[col], max_len)
            for v in c
        ]
        np.testing.assert_array_equal(Xt.categorical[:, j], np.array(ids, dtype=int))
        if params["handle_unknown"] == "error":
            assert 1 not in ids

    # numeric channels: standardized with statistics of the kept fit events
    fit_block = _numeric_columns(fit_raw, max_len, params["time"])
    mean, scale = _reference_stats(fit_block)
    peak = np.abs(fit_block).max(axis=0, initial=0.0)
    np.testing.assert_allclose(vec.mean_, mean, rtol=1e-9, atol=1e-12 * peak.max())
    np.testing.assert_allclose(vec.scale_, scale, rtol=1e-6)
    block = _numeric_columns(raw, max_len, params["time"])
    z = block / scale - mean / scale
    assert Xt.numeric.dtype == np.float32 and np.isfinite(Xt.numeric).all()
    np.testing.assert_allclose(
        Xt.numeric, z, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(mean / scale).max())
    )

    # padding: zeros after each sequence's end, at least one step
    padded = Xt.to_padded()
    L = max(1, int(kept.max()))
    assert padded["categorical"].shape == (len(frame), L, 3)
    assert padded["numeric"].shape == (len(frame), L, block.shape[1])
    outside = np.arange(L)[None, :] >= kept[:, None]
    assert not padded["categorical"][outside].any()
    assert not padded["numeric"][outside].any()

    # a single row (a batch of one) is encoded exactly as inside the frame
    alone = vec.transform(frame.iloc[[row]])
    inside = Xt[[row]]
    np.testing.assert_array_equal(alone.offsets, inside.offsets)
    np.testing.assert_array_equal(alone.categorical, inside.categorical)
    np.testing.assert_array_equal(alone.numeric, inside.numeric)


@settings(PROFILE)
@given(vectorizer_cases())
def test_vectorizer_inferred_columns_and_empty_rows(case):
    """Column kinds inferred from element types; rows of empty lists (also a
    frame of only empty rows, whose columns hold no element type) encode to
    length 0."""
    EXAMPLES["SequenceVectorizer (inferred, empty rows)"] += 1
    fit_frame, fit_raw, frame, raw, params, row = case
    name = "SequenceVectorizer (inferred, empty rows)"
    if _has(fit_raw["price"], lambda c: ~np.isfinite(c)):
        SKIPPED[name] += 1
        return
    if not sum(len(c) for c in fit_raw["event"]) and not isinstance(
        fit_frame["event"].dtype, pd.ArrowDtype
    ):
        SKIPPED[name] += 1
        return  # lists without elements carry no type to infer a kind from
    vec = SequenceVectorizer(time="t").fit(fit_frame)
    assert vec.categorical_ == CATEGORICAL
    assert vec.numeric_ == ["price"]
    empty = frame.iloc[[row]].copy()
    for col in empty:
        dtype = empty[col].dtype
        if isinstance(dtype, pd.ArrowDtype):
            cell = pa.array([[]], dtype.pyarrow_dtype)
            empty[col] = pd.Series(
                pd.arrays.ArrowExtensionArray(cell), index=empty.index
            )
        else:
            empty[col] = pd.Series([[]], index=empty.index, dtype=object)
    Xt = vec.transform(empty)
    assert Xt.lengths.tolist() == [0]
    assert Xt.categorical.shape == (0, 3)
    padded = Xt.to_padded()
    assert padded["categorical"].shape == (1, 1, 3)
    assert not padded["categorical"].any() and not padded["numeric"].any()


# --------------------------------------------------------------------------
def test_example_counts():
    """Report how many examples each property ran (it must be hundreds)."""
    if not EXAMPLES:
        pytest.skip("no property test ran in this session")
    report = "; ".join(
        f"{name}: {n} examples ({ERRORS[name]} documented errors, "
        f"{SKIPPED[name]} not applicable)"
        for name, n in sorted(EXAMPLES.items())
    )
    print(f"hypothesis: {report}")
    warnings.warn(f"hypothesis ran {report}", UserWarning, stacklevel=1)
    for name, n in EXAMPLES.items():
        assert n >= PROFILE.max_examples, report
        assert SKIPPED[name] + ERRORS[name] <= n / 2, report  # most check outputs
