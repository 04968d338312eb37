"""Time columns and durations: never ordered as text, never a unit guessed."""

from __future__ import annotations

import datetime
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from seqestimators import make_window_labels, split_sessions, to_sequences

# text order and time order differ: "2024-01-01 05:00:00.5" < "2024-01-01T..."
# as text, and "2024-01-02" sorts before "2024-01-02T..." whatever the hour
ISO = ["2024-01-02", "2024-01-01T23:00", "2024-01-01 05:00:00.5", "2024-01-01T06"]
TIME_ORDER = ["c", "d", "b", "a"]


def _log(times, **extra):
    n = len(times)
    columns = {"user_id": [1] * n, "timestamp": times, "e": list("abcd")[:n]}
    return pd.DataFrame(columns | extra)


# ---------------------------------------------------------------- to_sequences
@pytest.mark.parametrize(
    "dtype", [None, object, "string", pd.ArrowDtype(pa.string()), "category"]
)
def test_iso_text_is_ordered_as_time_and_becomes_datetimes(dtype):
    events = _log(pd.Series(ISO, dtype=dtype))
    out = to_sequences(events)
    assert out["e"].tolist() == [TIME_ORDER]
    assert pa.types.is_timestamp(out["timestamp"].dtype.pyarrow_dtype.value_type)
    expected = pd.to_datetime(pd.Series(ISO), format="ISO8601").sort_values()
    assert out["timestamp"].tolist() == [list(expected)]
    assert out["e"].dtype.pyarrow_dtype.value_type != pa.null()


def test_parsed_time_column_listed_in_columns_and_other_text_left_alone():
    events = _log(ISO, note=["2024-01-01"] * 4)
    out = to_sequences(events, columns=["timestamp", "note"])
    value_type = out["timestamp"].dtype.pyarrow_dtype.value_type
    assert pa.types.is_timestamp(value_type)
    note_type = out["note"].dtype.pyarrow_dtype.value_type
    assert pa.types.is_string(note_type) or pa.types.is_large_string(note_type)
    # without order_by, text stays text and the input order is kept
    kept = to_sequences(events, order_by=None, columns=["timestamp"])
    assert kept["timestamp"].tolist() == [ISO]


def test_several_utc_offsets_are_converted_to_utc():
    times = ["2024-01-01T10:00+05:00", "2024-01-01T08:00+00:00", "2024-01-01T06:00Z"]
    out = to_sequences(_log(times))
    assert out["e"].tolist() == [["a", "c", "b"]]  # 05:00Z, 06:00Z, 08:00Z
    assert str(out["timestamp"].dtype.pyarrow_dtype.value_type.tz) == "UTC"


def test_one_utc_offset_keeps_it():
    times = ["2024-01-01T10:00+01:00", "2024-01-01T09:00+01:00"]
    out = to_sequences(_log(times))
    assert out["e"].tolist() == [["b", "a"]]
    first = out["timestamp"].iloc[0][0]
    assert first == pd.Timestamp("2024-01-01T09:00+01:00")


@pytest.mark.parametrize(
    "times, match",
    [
        (["01/02/2024", "02/01/2024"], "'01/02/2024' (row position 0) is not an ISO"),
        (["5", "10", "2"], "'5' (row position 0) is not an ISO 8601 time"),
        (["2024-01-01", "yesterday"], "'yesterday' (row position 1)"),
        (["2024-01-01T00:00+02:00", "2024-01-01T00:00"], "mixes times with a UTC"),
        (["2024-01-01", ""], "'' (row position 1) is not a time"),
    ],
)
def test_text_that_is_not_unambiguous_iso_is_refused(times, match):
    events = _log(times)
    before = events.copy(deep=True)
    with pytest.raises(ValueError, match=re.escape(match)):
        to_sequences(events)
    pd.testing.assert_frame_equal(events, before)


def test_the_refusal_says_how_to_parse():
    with pytest.raises(ValueError, match=re.escape("pd.to_datetime(events['t']")):
        to_sequences(_log(["01/02/2024"]).rename(columns={"timestamp": "t"}),
                     order_by="t")


@pytest.mark.parametrize("times", [[10, 9, 100], [1.5, -2.0, 1e9]])
def test_numeric_times_stay_numbers(times):
    out = to_sequences(_log(times))
    assert out["timestamp"].tolist() == [sorted(times)]


def test_input_with_text_times_not_modified():
    events = _log(ISO)
    before = events.copy(deep=True)
    to_sequences(events)
    make_window_labels(events, "2024-01-01T12:00", "1D")
    split_sessions(events, "1h")
    pd.testing.assert_frame_equal(events, before)


# ------------------------------------------------------------------- durations
DT = _log(pd.to_datetime(["2024-01-01", "2024-01-10", "2024-02-20"]))
NUM = _log([0.0, 10.0, 100.0])


@pytest.mark.parametrize("horizon", [30, 30.0, np.int64(30), "30", np.timedelta64(30)])
def test_plain_number_horizon_with_datetimes_is_refused(horizon):
    with pytest.raises(TypeError, match="is a plain number") as info:
        make_window_labels(DT, "2024-01-05", horizon)
    message = str(info.value)
    assert "horizon='30D'" in message and "pd.Timedelta(days=30)" in message


@pytest.mark.parametrize(
    "gap, hint",
    [(1800, "1800s"), (1800.5, "1800.5s"), ("1800", "1800s"),
     (np.timedelta64(1800), "1800s"), (True, None)],
)
def test_plain_number_gap_with_datetimes_is_refused(gap, hint):
    with pytest.raises(TypeError, match="is a plain number") as info:
        split_sessions(DT, gap)
    message = str(info.value)
    assert "gap='30min'" in message and "pd.Timedelta(minutes=30)" in message
    assert hint is None or f"for {hint[:-1]} seconds, gap='{hint}'." in message


@pytest.mark.parametrize(
    "horizon",
    ["30D", "720h", pd.Timedelta(days=30), datetime.timedelta(days=30),
     np.timedelta64(30, "D")],
)
def test_durations_with_a_unit_are_accepted(horizon):
    _, labels = make_window_labels(DT, "2024-01-05", horizon)
    assert labels["n_events"].tolist() == [1]  # 2024-01-10, not 2024-02-20


def test_numeric_times_take_plain_numbers_and_refuse_units():
    _, labels = make_window_labels(NUM, 5.0, 10)
    assert labels["n_events"].tolist() == [1]
    assert split_sessions(NUM, 50)["session_id"].tolist() == [0, 0, 1]
    with pytest.raises(TypeError, match="gap must be a positive number"):
        split_sessions(NUM, "30min")
    with pytest.raises(TypeError, match="horizon must be a positive number"):
        make_window_labels(NUM, 5.0, pd.Timedelta("1D"))
    with pytest.raises(TypeError, match="horizon must be a positive number"):
        make_window_labels(NUM, 5.0, True)


@pytest.mark.parametrize("gap", [pd.NaT, "NaT", None])
def test_missing_duration_is_refused(gap):
    with pytest.raises((TypeError, ValueError), match="gap"):
        split_sessions(DT, gap)


def test_text_times_work_in_labels_and_sessions():
    events = _log(ISO)
    history, labels = make_window_labels(events, "2024-01-01T12:00", "1D")
    assert history["e"].tolist() == [["c", "d"]]
    assert labels["n_events"].tolist() == [2]
    sessions = split_sessions(events, "2h")["session_id"].tolist()
    # 05:00 and 06:00 together; 23:00 and 00:00 (next day) one hour apart
    assert sessions == [1, 1, 0, 0]


# ---------------------------------------------------------------- cutoffs
@pytest.mark.parametrize(
    "cutoff, error, match",
    [
        (None, TypeError, "cutoff is None"),
        (pd.NaT, ValueError, "cutoff is missing (NaT)"),
        (["2024-01-05", pd.NaT], ValueError, "cutoff is missing (NaT)"),
        (np.datetime64("NaT"), ValueError, "cutoff is missing (NaT)"),
        ("2024-01-05T00:00+01:00", TypeError, "has a time zone"),
    ],
)
def test_bad_cutoffs_with_datetimes(cutoff, error, match):
    with pytest.raises(error, match=re.escape(match)):
        make_window_labels(DT, cutoff, "30D")


@pytest.mark.parametrize(
    "cutoff, error, match",
    [
        ("2024-01-05", TypeError, "is not a number"),
        (float("nan"), ValueError, "cutoff is missing (NaN)"),
        (True, TypeError, "is not a number"),
    ],
)
def test_bad_cutoffs_with_numbers(cutoff, error, match):
    with pytest.raises(error, match=re.escape(match)):
        make_window_labels(NUM, cutoff, 10)


def test_a_cutoff_column_in_the_events_is_refused_by_name():
    events = DT.assign(cutoff=1)
    with pytest.raises(ValueError, match="column named 'cutoff'") as info:
        make_window_labels(events, "2024-01-05", "30D")
    assert "rename" in str(info.value)
