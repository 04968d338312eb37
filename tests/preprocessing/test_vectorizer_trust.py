"""SequenceVectorizer treats times as times, identifiers as identifiers, and
refuses what it cannot read, naming the column (issue "Trust")."""

from __future__ import annotations

import contextlib
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from seqestimators import SequenceVectorizer, to_sequences
from seqestimators.datasets import make_event_log

T0 = pd.Timestamp("2024-01-01")  # a Monday
S = pd.Timedelta(seconds=1)
SECONDS = [[0, 10, 70], [0], [3600, 3605]]


def _frame() -> pd.DataFrame:
    """Three users: events, datetimes ``t`` and a per-row reference ``ref``."""
    return pd.DataFrame(
        {
            "ev": [["a", "b", "a"], ["b"], ["c", "a"]],
            "t": [[T0 + s * S for s in row] for row in SECONDS],
            "ref": [T0 + 100 * S, T0 + 50 * S, T0 + 3700 * S],
        },
        index=pd.Index(["u1", "u2", "u3"], name="user_id"),
    )


def _epoch(unit_seconds: float, dtype=int) -> pd.DataFrame:
    """_frame() with ``t`` (and ``ref``) as numbers since the epoch."""
    base = T0.value / 1e9  # T0 in seconds since 1970-01-01
    frame = _frame()
    frame["t"] = [[dtype((base + s) / unit_seconds) for s in row] for row in SECONDS]
    frame["ref"] = [dtype((base + s) / unit_seconds) for s in (100, 50, 3700)]
    return frame


@contextlib.contextmanager
def _no_warning():
    """A context in which any warning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ------------------------------------------------------------ numeric times
@pytest.mark.parametrize(
    "unit, unit_seconds, dtype",
    [("s", 1, int), ("ms", 1e-3, int), ("us", 1e-6, int), ("s", 1, float)],
)
def test_epoch_times_with_a_unit_equal_datetimes(unit, unit_seconds, dtype):
    params = dict(reference_time="ref", calendar=["hour", "dayofweek"])
    expected = SequenceVectorizer(**params).fit(_frame()).transform(_frame())
    epoch = _epoch(unit_seconds, dtype)
    vec = SequenceVectorizer(time="t", time_unit=unit, **params).fit(epoch)
    assert vec.time_ == "t" and vec.categorical_ == ["ev"]
    assert vec.time_type_ == f"numbers ({unit!r} since 1970-01-01)"
    Xt = vec.transform(epoch)
    assert Xt.numeric_names == expected.numeric_names
    np.testing.assert_allclose(Xt.numeric, expected.numeric, rtol=1e-6, atol=1e-6)


def test_epoch_days_and_a_datetime_reference():
    frame = pd.DataFrame({"ev": [["a", "b"]], "day": [[19723, 19725]]})  # 2024-01-01
    vec = SequenceVectorizer(
        time="day", time_unit="D", reference_time=pd.Timestamp("2024-01-10")
    ).fit(frame)
    Xt = vec.transform(frame)
    j = list(Xt.numeric_names).index("day__log_age")
    age = np.expm1(Xt.numeric[:, j] * vec.scale_[j] + vec.mean_[j])
    np.testing.assert_allclose(age, [9 * 86400.0, 7 * 86400.0], rtol=1e-5)


def test_time_unit_needs_a_numeric_time_column():
    with pytest.raises(ValueError, match=re.escape("time_unit='s'")):
        SequenceVectorizer(time_unit="s").fit(_frame().drop(columns="ref"))
    with pytest.raises(ValueError, match="needs a time column"):
        SequenceVectorizer(time=None, time_unit="s").fit(_frame().drop(columns="ref"))
    with pytest.raises(InvalidParameterError, match="'time_unit' parameter"):
        SequenceVectorizer(time_unit="h").fit(_frame())


def test_epoch_times_beyond_the_datetime_range_raise():
    frame = _epoch(1).drop(columns="ref")
    with pytest.raises(ValueError, match="Time column 't' holds .* outside the range"):
        SequenceVectorizer(time="t", time_unit="D").fit(frame)


def test_numeric_times_without_unit_stay_seconds():
    numeric = _frame().drop(columns="ref").assign(t=SECONDS)
    vec = SequenceVectorizer(time="t").fit(numeric)
    assert vec.time_type_ == "numbers (seconds)"
    gaps = np.log1p([0.0, 10.0, 60.0, 0.0, 0.0, 5.0])
    assert vec.mean_[0] == pytest.approx(gaps.mean())


def test_integer_epoch_column_is_not_inferred_as_categorical():
    events, _ = make_event_log(60, random_state=0)
    events["epoch"] = events["timestamp"].astype("int64") // 10**9
    seqs = to_sequences(events, columns=["epoch", "event_type"])
    with pytest.warns(UserWarning, match="'epoch' looks like an identifier"):
        vec = SequenceVectorizer().fit(seqs)
    assert vec.categorical_ == ["event_type"]
    with _no_warning():
        vec = SequenceVectorizer(time="epoch", time_unit="s").fit(seqs)
    assert vec.time_features_ == ["log_gap"] and vec.categorical_ == ["event_type"]


# -------------------------------------------------------------- ISO strings
def _iso(frame: pd.DataFrame, column: str = "t") -> pd.DataFrame:
    out = frame.copy()
    out[column] = [[x.isoformat() for x in row] for row in frame[column]]
    return out


def test_iso_strings_are_the_time_column():
    params = dict(reference_time="ref", calendar=["hour"])
    expected = SequenceVectorizer(**params).fit(_frame()).transform(_frame())
    vec = SequenceVectorizer(**params).fit(_iso(_frame()))
    assert vec.time_ == "t" and vec.categorical_ == ["ev"]
    assert vec.time_type_ == "datetimes (timezone-naive)"
    # parsed again at transform; datetimes are accepted too
    for frame in (_iso(_frame()), _frame()):
        np.testing.assert_allclose(
            vec.transform(frame).numeric, expected.numeric, rtol=1e-6
        )


def test_iso_string_column_is_never_silently_categorical():
    frame = _frame().drop(columns="ref")
    frame["seen"] = _iso(frame)["t"]
    msg = "Column 'seen' holds ISO 8601 timestamps as strings"
    with pytest.raises(ValueError, match=re.escape(msg)):
        SequenceVectorizer(time="t").fit(frame)
    with pytest.raises(ValueError, match=re.escape("pass time=<column> to choose")):
        SequenceVectorizer().fit(frame)  # two time columns
    # listed as categorical, the strings are categories
    vec = SequenceVectorizer(categorical=["ev", "seen"], time="t").fit(frame)
    assert len(vec.vocabularies_["seen"]) == 5  # T0 twice


def test_time_column_of_other_strings_raises():
    frame = _frame().drop(columns="ref").assign(t=[["x", "y", "z"], ["x"], ["y", "z"]])
    with pytest.raises(ValueError, match="Time column 't' holds strings that are not"):
        SequenceVectorizer(time="t").fit(frame)


# ----------------------------------------------- time type at transform
def _aware(frame: pd.DataFrame, tz: str) -> pd.DataFrame:
    out = frame.copy()
    out["t"] = [[x.tz_localize("UTC").tz_convert(tz) for x in row] for row in out["t"]]
    return out


@pytest.mark.parametrize(
    "fit_frame, other, fitted, received",
    [
        (_frame(), _aware(_frame(), "UTC"), "timezone-naive", "datetimes in UTC"),
        (
            _aware(_frame(), "Europe/Paris"),
            _aware(_frame(), "UTC"),
            "in Europe/Paris",
            "in UTC",
        ),
        (_frame(), _frame().assign(t=SECONDS), "datetimes", "numbers (seconds)"),
    ],
    ids=["naive-aware", "timezones", "datetime-numbers"],
)
def test_time_type_differing_from_fit_raises(fit_frame, other, fitted, received):
    fit_frame = fit_frame.drop(columns="ref")
    vec = SequenceVectorizer(calendar=["hour"]).fit(fit_frame)
    with pytest.raises(ValueError, match="Time column 't' holds") as info:
        vec.transform(other.drop(columns="ref"))
    message = str(info.value)
    assert fitted in message.split("fitted on")[1]
    assert received in message.split("fitted on")[0]


def test_time_unit_changed_after_fit_raises():
    frame = _epoch(1e-3).drop(columns="ref")
    vec = SequenceVectorizer(time="t", time_unit="ms").fit(frame)
    vec.set_params(time_unit="s")
    msg = "holds numbers ('s' since 1970-01-01), but this SequenceVectorizer was "
    with pytest.raises(ValueError, match=re.escape(msg)):
        vec.transform(frame)


def test_seconds_and_naive_datetimes_mix_when_only_gaps_are_computed():
    frame = _frame().drop(columns="ref")
    vec = SequenceVectorizer().fit(frame)
    np.testing.assert_array_equal(
        vec.transform(frame.assign(t=SECONDS)).numeric, vec.transform(frame).numeric
    )


# -------------------------------------------------------------- identifiers
def test_identifier_column_is_left_out_with_a_warning():
    events, _ = make_event_log(60, random_state=0)
    seqs = to_sequences(events)
    msg = (
        r"Column 'session_id' looks like an identifier \(\d+ distinct values, "
        r"100% of them in a single sequence\).*categorical=\[\.\.\.\]"
    )
    with pytest.warns(UserWarning, match=msg):
        vec = SequenceVectorizer().fit(seqs)
    assert "session_id" not in vec.categorical_
    assert vec.categorical_ == ["event_type", "item_id", "category"]
    with _no_warning():
        listed = SequenceVectorizer(categorical=["session_id", "event_type"])
        listed.fit(seqs)
    assert listed.categorical_ == ["session_id", "event_type"]


def test_few_sequences_are_no_evidence_of_an_identifier():
    frame = pd.DataFrame({"item": [list(range(60)), list(range(60, 120))]})
    with _no_warning():
        vec = SequenceVectorizer().fit(frame)
    assert vec.categorical_ == ["item"]


# ---------------------------------------------------------- column contents
def test_timedelta_column_is_numeric_seconds():
    frame = _frame().drop(columns="ref")
    frame["dwell"] = [[x * S for x in (1, 2, 3)], [4 * S], [5 * S, 6 * S]]
    vec = SequenceVectorizer().fit(frame)
    assert vec.numeric_ == ["dwell"]
    assert vec.mean_[0] == pytest.approx(3.5)
    Xt = vec.transform(frame)
    x = np.arange(1.0, 7.0)
    np.testing.assert_allclose(Xt.numeric[:, 0], (x - x.mean()) / x.std(), rtol=1e-6)
    arrow = to_sequences(
        pd.DataFrame({"u": [1, 1, 2], "d": pd.to_timedelta([1, 2, 3], unit="min")}),
        by="u",
        order_by=None,
    )
    vec = SequenceVectorizer(numeric=["d"]).fit(arrow)
    assert vec.mean_[0] == pytest.approx(120.0)


@pytest.mark.parametrize(
    "cells",
    [
        [[[1, 2], [3]], [[4]], [[5], [6]]],
        [[(1, 2), (3, 4), (5, 6)], [(1, 2)], [(3, 4), (5, 6)]],
        [[np.arange(2), np.arange(2), np.arange(3)], [np.arange(1)], [[], []]],
        [[{"a": 1}, {"a": 2}, {"a": 3}], [{"a": 4}], [{"a": 5}, {"a": 6}]],
    ],
    ids=["lists", "tuples", "arrays", "dicts"],
)
@pytest.mark.parametrize("inferred", [True, False])
def test_nested_cells_raise_naming_the_column(cells, inferred):
    frame = _frame().drop(columns="ref")
    frame["nested"] = pd.Series(cells, index=frame.index, dtype=object)
    vec = (
        SequenceVectorizer() if inferred else SequenceVectorizer(categorical=["nested"])
    )
    with pytest.raises(TypeError, match="Column 'nested' holds lists of .*scalar"):
        vec.fit(frame)


def test_mixed_and_huge_integers_raise_naming_the_column():
    frame = _frame().drop(columns="ref")

    def code(cells):
        return pd.Series(cells, index=frame.index, dtype=object)

    mixed = frame.assign(code=code([[1, "a", 2], [3], [4, 5]]))
    with pytest.raises(TypeError, match="Column 'code' could not be read as lists"):
        SequenceVectorizer().fit(mixed)
    huge = frame.assign(code=code([[1, 2**64, 2], [3], [4, 5]]))
    msg = "Column 'code' holds integers outside the int64 range"
    with pytest.raises(ValueError, match=re.escape(msg)):
        SequenceVectorizer().fit(huge)
    vec = SequenceVectorizer().fit(frame.assign(code=[[1, 2, 3], [3], [4, 5]]))
    with pytest.raises(ValueError, match=re.escape(msg)):
        vec.transform(huge)


# ------------------------------------------------------------- immutability
@pytest.mark.parametrize(
    "make, params",
    [
        (lambda: _iso(_frame()), dict(reference_time="ref", calendar=["hour"])),
        (lambda: _epoch(1e-3), dict(time="t", time_unit="ms", reference_time="ref")),
        (
            lambda: (
                _frame()
                .assign(dwell=[[S, 2 * S, S], [S], [S, 3 * S]])
                .drop(columns="ref")
            ),
            dict(max_len=2),
        ),
    ],
    ids=["iso", "epoch", "timedelta"],
)
def test_inputs_are_not_modified(make, params):
    frame = make()
    vec = SequenceVectorizer(**params).fit(frame)
    pd.testing.assert_frame_equal(frame, make())
    vec.transform(frame)
    pd.testing.assert_frame_equal(frame, make())
