"""Tests for SequenceVectorizer's cutoff-aware time features.

``reference_time`` adds ``<time>__log_age`` and ``<time>__log_recency``;
``calendar`` adds cyclic ``<time>__<field>_sin``/``_cos`` channels.
"""

from __future__ import annotations

import datetime
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

import seqestimators
from seqestimators import SequenceVectorizer, make_window_labels
from seqestimators.datasets import make_event_log

T0 = pd.Timestamp("2024-01-01")  # a Monday, in January
S = pd.Timedelta(seconds=1)
H = pd.Timedelta(hours=1)


def _frame() -> pd.DataFrame:
    """Three users; ``ref`` is a per-row reference time (a scalar column)."""
    return pd.DataFrame(
        {
            "ev": [["a", "b", "a"], ["b"], ["c", "a"]],
            "t": [
                [T0, T0 + 10 * S, T0 + 70 * S],
                [T0],
                [T0 + 3600 * S, T0 + 3605 * S],
            ],
            "ref": [T0 + 100 * S, T0 + 50 * S, T0 + 3700 * S],
        },
        index=pd.Index(["u1", "u2", "u3"], name="user_id"),
    )


def _events() -> pd.DataFrame:
    """_frame() without its reference column."""
    return _frame().drop(columns="ref")


#: unscaled channels of _frame() with reference_time="ref", event by event
AGES = [100.0, 90.0, 30.0, 50.0, 100.0, 95.0]
RECENCIES = [30.0, 30.0, 30.0, 50.0, 95.0, 95.0]


def _raw(vec: SequenceVectorizer, Xt, channel: str) -> np.ndarray:
    """A numeric channel of ``Xt`` before standardization."""
    j = list(Xt.numeric_names).index(channel)
    return Xt.numeric[:, j].astype(np.float64) * vec.scale_[j] + vec.mean_[j]


def _seconds(vec, Xt, channel):
    """An age or recency channel back in seconds."""
    return np.expm1(_raw(vec, Xt, channel))


# -------------------------------------------------------------- age, recency
def test_age_and_recency_match_hand_computation():
    vec = SequenceVectorizer(reference_time="ref").fit(_frame())
    assert vec.time_features_ == ["log_gap", "log_age", "log_recency"]
    names = ["t__log_gap", "t__log_age", "t__log_recency"]
    assert vec.get_feature_names_out().tolist() == ["ev", *names]
    # statistics learned in fit on the log1p'd seconds
    assert vec.mean_[1] == pytest.approx(np.log1p(AGES).mean())
    assert vec.scale_[1] == pytest.approx(np.log1p(AGES).std())
    assert vec.mean_[2] == pytest.approx(np.log1p(RECENCIES).mean())
    assert vec.scale_[2] == pytest.approx(np.log1p(RECENCIES).std())
    Xt = vec.transform(_frame())
    assert Xt.numeric_names == tuple(names)
    np.testing.assert_allclose(_seconds(vec, Xt, "t__log_age"), AGES, rtol=1e-4)
    np.testing.assert_allclose(
        _seconds(vec, Xt, "t__log_recency"), RECENCIES, rtol=1e-4
    )
    # standardized with the fit statistics
    log_age = np.log1p(AGES)
    np.testing.assert_allclose(
        Xt.numeric[:, 1], (log_age - log_age.mean()) / log_age.std(), rtol=1e-5
    )


def test_scalar_column_and_index_level_references_give_the_same_numbers():
    ref = T0 + 4000 * S
    frame = _events()
    as_column = frame.assign(cutoff=ref)
    as_level = frame.set_index(
        pd.MultiIndex.from_arrays(
            [frame.index, pd.DatetimeIndex([ref] * 3)], names=["user_id", "cutoff"]
        )
    )
    outputs = []
    for reference, data in [
        (ref, frame),
        ("2024-01-01 01:06:40", frame),
        (ref.to_pydatetime(), frame),
        (ref.to_datetime64(), frame),
        ("cutoff", as_column),
        ("cutoff", as_level),
    ]:
        vec = SequenceVectorizer(reference_time=reference).fit(data)
        Xt = vec.transform(data)
        expected = 4000.0 - np.array([0, 10, 70, 0, 3600, 3605])
        np.testing.assert_allclose(_seconds(vec, Xt, "t__log_age"), expected, 1e-4)
        outputs.append(Xt.numeric)
    for numeric in outputs[1:]:
        np.testing.assert_array_equal(numeric, outputs[0])


def test_numeric_seconds_reference_equals_datetime_reference():
    seconds = [[0.0, 10.0, 70.0], [0.0], [3600.0, 3605.0]]
    frame = _frame()
    numeric = frame.assign(t=seconds, ref=[100.0, 50.0, 3700.0])
    a = SequenceVectorizer(reference_time="ref").fit(frame)
    b = SequenceVectorizer(time="t", reference_time="ref").fit(numeric)
    np.testing.assert_allclose(
        a.transform(frame).numeric, b.transform(numeric).numeric, rtol=1e-6
    )
    numeric = numeric.drop(columns="ref")
    c = SequenceVectorizer(time="t", reference_time=4000).fit(numeric)
    expected = 4000.0 - np.array([0, 10, 70, 0, 3600, 3605])
    np.testing.assert_allclose(
        _seconds(c, c.transform(numeric), "t__log_age"), expected, rtol=1e-4
    )


def test_reference_column_is_not_vectorized():
    vec = SequenceVectorizer(reference_time="ref").fit(_frame())
    assert vec.categorical_ == ["ev"]
    assert vec.numeric_ == []
    assert vec.time_ == "t"
    assert not any(n.startswith("ref") for n in vec.get_feature_names_out())
    # without a reference, the scalar column is not a sequence and is refused
    with pytest.raises(TypeError, match="'ref' holds scalars"):
        SequenceVectorizer().fit(_frame())


def test_reference_column_listed_as_a_feature_raises():
    with pytest.raises(ValueError, match="'ref' is the reference_time column"):
        SequenceVectorizer(reference_time="ref", categorical=["ref"]).fit(_frame())


def test_transform_reads_new_references_with_the_fit_scaling():
    vec = SequenceVectorizer(reference_time="ref").fit(_frame())
    mean = vec.mean_.copy()
    later = _frame().assign(ref=_frame()["ref"] + 1000 * S)
    Xt = vec.transform(later)
    np.testing.assert_array_equal(vec.mean_, mean)
    np.testing.assert_allclose(
        _seconds(vec, Xt, "t__log_age"), np.add(AGES, 1000.0), rtol=1e-4
    )
    np.testing.assert_allclose(
        _seconds(vec, Xt, "t__log_recency"), np.add(RECENCIES, 1000.0), rtol=1e-4
    )


def test_event_at_the_reference_has_age_zero():
    frame = _frame().assign(ref=[T0 + 70 * S, T0, T0 + 3605 * S])
    vec = SequenceVectorizer(reference_time="ref").fit(frame)
    Xt = vec.transform(frame)
    np.testing.assert_allclose(_seconds(vec, Xt, "t__log_recency"), 0.0, atol=1e-4)


def test_ages_and_recency_are_computed_before_truncation():
    vec = SequenceVectorizer(max_len=1, reference_time="ref").fit(_frame())
    Xt = vec.transform(_frame())
    assert Xt.lengths.tolist() == [1, 1, 1]
    # the kept event of each row is its last one
    np.testing.assert_allclose(
        _seconds(vec, Xt, "t__log_age"), [30.0, 50.0, 95.0], rtol=1e-4
    )
    np.testing.assert_allclose(
        _seconds(vec, Xt, "t__log_recency"), [30.0, 50.0, 95.0], rtol=1e-4
    )


def test_empty_rows_have_no_events_and_do_not_shift_the_others():
    frame = pd.concat(
        [
            _frame(),
            pd.DataFrame(
                {"ev": [[]], "t": [[]], "ref": [T0]},
                index=pd.Index(["u4"], name="user_id"),
            ),
        ]
    )
    frame["ev"] = frame["ev"].astype(object)
    vec = SequenceVectorizer(reference_time="ref", categorical=["ev"]).fit(frame)
    Xt = vec.transform(frame)
    assert Xt.lengths.tolist() == [3, 1, 2, 0]
    np.testing.assert_allclose(_seconds(vec, Xt, "t__log_age"), AGES, rtol=1e-4)
    np.testing.assert_allclose(
        _seconds(vec, Xt, "t__log_recency"), RECENCIES, rtol=1e-4
    )


# -------------------------------------------------------------------- errors
def test_missing_reference_values_raise():
    frame = _frame().assign(ref=[T0 + 100 * S, pd.NaT, None])
    msg = (
        "reference_time column 'ref' must give a time for every row, but 2 of 3 "
        "rows are missing (NaN/NaT/None), the first being row 'u2'."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        SequenceVectorizer(reference_time="ref").fit(frame)
    # at transform too
    vec = SequenceVectorizer(reference_time="ref").fit(_frame())
    with pytest.raises(ValueError, match=re.escape(msg)):
        vec.transform(frame)


def test_missing_reference_column_lists_the_available_ones():
    vec = SequenceVectorizer(reference_time="cutof")
    msg = (
        "reference_time='cutof' is neither a column of the sequence frame, nor an "
        "index level, nor a time that pd.Timestamp can parse. Available columns: "
        "['ev', 't', 'ref']; index levels: ['user_id']."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        vec.fit(_frame())
    fitted = SequenceVectorizer(reference_time="ref").fit(_frame())
    with pytest.raises(ValueError, match="neither a column"):
        fitted.transform(_events())


def test_event_after_the_reference_raises_and_names_the_row():
    frame = _frame().assign(ref=[T0 + 100 * S, T0 + 50 * S, T0 + 3602 * S])
    msg = (
        "Row 'u3' has an event at 2024-01-01 01:00:05 after its reference time "
        "2024-01-01 01:00:02 (reference_time column 'ref')"
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        SequenceVectorizer(reference_time="ref").fit(frame)
    with pytest.raises(ValueError, match="after its reference time"):
        SequenceVectorizer(reference_time=T0 + 60 * S).fit(_events())


def test_timezone_mismatch_raises():
    aware = _frame().assign(ref=_frame()["ref"].dt.tz_localize("UTC"))
    with pytest.raises(TypeError, match="'t' is timezone-naive but"):
        SequenceVectorizer(reference_time="ref").fit(aware)
    with pytest.raises(TypeError, match="is timezone-aware \\(UTC\\)"):
        SequenceVectorizer(reference_time=pd.Timestamp("2024-02-01", tz="UTC")).fit(
            _events()
        )


def test_aware_times_with_other_timezones_compare_as_instants():
    frame = _frame()
    frame["t"] = [[x.tz_localize("UTC") for x in row] for row in frame["t"]]
    paris = frame.assign(ref=_frame()["ref"].dt.tz_localize("UTC"))
    paris["ref"] = paris["ref"].dt.tz_convert("Europe/Paris")
    vec = SequenceVectorizer(reference_time="ref").fit(paris)
    Xt = vec.transform(paris)
    np.testing.assert_allclose(_seconds(vec, Xt, "t__log_age"), AGES, rtol=1e-4)


def test_reference_of_the_wrong_kind_raises():
    numeric = _frame().assign(t=[[0.0, 10.0, 70.0], [0.0], [3600.0, 3605.0]])
    with pytest.raises(TypeError, match="holds numbers \\(seconds\\) but"):
        SequenceVectorizer(time="t", reference_time="ref").fit(numeric)
    with pytest.raises(TypeError, match="holds datetimes but"):
        SequenceVectorizer(reference_time=100.0).fit(_events())
    with pytest.raises(TypeError, match="must hold times"):
        SequenceVectorizer(reference_time="ref").fit(_frame().assign(ref="x"))


def test_reference_without_time_column_raises():
    msg = "SequenceVectorizer(reference_time='ref') needs a time column"
    with pytest.raises(ValueError, match=re.escape(msg)):
        SequenceVectorizer(time=None, reference_time="ref").fit(_frame())
    with pytest.raises(ValueError, match="calendar=\\['hour'\\]"):
        SequenceVectorizer(time=None, calendar=["hour"]).fit(_events())


def test_reference_removed_after_fit_raises():
    vec = SequenceVectorizer(reference_time="ref").fit(_frame())
    vec.set_params(reference_time=None)
    with pytest.raises(ValueError, match="fitted with a reference_time"):
        vec.transform(_frame())


@pytest.mark.parametrize(
    "params, name",
    [
        ({"reference_time": ["ref"]}, "reference_time"),
        ({"calendar": "hour"}, "calendar"),
    ],
)
def test_invalid_parameters(params, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        SequenceVectorizer(**params).fit(_frame())


# ------------------------------------------------------------------ calendar
def _calendar_frame() -> pd.DataFrame:
    times = [
        T0 + 6 * H,  # Monday 06:00, January
        T0 + 2 * 24 * H + 18 * H,  # Wednesday 18:00
        pd.Timestamp("2024-04-06 00:00"),  # Saturday, April
    ]
    return pd.DataFrame(
        {"ev": [["a", "b", "c"]], "t": [times]},
        index=pd.Index(["u1"], name="user_id"),
    )


def test_calendar_channels_before_scaling():
    fields = ["hour", "dayofweek", "month"]
    vec = SequenceVectorizer(calendar=fields).fit(_calendar_frame())
    Xt = vec.transform(_calendar_frame())
    expected_names = [f"t__{f}_{sc}" for f in fields for sc in ("sin", "cos")]
    assert list(Xt.numeric_names) == ["t__log_gap", *expected_names]
    assert vec.get_feature_names_out().tolist()[2:] == expected_names

    def angle(position, period):
        return 2 * np.pi * np.asarray(position, dtype=float) / period

    hours, days, months = (
        angle([6, 18, 0], 24),
        angle([0, 2, 5], 7),
        angle([0, 0, 3], 12),
    )
    for field, theta in [("hour", hours), ("dayofweek", days), ("month", months)]:
        np.testing.assert_allclose(
            _raw(vec, Xt, f"t__{field}_sin"), np.sin(theta), atol=1e-6
        )
        np.testing.assert_allclose(
            _raw(vec, Xt, f"t__{field}_cos"), np.cos(theta), atol=1e-6
        )
    assert _raw(vec, Xt, "t__hour_sin")[0] == pytest.approx(1.0)


def test_calendar_uses_the_wall_clock_of_an_aware_column():
    frame = _calendar_frame()
    frame["t"] = [[x.tz_localize("America/New_York") for x in frame["t"].iloc[0]]]
    vec = SequenceVectorizer(calendar=["hour"]).fit(frame)
    Xt = vec.transform(frame)
    np.testing.assert_allclose(
        _raw(vec, Xt, "t__hour_sin"),
        np.sin(2 * np.pi * np.array([6, 18, 0]) / 24),
        atol=1e-6,
    )


def test_calendar_with_numeric_time_column_raises():
    frame = _events().assign(t=[[0.0, 10.0, 70.0], [0.0], [3600.0, 3605.0]])
    with pytest.raises(ValueError, match="calendar=\\['hour'\\] needs datetimes"):
        SequenceVectorizer(time="t", calendar=["hour"]).fit(frame)


@pytest.mark.parametrize(
    "calendar, message",
    [
        (["week"], "calendar fields ['week'] are not supported"),
        (["hour", "hour"], "calendar lists a field twice"),
    ],
)
def test_bad_calendar_fields_raise(calendar, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        SequenceVectorizer(calendar=calendar).fit(_events())


# ------------------------------------------------------------ compatibility
def test_default_output_is_unchanged():
    frame = _events()
    plain = SequenceVectorizer().fit(frame)
    explicit = SequenceVectorizer(reference_time=None, calendar=None).fit(frame)
    assert plain.time_features_ == explicit.time_features_ == ["log_gap"]
    a, b = plain.transform(frame), explicit.transform(frame)
    np.testing.assert_array_equal(a.numeric, b.numeric)
    assert a.numeric_names == ("t__log_gap",)
    gaps = np.log1p([0.0, 10.0, 60.0, 0.0, 0.0, 5.0])
    np.testing.assert_allclose(
        a.numeric[:, 0], (gaps - gaps.mean()) / gaps.std(), rtol=1e-6
    )
    # the new channels come after the old ones, which keep their values
    rich = SequenceVectorizer(reference_time="ref", calendar=["hour"]).fit(_frame())
    c = rich.transform(_frame())
    np.testing.assert_array_equal(c.categorical, a.categorical)
    np.testing.assert_array_equal(c.numeric[:, :1], a.numeric)


def test_clone_keeps_params():
    vec = SequenceVectorizer(
        reference_time=pd.Timestamp("2024-03-01"), calendar=("hour", "dayofweek")
    )
    vec.fit(_events())
    copy = clone(vec)
    assert copy.get_params() == vec.get_params()
    assert copy.reference_time == pd.Timestamp("2024-03-01")
    assert copy.calendar == ("hour", "dayofweek")
    assert not hasattr(copy, "time_features_")


@pytest.mark.parametrize(
    "reference",
    [
        "ref",
        pd.Timestamp("2024-03-01"),
        datetime.datetime(2024, 3, 1),
        np.datetime64("2024-03-01T00:00:00"),
        "2024-03-01",
    ],
)
def test_save_load_round_trip(reference, tmp_path):
    frame = _frame() if reference == "ref" else _events()
    vec = SequenceVectorizer(reference_time=reference, calendar=["dayofweek"])
    vec.fit(frame)
    path = tmp_path / "vec.zip"
    seqestimators.save(vec, path)
    loaded = seqestimators.load(path)
    assert loaded.get_params() == vec.get_params()
    assert loaded.time_features_ == vec.time_features_
    a, b = vec.transform(frame), loaded.transform(frame)
    np.testing.assert_array_equal(a.numeric, b.numeric)
    np.testing.assert_array_equal(a.categorical, b.categorical)


def test_save_load_keeps_an_aware_reference(tmp_path):
    frame = _events()
    frame["t"] = [[x.tz_localize("Europe/Paris") for x in row] for row in frame["t"]]
    ref = pd.Timestamp("2024-03-01", tz="Europe/Paris")
    vec = SequenceVectorizer(reference_time=ref).fit(frame)
    seqestimators.save(vec, tmp_path / "vec.zip")
    loaded = seqestimators.load(tmp_path / "vec.zip")
    assert loaded.reference_time == ref
    assert str(loaded.reference_time.tz) == "Europe/Paris"
    np.testing.assert_array_equal(
        vec.transform(frame).numeric, loaded.transform(frame).numeric
    )


# ------------------------------------------------ with make_window_labels
class _LastStepLogistic(ClassifierMixin, BaseEstimator):
    """Logistic regression on the numeric channels of each row's last event."""

    def _features(self, X):
        last = np.zeros((len(X.lengths), X.numeric.shape[1]))
        filled = X.lengths > 0
        last[filled] = X.numeric[X.offsets[1:][filled] - 1]
        return last

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(self._features(X), y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(self._features(X))

    def predict(self, X):
        return self.model_.predict(self._features(X))


@pytest.fixture(scope="module")
def windows():
    events, _ = make_event_log(n_users=200, random_state=0)
    history, labels = make_window_labels(
        events, ["2024-02-01", "2024-03-01"], "30D", columns=["timestamp", "event_type"]
    )
    return history, labels


def test_recency_from_make_window_labels_history(windows):
    history, labels = windows
    assert history.index.names == ["user_id", "cutoff"]
    vec = SequenceVectorizer(reference_time="cutoff", calendar=["dayofweek"])
    Xt = vec.fit_transform(history)
    assert vec.get_feature_names_out().tolist() == [
        "event_type",
        "timestamp__log_gap",
        "timestamp__log_age",
        "timestamp__log_recency",
        "timestamp__dayofweek_sin",
        "timestamp__dayofweek_cos",
    ]
    last = pd.to_datetime([row[-1] for row in history["timestamp"].tolist()])
    expected = (labels["cutoff"].to_numpy() - last).total_seconds()
    got = _seconds(vec, Xt, "timestamp__log_recency")[Xt.offsets[1:] - 1]
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert (got > 0).all()  # history is strictly before the cutoff


def test_pipeline_cross_val_score_with_window_history(windows):
    history, labels = windows
    y, groups = labels["churn"].to_numpy(), labels["group"].to_numpy()

    def score(**params):
        pipe = Pipeline(
            [
                ("vec", SequenceVectorizer(categorical=[], **params)),
                ("clf", _LastStepLogistic()),
            ]
        )
        cv = GroupKFold(n_splits=3)
        return cross_val_score(
            pipe, history, y, groups=groups, cv=cv, scoring="roc_auc"
        )

    with_recency = score(reference_time="cutoff")
    without = score()
    assert np.isfinite(with_recency).all()
    # recency is what tells churners apart; the gap alone hardly does
    assert with_recency.mean() > without.mean() + 0.2
