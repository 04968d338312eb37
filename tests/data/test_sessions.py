"""split_sessions: sessions by inactivity gap, vectorized."""

import numpy as np
import pandas as pd
import pytest

from seqestimators import split_sessions, to_sequences
from seqestimators.datasets import make_event_log


@pytest.fixture(scope="module")
def log():
    events, _ = make_event_log(n_users=200, random_state=1)
    return events


def _reference(events, gap):
    """A per-user loop, for comparison only."""
    out = pd.Series(index=events.index, dtype=np.int64)
    next_id = 0
    for _, rows in events.sort_values(["user_id", "timestamp"], kind="stable").groupby(
        "user_id", sort=True
    ):
        prev = None
        for idx, ts in rows["timestamp"].items():
            if prev is None or ts - prev > gap:
                current = next_id
                next_id += 1
            out[idx] = current
            prev = ts
    return out


def test_matches_a_loop_reference(log):
    got = split_sessions(log, "30min", name="sess")["sess"]
    ref = _reference(log, pd.Timedelta("30min"))
    np.testing.assert_array_equal(got.to_numpy(), ref.to_numpy())


def test_recovers_the_generated_sessions(log):
    # make_event_log separates sessions by at least 30 minutes and keeps
    # events within a session closer than that
    got = split_sessions(log, "30min", name="sess")
    pairs = pd.crosstab(got["sess"], log["session_id"]) > 0  # one-to-one
    assert (pairs.sum(axis=1) == 1).all() and (pairs.sum(axis=0) == 1).all()


def test_session_ids_serve_as_sequence_key(log):
    sessions = split_sessions(log.drop(columns="session_id"), "30min")
    seqs = to_sequences(sessions, by="session_id", columns=["event_type"])
    assert len(seqs) == sessions["session_id"].nunique()
    assert seqs["event_type"].map(len).sum() == len(log)


def test_shuffled_input_keeps_row_order_and_ids(log):
    shuffled = log.sample(frac=1, random_state=0)
    a = split_sessions(log, "1h", name="sess")["sess"]
    b = split_sessions(shuffled, "1h", name="sess")["sess"]
    assert b.index.equals(shuffled.index)
    np.testing.assert_array_equal(b.loc[log.index].to_numpy(), a.to_numpy())


def test_numeric_times_and_gap_boundary():
    events = pd.DataFrame({"user_id": [1, 1, 1, 1], "timestamp": [0, 10, 20, 31]})
    # a pause of exactly `gap` stays in the session, a longer one splits
    assert split_sessions(events, 10)["session_id"].tolist() == [0, 0, 0, 1]


def test_input_not_modified(log):
    before = log.copy(deep=True)
    split_sessions(log, "30min", name="sess")
    pd.testing.assert_frame_equal(log, before)


@pytest.mark.parametrize(
    "gap, kwargs, error, match",
    [
        ("0min", {"name": "s"}, ValueError, "gap must be positive"),
        ("later", {"name": "s"}, TypeError, "gap must be a duration"),
        ("30min", {}, ValueError, "already exists"),
        ("30min", {"by": "visitor", "name": "s"}, ValueError, "not found"),
    ],
)
def test_bad_input(log, gap, kwargs, error, match):
    with pytest.raises(error, match=match):
        split_sessions(log, gap, **kwargs)
