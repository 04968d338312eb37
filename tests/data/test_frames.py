"""polars DataFrames, pyarrow Tables and Parquet files wherever a pandas frame
goes: every entry point gives the result it gives for the pandas frame, leaves
its input as it was, and names the type of anything else it refuses."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline

from seqestimators import (
    LSTMSequenceClassifier,
    SequenceVectorizer,
    leave_last_out,
    make_next_event_samples,
    make_window_labels,
    split_sessions,
    to_sequences,
)

try:
    import polars as pl
except ImportError:  # polars is optional: its cases are skipped
    pl = None

#: the columns of the shared ``sequences`` fixture (tests/conftest.py)
SEQUENCE_COLUMNS = ["timestamp", "event_type", "category", "price"]

needs_polars = pytest.mark.skipif(pl is None, reason="polars is not installed")

#: ways to hold the same frame; "polars" ones have no pandas index
EVENT_KINDS = ["polars", "polars-lazy", "arrow", "record-batch", "dataset", "parquet"]
SEQUENCE_KINDS = ["polars", "arrow", "parquet"]


def _params(kinds):
    return [
        pytest.param(k, marks=needs_polars) if k.startswith("polars") else k
        for k in kinds
    ]


def _convert(frame: pd.DataFrame, kind: str, path):
    if kind == "polars":
        return pl.from_pandas(frame)  # the index is dropped
    if kind == "polars-lazy":
        return pl.from_pandas(frame).lazy()
    if kind == "arrow":
        return pa.Table.from_pandas(frame)
    if kind == "record-batch":
        return pa.RecordBatch.from_pandas(frame)
    frame.to_parquet(path)
    return ds.dataset(path) if kind == "dataset" else str(path)


def _snapshot(obj):
    """A copy to compare ``obj`` with after a call (None: immutable)."""
    if isinstance(obj, pd.DataFrame):
        return obj.copy(deep=True)
    if pl is not None and isinstance(obj, pl.DataFrame):
        return obj.clone()
    if isinstance(obj, pa.Table | pa.RecordBatch):
        return obj.to_pylist()
    return None


def _assert_unchanged(obj, snapshot):
    if isinstance(obj, pd.DataFrame):
        pd.testing.assert_frame_equal(obj, snapshot)
    elif pl is not None and isinstance(obj, pl.DataFrame):
        assert obj.equals(snapshot)
    elif isinstance(obj, pa.Table | pa.RecordBatch):
        assert obj.to_pylist() == snapshot


def _call(func, obj):
    """``func(obj)``, checking that ``obj`` is unchanged afterwards."""
    before = _snapshot(obj)
    out = func(obj)
    _assert_unchanged(obj, before)
    return out


@pytest.fixture(scope="module")
def events(event_log):
    return event_log[0]


@pytest.fixture(scope="module")
def seqs(sequences):
    return sequences


# ------------------------------------------------------------ event logs
@pytest.mark.parametrize("kind", _params(EVENT_KINDS))
def test_to_sequences_reads_every_kind_of_frame(events, kind, tmp_path):
    expected = to_sequences(events, columns=SEQUENCE_COLUMNS)
    obj = _convert(events, kind, tmp_path / "events.parquet")
    out = _call(lambda e: to_sequences(e, columns=SEQUENCE_COLUMNS), obj)
    pd.testing.assert_frame_equal(out, expected)


@pytest.mark.parametrize("kind", _params(["polars", "arrow", "parquet"]))
def test_split_sessions_reads_every_kind_of_frame(events, kind, tmp_path):
    expected = split_sessions(events, "20min", name="visit")
    obj = _convert(events, kind, tmp_path / "events.parquet")
    out = _call(lambda e: split_sessions(e, "20min", name="visit"), obj)
    pd.testing.assert_frame_equal(out, expected)


@pytest.mark.parametrize("kind", _params(["polars", "arrow", "parquet"]))
def test_make_window_labels_reads_every_kind_of_frame(events, kind, tmp_path):
    cutoffs = events["timestamp"].quantile([0.5, 0.7]).tolist()

    def labels(e):
        return make_window_labels(
            e,
            cutoffs,
            "7D",
            target_event=("event_type", "purchase"),
            value="price",
            columns=SEQUENCE_COLUMNS,
        )

    history, y = labels(events)
    obj = _convert(events, kind, tmp_path / "events.parquet")
    out_history, out_y = _call(labels, obj)
    pd.testing.assert_frame_equal(out_history, history)
    pd.testing.assert_frame_equal(out_y, y)


# --------------------------------------------------------- sequence frames
def _positional(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` indexed by row position, as a polars frame (no index) is."""
    return frame.reset_index(drop=True)


@pytest.mark.parametrize("kind", _params(SEQUENCE_KINDS))
def test_leave_last_out_reads_every_kind_of_frame(seqs, kind, tmp_path):
    history, y = leave_last_out(seqs, "event_type")
    obj = _convert(seqs, kind, tmp_path / "seqs.parquet")
    out_history, out_y = _call(lambda s: leave_last_out(s, "event_type"), obj)
    if kind == "polars":
        history, y = _positional(history), y.reset_index(drop=True)
        out_history, out_y = _positional(out_history), out_y.reset_index(drop=True)
    pd.testing.assert_frame_equal(out_history, history)
    pd.testing.assert_series_equal(out_y, y)


@pytest.mark.parametrize("kind", _params(SEQUENCE_KINDS))
def test_make_next_event_samples_reads_every_kind_of_frame(seqs, kind, tmp_path):
    def samples(s):
        return make_next_event_samples(
            s, "event_type", max_per_entity=3, random_state=0
        )

    prefixes, y = samples(seqs)
    obj = _convert(seqs, kind, tmp_path / "seqs.parquet")
    out_prefixes, out_y = _call(samples, obj)
    if kind == "polars":  # entities are row positions
        positions = pd.Index(np.arange(len(seqs)))
        entity = seqs.index.get_indexer(prefixes.index.get_level_values(0))
        assert out_prefixes.index.get_level_values(0).equals(positions[entity])
        prefixes, out_prefixes = _positional(prefixes), _positional(out_prefixes)
    pd.testing.assert_frame_equal(out_prefixes, prefixes)
    np.testing.assert_array_equal(out_y, y)


def _assert_same_ragged(out, expected, *, index=True):
    np.testing.assert_array_equal(out.offsets, expected.offsets)
    np.testing.assert_array_equal(out.categorical, expected.categorical)
    np.testing.assert_array_equal(out.numeric, expected.numeric)
    assert out.categorical_names == expected.categorical_names
    assert out.numeric_names == expected.numeric_names
    if index:
        assert out.index.equals(expected.index)


@pytest.mark.parametrize("kind", _params(SEQUENCE_KINDS))
def test_vectorizer_reads_every_kind_of_frame(seqs, kind, tmp_path):
    params = {"max_len": 20, "calendar": ["hour"]}
    expected = SequenceVectorizer(**params).fit_transform(seqs)
    obj = _convert(seqs, kind, tmp_path / "seqs.parquet")
    vec = _call(SequenceVectorizer(**params).fit, obj)
    out = _call(vec.transform, obj)
    _assert_same_ragged(out, expected, index=kind != "polars")
    if kind == "polars":
        assert out.index.equals(pd.RangeIndex(len(seqs)))
    # fitted on one kind, applied to another
    _assert_same_ragged(vec.transform(seqs), expected)
    assert list(vec.feature_names_in_) == list(seqs.columns)


@needs_polars
def test_polars_list_columns_are_read_without_python_objects(seqs):
    from seqestimators.data._frames import as_pandas_frame

    frame = as_pandas_frame(pl.from_pandas(seqs))
    assert all(isinstance(d, pd.ArrowDtype) for d in frame.dtypes)


def test_arrow_view_types_read_as_plain_lists(seqs):
    # string_view and list_view cells, such as other Arrow producers emit
    table = pa.Table.from_pandas(seqs[["event_type"]], preserve_index=False)
    lists = table.column(0).combine_chunks()
    views = pa.ListViewArray.from_arrays(
        lists.offsets[:-1],
        pa.array(np.diff(np.asarray(lists.offsets)).astype(np.int32)),
        lists.values.cast(pa.string_view()),
    )
    expected = SequenceVectorizer().fit_transform(_positional(seqs[["event_type"]]))
    out = SequenceVectorizer().fit_transform(pa.table({"event_type": views}))
    _assert_same_ragged(out, expected)


def _pipeline():
    model = LSTMSequenceClassifier(hidden_size=4, max_epochs=2, random_state=0)
    return Pipeline([("vec", SequenceVectorizer(max_len=20)), ("model", model)])


@pytest.fixture(scope="module")
def pandas_scores(seqs, targets):
    y = targets.loc[seqs.index, "will_buy"].to_numpy()
    return cross_val_score(_pipeline(), seqs, y, cv=2)


@pytest.mark.parametrize("kind", _params(["polars", "arrow"]))
def test_pipeline_cross_validates_polars_and_arrow_frames(
    seqs, targets, pandas_scores, kind
):
    # scikit-learn's splitters index rows of polars and Arrow frames natively
    y = targets.loc[seqs.index, "will_buy"].to_numpy()
    X = _convert(seqs, kind, None)
    scores = _call(lambda x: cross_val_score(_pipeline(), x, y, cv=2), X)
    np.testing.assert_allclose(scores, pandas_scores)


def test_cross_validating_a_record_batch_points_to_a_table(seqs, targets):
    # scikit-learn indexes the rows of a RecordBatch into a StructArray
    y = targets.loc[seqs.index, "will_buy"].to_numpy()
    batch = pa.RecordBatch.from_pandas(seqs)
    with pytest.raises(TypeError, match=r"StructArray.*pa\.Table\.from_batches"):
        cross_val_score(_pipeline(), batch, y, cv=2, error_score="raise")


# ------------------------------------------------------------------ errors
WRONG = [
    ([{"user_id": 1, "timestamp": 1}], "got list instead"),
    (np.zeros((3, 2)), "got numpy.ndarray instead"),
    ({"user_id": [1]}, "got dict instead"),
    (None, "got NoneType instead"),
]


def _entry_points():
    return {
        "to_sequences": to_sequences,
        "split_sessions": split_sessions,
        "make_window_labels": lambda e: make_window_labels(e, 1, 1),
        "leave_last_out": lambda s: leave_last_out(s, "event_type"),
        "make_next_event_samples": lambda s: make_next_event_samples(
            s, "event_type"
        ),
        "SequenceVectorizer.fit": SequenceVectorizer().fit,
    }


@pytest.mark.parametrize("entry", list(_entry_points()))
@pytest.mark.parametrize("bad, message", WRONG, ids=[m for _, m in WRONG])
def test_other_types_are_refused_by_name(entry, bad, message):
    with pytest.raises(TypeError, match=message) as info:
        _entry_points()[entry](bad)
    text = str(info.value)
    assert "a pandas DataFrame, a polars DataFrame" in text
    assert "pyarrow Table" in text and "Parquet file" in text


@needs_polars
def test_a_polars_series_is_refused_by_name(events):
    with pytest.raises(TypeError, match=r"got polars\.Series instead.*to_frame"):
        to_sequences(pl.from_pandas(events["user_id"]))


def test_a_path_must_be_a_parquet_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        to_sequences(tmp_path / "missing.parquet")
    csv = tmp_path / "events.csv"
    csv.write_text("user_id,timestamp\n1,2\n")
    with pytest.raises(ValueError, match="could not be read as Parquet.*read_csv"):
        to_sequences(csv)


def test_arrow_input_works_without_polars(monkeypatch):
    # polars is optional and never imported: with it unimportable, Arrow input
    # still converts and wrong types are still named
    monkeypatch.setitem(sys.modules, "polars", None)
    table = pa.table({"user_id": [2, 1, 1], "e": ["c", "a", "b"]})
    assert to_sequences(table, order_by=None)["e"].tolist() == [["a", "b"], ["c"]]
    with pytest.raises(TypeError, match="got list instead"):
        to_sequences([1])
