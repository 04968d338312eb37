"""Tests for seqestimators.datasets.make_event_log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from seqestimators.datasets import make_event_log

N_USERS = 2500
EVENT_TYPES = {"view", "cart", "purchase", "remove_from_cart"}
EVENT_COLUMNS = [
    "user_id",
    "timestamp",
    "session_id",
    "event_type",
    "item_id",
    "category",
    "price",
]


@pytest.fixture(scope="module")
def log():
    return make_event_log(N_USERS, random_state=0)


@pytest.fixture(scope="module")
def events(log):
    return log[0]


@pytest.fixture(scope="module")
def targets(log):
    return log[1]


def _cv(n_splits=5, stratified=True):
    cls = StratifiedKFold if stratified else KFold
    return cls(n_splits=n_splits, shuffle=True, random_state=0)


# ------------------------------------------------------------------- events


def test_columns_and_dtypes(events):
    assert list(events.columns) == EVENT_COLUMNS
    assert isinstance(events.index, pd.RangeIndex)
    assert events.index.equals(pd.RangeIndex(len(events)))
    for col in ["user_id", "session_id", "item_id"]:
        assert events[col].dtype == np.int64, col
    assert events["timestamp"].dtype == np.dtype("datetime64[ns]")
    assert events["price"].dtype == np.float64
    for col in ["event_type", "category"]:
        assert pd.api.types.is_string_dtype(events[col]), col
        assert not events[col].isna().any()
    assert not events.isna().any().any()


def test_sorted_by_user_then_time(events):
    assert events["user_id"].is_monotonic_increasing
    diffs = events.groupby("user_id")["timestamp"].diff().dropna()
    assert (diffs > pd.Timedelta(0)).all()
    expected = events.sort_values(["user_id", "timestamp"], kind="stable")
    pd.testing.assert_frame_equal(events, expected.reset_index(drop=True))


def test_events_inside_window():
    start, days = "2023-06-15", 30
    events, _ = make_event_log(300, random_state=1, start=start, days=days)
    lo = pd.Timestamp(start)
    assert events["timestamp"].min() >= lo
    assert events["timestamp"].max() < lo + pd.Timedelta(days=days)


def test_event_types_and_users(events):
    assert set(events["event_type"].unique()) == EVENT_TYPES
    assert events["user_id"].nunique() == N_USERS
    per_user = events.groupby("user_id")
    assert per_user.size().min() >= 2
    # Every user carted something and did something else too.
    is_cart = events["event_type"].eq("cart").groupby(events["user_id"])
    assert is_cart.any().all()
    assert (~is_cart.all()).all()


def test_sessions(events):
    # A session belongs to exactly one user and is a contiguous run of rows.
    assert (events.groupby("session_id")["user_id"].nunique() == 1).all()
    assert events["session_id"].is_monotonic_increasing
    gaps = events.groupby("user_id")["timestamp"].diff().dt.total_seconds()
    same_session = events["session_id"].eq(events["session_id"].shift())
    within = gaps[same_session]
    between = gaps[~same_session].dropna()
    assert within.median() < 10 * 60  # seconds to minutes
    assert within.max() < 2 * 3600
    assert between.min() >= 1800  # at least half an hour
    assert between.median() > 3 * 3600  # hours to days
    sessions_per_user = events.groupby("user_id")["session_id"].nunique()
    assert sessions_per_user.min() >= 1
    assert sessions_per_user.max() > 5


def test_item_mappings_are_fixed(events):
    per_item = events.groupby("item_id")
    assert (per_item["category"].nunique() == 1).all()
    assert (per_item["price"].nunique() == 1).all()
    assert events["price"].gt(0).all()
    assert 1000 <= events["item_id"].nunique() <= 2000
    assert 10 <= events["category"].nunique() <= 20


def test_item_popularity_long_tail(events):
    counts = events["item_id"].value_counts()
    top = counts.iloc[: len(counts) // 10].sum() / counts.sum()
    assert top > 0.4  # the top 10 % of items get a large share of events
    assert counts.iloc[0] > 20 * counts.median()


def test_purchases_mostly_follow_a_cart(events):
    pos = events.groupby("user_id").cumcount()
    ev = events.assign(pos=pos)
    first_cart = (
        ev[ev["event_type"] == "cart"]
        .groupby(["user_id", "item_id"])["pos"]
        .min()
        .rename("cart_pos")
    )
    purchases = ev[ev["event_type"] == "purchase"].join(
        first_cart, on=["user_id", "item_id"]
    )
    assert len(purchases) > 0
    assert (purchases["cart_pos"] < purchases["pos"]).mean() > 0.85


def test_activity_is_long_tailed(events):
    lengths = events.groupby("user_id").size()
    assert 5 <= lengths.median() <= 20
    assert (lengths < 20).mean() > 0.5
    assert lengths.max() >= 100
    assert lengths.max() <= 500


# ------------------------------------------------------------- determinism


def test_same_seed_same_data():
    a_events, a_targets = make_event_log(300, random_state=42)
    b_events, b_targets = make_event_log(300, random_state=42)
    pd.testing.assert_frame_equal(a_events, b_events)
    pd.testing.assert_frame_equal(a_targets, b_targets)


def test_different_seeds_differ():
    a_events, a_targets = make_event_log(300, random_state=1)
    b_events, b_targets = make_event_log(300, random_state=2)
    assert not a_events.equals(b_events)
    assert not a_targets.equals(b_targets)
    c_events, _ = make_event_log(300)
    d_events, _ = make_event_log(300)
    assert not c_events.equals(d_events)


def test_accepts_random_state_and_generator():
    a, _ = make_event_log(50, random_state=np.random.RandomState(0))
    b, _ = make_event_log(50, random_state=np.random.RandomState(0))
    pd.testing.assert_frame_equal(a, b)
    c, _ = make_event_log(50, random_state=np.random.default_rng(0))
    d, _ = make_event_log(50, random_state=np.random.default_rng(0))
    pd.testing.assert_frame_equal(c, d)


def test_single_user():
    events, targets = make_event_log(1, random_state=0)
    assert events["user_id"].unique().tolist() == [1]
    assert targets.index.tolist() == [1]
    assert len(events) >= 2


# ------------------------------------------------------------------ targets


def test_targets_frame(events, targets):
    assert targets.index.name == "user_id"
    expected = pd.Index(np.sort(events["user_id"].unique()), name="user_id")
    pd.testing.assert_index_equal(targets.index, expected)
    assert {"will_buy", "next_event", "future_spend"} <= set(targets.columns)
    assert targets["will_buy"].dtype == np.int64
    assert set(targets["will_buy"].unique()) == {0, 1}
    assert 0.35 <= targets["will_buy"].mean() <= 0.65
    assert pd.api.types.is_string_dtype(targets["next_event"])
    assert set(targets["next_event"].unique()) <= EVENT_TYPES
    assert targets["next_event"].nunique() >= 3
    assert targets["future_spend"].dtype == np.float64
    assert np.isfinite(targets["future_spend"]).all()
    assert (targets["future_spend"] >= 0).all()
    assert 0.1 < (targets["future_spend"] > 0).mean() < 0.9


def _bag_of_events(events):
    counts = pd.crosstab(events["user_id"], events["event_type"])
    counts["length"] = counts.sum(axis=1)
    counts["n_sessions"] = events.groupby("user_id")["session_id"].nunique()
    return np.log1p(counts.astype(float))


def _last_event_onehot(events, last_n=None):
    ev = events if last_n is None else events.groupby("user_id").tail(last_n)
    last = ev.groupby("user_id")["event_type"].last()
    return pd.get_dummies(last).astype(float)


def test_will_buy_is_invisible_to_counts(events, targets):
    X = _bag_of_events(events)
    y = targets["will_buy"].loc[X.index]
    model = make_pipeline(StandardScaler(), LogisticRegression())
    auc = cross_val_score(model, X, y, scoring="roc_auc", cv=_cv()).mean()
    assert auc <= 0.6


def test_will_buy_is_learnable_from_order(events, targets):
    X = _last_event_onehot(events)
    y = targets["will_buy"].loc[X.index]
    auc = cross_val_score(LogisticRegression(), X, y, scoring="roc_auc", cv=_cv())
    assert auc.mean() >= 0.9
    # The pattern lives at the end of the sequence: keeping only the last
    # events preserves it.
    pd.testing.assert_frame_equal(_last_event_onehot(events, last_n=50), X)


def test_next_event_is_partly_predictable(events, targets):
    X = _last_event_onehot(events)
    y = targets["next_event"].loc[X.index]
    acc = cross_val_score(LogisticRegression(), X, y, cv=_cv()).mean()
    baseline = cross_val_score(DummyClassifier(), X, y, cv=_cv()).mean()
    assert acc > baseline + 0.05
    assert acc < 0.9  # but not trivially


def test_future_spend_has_signal(events, targets):
    purchases = events[events["event_type"] == "purchase"]
    past_spend = purchases.groupby("user_id")["price"].sum()
    X = past_spend.reindex(targets.index, fill_value=0.0).to_frame()
    y = targets["future_spend"]
    r2 = cross_val_score(
        LinearRegression(), X, y, scoring="r2", cv=_cv(stratified=False)
    )
    assert r2.mean() > 0.1


# --------------------------------------------------------------- validation


@pytest.mark.parametrize("n_users", [0, -3, 2.5, "10", None])
def test_invalid_n_users(n_users):
    msg = (
        r"The 'n_users' parameter of make_event_log must be an int in the range "
        r"\[1, inf\)\. Got .* instead\."
    )
    with pytest.raises((ValueError, TypeError), match=msg):
        make_event_log(n_users)


def test_invalid_n_users_message():
    with pytest.raises(ValueError) as exc_info:
        make_event_log(0)
    assert str(exc_info.value) == (
        "The 'n_users' parameter of make_event_log must be an int in the range "
        "[1, inf). Got 0 instead."
    )


@pytest.mark.parametrize("days", [0, 1.5])
def test_invalid_days(days):
    with pytest.raises((ValueError, TypeError), match="'days' parameter"):
        make_event_log(10, days=days)


@pytest.mark.parametrize(
    "start", ["not a date", pd.Timestamp("2024-01-01", tz="UTC"), 20240101]
)
def test_invalid_start(start):
    with pytest.raises((ValueError, TypeError), match="'start' parameter"):
        make_event_log(10, start=start)


def test_invalid_random_state():
    with pytest.raises((ValueError, TypeError), match="'random_state' parameter"):
        make_event_log(10, random_state="seed")


# ---------------------------------------------------------------- pinned output
def _digest(events, targets) -> str:
    import hashlib

    parts = [
        pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
        for frame in (events, targets)
    ]
    return hashlib.sha256(b"".join(parts)).hexdigest()


@pytest.mark.parametrize(
    "n_users, seed, kwargs, n_events, digest",
    [
        (
            50,
            0,
            {},
            811,
            "34c47bf3f4f0124152ad41975ec3dfe6dd45332ab3f3e5d78041c8c43aa0b6c9",
        ),
        (
            40,
            7,
            {"start": "2023-06-15", "days": 2},
            1032,
            "76452c7e3e7657e52c1cde2e0ae9fa7385f061fefecdd32e85bbc2b682989eae",
        ),
    ],
)
def test_output_is_pinned_for_a_seed(n_users, seed, kwargs, n_events, digest):
    """The generator's output for a given seed never changes (a refactor of
    make_event_log must keep it bit-identical)."""
    events, targets = make_event_log(n_users, random_state=seed, **kwargs)
    assert len(events) == n_events
    assert _digest(events, targets) == digest
