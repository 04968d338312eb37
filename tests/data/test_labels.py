"""make_window_labels: point-in-time history and window labels."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GroupKFold

from seqestimators import make_window_labels
from seqestimators.datasets import make_event_log

COLUMNS = ["timestamp", "event_type", "category", "price"]


@pytest.fixture(scope="module")
def log():
    events, _ = make_event_log(n_users=300, random_state=0)
    return events


@pytest.fixture(scope="module")
def cutoffs(log):
    lo, hi = log["timestamp"].min(), log["timestamp"].max()
    return [lo + (hi - lo) * f for f in (0.4, 0.6, 0.8)]


@pytest.fixture(scope="module")
def windows(log, cutoffs):
    return make_window_labels(
        log, cutoffs, "14D", target_event=("event_type", "purchase"),
        value="price", columns=COLUMNS,
    )


def test_no_event_at_or_after_the_cutoff_reaches_the_history(windows):
    history, labels = windows
    last = history["timestamp"].map(max)  # newest event of each history
    cut = history.index.get_level_values("cutoff")
    assert (pd.to_datetime(last.to_numpy()) < cut).all()
    assert (labels["cutoff"].to_numpy() == cut).all()


def test_history_equals_events_before_cutoff(log, windows, cutoffs):
    history, _ = windows
    c = cutoffs[1]
    expected = log[log["timestamp"] < c].groupby("user_id")["event_type"].agg(list)
    got = history.xs(c, level="cutoff")["event_type"]
    assert got.index.equals(expected.index)
    assert [list(v) for v in got] == expected.tolist()


def test_labels_match_a_pandas_reference(log, windows, cutoffs):
    _, labels = windows
    c = cutoffs[0]
    h = pd.Timedelta("14D")
    win = log[(log["timestamp"] >= c) & (log["timestamp"] < c + h)]
    users = log.loc[log["timestamp"] < c, "user_id"].unique()
    ref = pd.DataFrame(index=pd.Index(np.sort(users), name="user_id"))
    ref["n_events"] = win.groupby("user_id").size().reindex(ref.index, fill_value=0)
    purchases = win[win["event_type"] == "purchase"]
    ref["n_converted"] = (
        purchases.groupby("user_id").size().reindex(ref.index, fill_value=0)
    )
    ref["value"] = (
        purchases.groupby("user_id")["price"].sum().reindex(ref.index, fill_value=0)
    )
    got = labels.xs(c, level="cutoff")
    np.testing.assert_array_equal(got["n_events"], ref["n_events"])
    np.testing.assert_array_equal(got["n_converted"], ref["n_converted"])
    np.testing.assert_allclose(got["value"], ref["value"])
    np.testing.assert_array_equal(got["any_event"], (ref["n_events"] > 0).astype(int))
    np.testing.assert_array_equal(got["churn"], 1 - got["any_event"])
    np.testing.assert_array_equal(got["converted"], (ref["n_converted"] > 0))
    # both outcomes occur, so the labels are informative
    assert 0 < got["churn"].mean() < 1


def test_entities_without_history_are_left_out(log, windows, cutoffs):
    history, _ = windows
    c = cutoffs[0]
    first_seen = log.groupby("user_id")["timestamp"].min()
    late = first_seen[first_seen >= c].index
    assert len(late) > 0
    assert not set(late) & set(history.xs(c, level="cutoff").index)


def test_rolling_windows_stack_with_groups_for_group_kfold(windows, cutoffs):
    history, labels = windows
    assert history.index.names == ["user_id", "cutoff"]
    assert history.index.is_unique
    assert set(history.index.get_level_values("cutoff")) == set(cutoffs)
    assert labels.index.equals(history.index)
    groups = labels["group"].to_numpy()
    for train, test in GroupKFold(n_splits=3).split(history, groups=groups):
        assert not set(groups[train]) & set(groups[test])


def test_an_event_exactly_at_the_cutoff_is_a_label_not_history():
    events = pd.DataFrame({
        "user_id": [1, 1, 1],
        "timestamp": [0.0, 5.0, 9.0],
        "event_type": ["view", "purchase", "view"],
    })
    history, labels = make_window_labels(events, 5.0, 3.0)
    assert history["timestamp"].tolist() == [[0.0]]
    assert labels["n_events"].tolist() == [1]


def test_input_not_modified(log, cutoffs):
    before = log.copy(deep=True)
    make_window_labels(log, cutoffs[0], "7D", columns=COLUMNS)
    pd.testing.assert_frame_equal(log, before)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"cutoff": "2000-01-01", "horizon": "7D"}, ValueError, "outside the data"),
        ({"cutoff": "2099-01-01", "horizon": "7D"}, ValueError, "outside the data"),
        ({"cutoff": "mid", "horizon": "0D"}, ValueError, "horizon must be positive"),
        ({"cutoff": "mid", "horizon": "-3D"}, ValueError, "horizon must be positive"),
        ({"cutoff": "mid", "horizon": "soon"}, TypeError, "horizon must be a duration"),
        ({"cutoff": "mid", "horizon": "7D", "value": "spend"}, ValueError,
         re.escape("value column ['spend'] not found")),
        ({"cutoff": "mid", "horizon": "7D", "value": "category"}, TypeError,
         "must be numeric"),
        ({"cutoff": "mid", "horizon": "7D", "target_event": ("kind", "buy")},
         ValueError, "not found"),
        ({"cutoff": "mid", "horizon": "7D", "target_event": "purchase"},
         TypeError, r"\(column, value\) pair"),
        ({"cutoff": [], "horizon": "7D"}, ValueError, "cutoff is empty"),
    ],
)
def test_bad_input(log, kwargs, error, match):
    if kwargs["cutoff"] == "mid":
        kwargs = {**kwargs, "cutoff": log["timestamp"].median()}
    with pytest.raises(error, match=match):
        make_window_labels(log, **kwargs)
