"""Tests for seqestimators.to_sequences."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from seqestimators import to_sequences
from seqestimators.datasets import make_event_log

EVENT_COLUMNS = [
    "timestamp",
    "session_id",
    "event_type",
    "item_id",
    "category",
    "price",
]


@pytest.fixture(scope="module")
def events():
    events, _ = make_event_log(120, random_state=0)
    return events


@pytest.fixture(scope="module")
def shuffled(events):
    return events.sample(frac=1.0, random_state=1)


@pytest.fixture(scope="module")
def seqs(shuffled):
    return to_sequences(shuffled)


@pytest.fixture
def tiny():
    # Users 2 and 1 interleaved; user 1 has a timestamp tie (1, 1) and its
    # events are out of order in the input.
    return pd.DataFrame(
        {
            "user_id": [2, 1, 2, 1, 1, 3],
            "timestamp": [5, 1, 3, 1, 0, 7],
            "event": ["a", "b", "c", "d", "e", "f"],
            "price": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )


# ------------------------------------------------------------------ structure
def test_one_row_per_entity_sorted_index_named_by(events, seqs):
    assert seqs.index.name == "user_id"
    assert seqs.index.is_unique
    assert seqs.index.is_monotonic_increasing
    np.testing.assert_array_equal(seqs.index, np.sort(events["user_id"].unique()))


def test_columns_none_takes_all_but_by_as_arrow_list_columns(seqs):
    assert list(seqs.columns) == EVENT_COLUMNS
    for col in seqs.columns:
        dtype = seqs[col].dtype
        assert isinstance(dtype, pd.ArrowDtype), col
        assert pa.types.is_large_list(dtype.pyarrow_dtype), col


def test_list_columns_keep_element_types(seqs):
    types = {c: seqs[c].dtype.pyarrow_dtype.value_type for c in seqs.columns}
    assert pa.types.is_timestamp(types["timestamp"])
    assert pa.types.is_integer(types["item_id"])
    assert pa.types.is_floating(types["price"])
    assert pa.types.is_large_string(types["event_type"]) or pa.types.is_string(
        types["event_type"]
    )


def test_columns_subset_and_single_name(tiny):
    out = to_sequences(tiny, columns=["event"])
    assert list(out.columns) == ["event"]
    assert out["event"].tolist() == [["e", "b", "d"], ["c", "a"], ["f"]]
    pd.testing.assert_frame_equal(out, to_sequences(tiny, columns="event"))


def test_time_order_and_stable_ties(tiny):
    out = to_sequences(tiny)
    assert out.index.tolist() == [1, 2, 3]
    # user 1: timestamps 1 (row "b"), 1 (row "d"), 0 ("e") -> e, then the tie
    # in input order b, d.
    assert out["event"].tolist() == [["e", "b", "d"], ["c", "a"], ["f"]]
    assert out["timestamp"].tolist() == [[0, 1, 1], [3, 5], [7]]
    assert out["price"].tolist() == [[5.0, 2.0, 4.0], [3.0, 1.0], [6.0]]


def test_ties_keep_input_order_on_larger_log():
    rng = np.random.default_rng(0)
    n = 2000
    events = pd.DataFrame(
        {
            "user_id": rng.integers(0, 50, n),
            "timestamp": rng.integers(0, 5, n),  # many ties
            "pos": np.arange(n),  # input position
        }
    )
    out = to_sequences(events)
    ref = events.sort_values(["user_id", "timestamp"], kind="stable")
    flat = out["pos"].list.flatten().to_numpy(dtype=np.int64)
    np.testing.assert_array_equal(flat, ref["pos"].to_numpy())


def test_order_by_none_keeps_input_order(tiny):
    out = to_sequences(tiny, order_by=None)
    assert out["event"].tolist() == [["b", "d", "e"], ["a", "c"], ["f"]]


def test_tz_aware_timestamps_are_ordered_in_utc():
    ts = pd.to_datetime(
        ["2024-01-01 10:00", "2024-01-01 09:00", "2024-01-01 11:00"]
    ).tz_localize("Europe/Paris")
    events = pd.DataFrame({"user_id": [1, 1, 1], "timestamp": ts, "e": list("abc")})
    out = to_sequences(events)
    assert out["e"].tolist() == [["b", "a", "c"]]


def test_sorted_input_equals_shuffled_input(events, seqs):
    # The generated log is sorted by user and time and has no timestamp ties,
    # so the result does not depend on the input order.
    assert not events.duplicated(["user_id", "timestamp"]).any()
    already_sorted = to_sequences(events)
    pd.testing.assert_frame_equal(already_sorted, seqs)


def test_round_trip_matches_groupby_reference(events, seqs):
    ref = events.sort_values(["user_id", "timestamp"], kind="stable")
    sizes = ref.groupby("user_id").size()
    np.testing.assert_array_equal(seqs["event_type"].list.len().to_numpy(), sizes)
    for col in EVENT_COLUMNS:
        flat = seqs[col].list.flatten()
        np.testing.assert_array_equal(flat.to_numpy(), ref[col].to_numpy(), err_msg=col)
    # and per user, on the first users (small, explicit reference)
    for user, group in list(ref.groupby("user_id"))[:15]:
        row = seqs.loc[user]
        for col in EVENT_COLUMNS:
            assert list(row[col]) == group[col].tolist(), (user, col)


def test_arrow_backed_and_categorical_input(tiny):
    expected = to_sequences(tiny)
    arrow = to_sequences(tiny.convert_dtypes(dtype_backend="pyarrow"))
    assert arrow["event"].tolist() == expected["event"].tolist()
    assert arrow["timestamp"].tolist() == expected["timestamp"].tolist()
    cat = to_sequences(tiny.astype({"event": "category"}))
    assert cat["event"].tolist() == expected["event"].tolist()


def test_string_entity_ids(tiny):
    out = to_sequences(
        tiny.assign(user_id=tiny["user_id"].map({1: "b", 2: "a", 3: "c"}))
    )
    assert out.index.tolist() == ["a", "b", "c"]
    assert out["event"].tolist() == [["c", "a"], ["e", "b", "d"], ["f"]]


# -------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"by": "uid"}, "uid"),
        ({"order_by": "ts"}, "ts"),
        ({"columns": ["event", "nope"]}, "nope"),
    ],
)
def test_missing_column_is_named(tiny, kwargs, name):
    with pytest.raises(ValueError, match=re.escape(f"['{name}'] not found")):
        to_sequences(tiny, **kwargs)


def test_nan_in_by(tiny):
    bad = tiny.assign(user_id=[1.0, np.nan, 2.0, 1.0, 1.0, 3.0])
    with pytest.raises(ValueError, match="Entity column 'user_id' has missing values"):
        to_sequences(bad)


@pytest.mark.parametrize(
    "timestamps",
    [
        [5.0, np.nan, 3.0, 1.0, 0.0, 7.0],
        pd.to_datetime([5, None, 3, 1, 0, 7], unit="s"),
    ],
    ids=["float-nan", "datetime-nat"],
)
def test_nan_in_order_by(tiny, timestamps):
    with pytest.raises(
        ValueError, match="Ordering column 'timestamp' has missing values"
    ):
        to_sequences(tiny.assign(timestamp=timestamps))


def test_empty_frame(tiny):
    with pytest.raises(ValueError, match="empty"):
        to_sequences(tiny.iloc[:0])


@pytest.mark.parametrize("bad", [np.zeros((3, 2)), [{"user_id": 1}], None])
def test_not_a_dataframe(bad):
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        to_sequences(bad)


def test_by_in_columns_and_order_by_equal_by(tiny):
    with pytest.raises(ValueError, match="must not contain the entity column"):
        to_sequences(tiny, columns=["user_id", "event"])
    with pytest.raises(ValueError, match="order_by must differ from by"):
        to_sequences(tiny, order_by="user_id")
    with pytest.raises(ValueError, match="No columns left"):
        to_sequences(tiny, columns=[])


def test_duplicated_column_names(tiny):
    dup = pd.concat([tiny, tiny[["event"]]], axis=1)
    with pytest.raises(ValueError, match=re.escape("['event'] appear more than once")):
        to_sequences(dup)


# ------------------------------------------------------------- immutability
@pytest.mark.parametrize("which", ["sorted", "shuffled"])
def test_input_not_modified(events, shuffled, which):
    frame = events if which == "sorted" else shuffled
    before = frame.copy(deep=True)
    to_sequences(frame)
    to_sequences(frame, columns=["event_type", "price"])
    pd.testing.assert_frame_equal(frame, before)
