"""Event logs larger than memory: a hive-partitioned Parquet dataset grouped
into entity-hash partitions on disk, a streaming vectorizer fit equal to the
in-memory one, memory-mapped ragged model input, and an estimator trained
on it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from seqestimators import LSTMSequenceClassifier, SequenceVectorizer, to_sequences
from seqestimators.data import SequencePartitions, load_ragged, sequences_from_parquet
from seqestimators.datasets import make_event_log

COLUMNS = ["timestamp", "event_type", "item_id", "category", "price"]
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_out_of_core.py"


@pytest.fixture(scope="module")
def events():
    """400 users' events; the rows shuffled, so order_by has work to do."""
    events, targets = make_event_log(400, random_state=0)
    events = events.sample(frac=1.0, random_state=0).reset_index(drop=True)
    events["month"] = events["timestamp"].dt.month
    return events, targets


@pytest.fixture(scope="module")
def dataset_dir(events, tmp_path_factory):
    """The events as a Parquet dataset partitioned by month (hive folders)."""
    root = tmp_path_factory.mktemp("events")
    ds.write_dataset(pa.Table.from_pandas(events[0], preserve_index=False),
                     root, format="parquet", partitioning=["month"],
                     partitioning_flavor="hive", max_rows_per_group=500)
    return root


@pytest.fixture(scope="module")
def parts(dataset_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("parts") / "parts"
    return sequences_from_parquet(dataset_dir, folder, columns=COLUMNS,
                                  n_partitions=3, batch_size=700)


@pytest.fixture(scope="module")
def in_memory(events):
    return to_sequences(events[0], columns=COLUMNS)


def test_partitions_hold_every_entity_once_in_time_order(parts, in_memory):
    assert (len(parts), parts.n_events, parts.n_sequences) == (
        3, len(in_memory["timestamp"].explode()), len(in_memory))
    frames = list(parts)
    # entity-hash partitions: each entity in one partition only
    ids = np.concatenate([f.index.to_numpy() for f in frames])
    assert len(ids) == len(set(ids)) == len(in_memory)
    assert ids.tolist() == parts.index.tolist()
    whole = pd.concat(frames).loc[in_memory.index]
    for col in COLUMNS:
        assert whole[col].tolist() == in_memory[col].tolist(), col
    assert [parts.lengths(i).sum() for i in range(3)] == [
        f["timestamp"].list.len().sum() for f in frames]
    # reopening the folder gives the same partitions
    again = SequencePartitions(parts.directory)
    assert repr(again) == repr(parts) and again.index.equals(parts.index)


@pytest.mark.parametrize("params", [
    dict(max_len=15, min_frequency=2, reference_time="2024-06-01",
         calendar=["hour"]),
    dict(min_frequency=0.002, max_categories=30),
])
def test_streaming_fit_equals_the_in_memory_fit(parts, in_memory, params):
    streamed = SequenceVectorizer(**params).fit(parts)
    whole = SequenceVectorizer(**params).fit(in_memory)
    assert streamed.categorical_ == whole.categorical_
    assert streamed.time_features_ == whole.time_features_
    for c in whole.categorical_:
        np.testing.assert_array_equal(streamed.vocabularies_[c],
                                      whole.vocabularies_[c])
    assert streamed.vocabulary_fingerprint_ == whole.vocabulary_fingerprint_
    np.testing.assert_allclose(streamed.mean_, whole.mean_, rtol=1e-9)
    np.testing.assert_allclose(streamed.scale_, whole.scale_, rtol=1e-9)


@pytest.fixture(scope="module")
def vectorized(parts, in_memory):
    vec = SequenceVectorizer(max_len=15).fit(parts)
    X_disk = vec.transform(parts)
    X_mem = vec.transform(in_memory)
    rows = in_memory.index.get_indexer(X_disk.index)
    return vec, X_disk, X_mem[rows]


def test_transform_writes_memory_mapped_input_equal_to_in_memory(
        parts, vectorized):
    vec, X_disk, X_mem = vectorized
    assert isinstance(X_disk.categorical.base, np.memmap)
    assert isinstance(X_disk.numeric.base, np.memmap)
    assert X_disk.index.equals(parts.index) and X_disk.index.name == "user_id"
    np.testing.assert_array_equal(X_disk.offsets, X_mem.offsets)
    np.testing.assert_array_equal(X_disk.categorical, X_mem.categorical)
    np.testing.assert_array_equal(X_disk.numeric, X_mem.numeric)
    assert X_disk.cardinalities == X_mem.cardinalities
    assert X_disk.vocabulary_fingerprint == X_mem.vocabulary_fingerprint
    assert list(X_disk.categorical_names) == list(vec.categorical_)
    reopened = load_ragged(parts.directory / "model_input", mmap=False)
    np.testing.assert_array_equal(reopened.categorical, X_mem.categorical)
    for c, v in vec.vocabularies_.items():
        np.testing.assert_array_equal(reopened.vocabularies[c], v)


def test_an_estimator_trains_on_the_memory_mapped_input(events, vectorized):
    """Same rows, same seed: the model fitted on the memory-mapped input is
    the model fitted in memory."""
    _, X_disk, X_mem = vectorized
    y = events[1].loc[X_disk.index, "will_buy"].to_numpy()
    params = dict(hidden_size=4, max_epochs=1, batch_size=64, random_state=0)
    on_disk = LSTMSequenceClassifier(**params).fit(X_disk, y)
    in_memory = LSTMSequenceClassifier(**params).fit(X_mem, y)
    np.testing.assert_allclose(on_disk.predict_proba(X_disk),
                               in_memory.predict_proba(X_mem), rtol=1e-6)


def test_transform_replaces_earlier_input_without_breaking_its_arrays(
        parts, vectorized):
    _, X_disk, _ = vectorized
    before = np.array(X_disk.categorical)
    other = SequenceVectorizer(max_len=3).fit(parts).transform(parts)
    assert other.lengths.max() == 3
    assert load_ragged(parts.directory / "model_input").lengths.max() == 3
    # the arrays mapped from the replaced files still read their data
    np.testing.assert_array_equal(X_disk.categorical, before)
    assert sorted(p.name for p in parts.directory.iterdir()
                  if p.name.startswith(".")) == []


def test_a_single_parquet_file_and_default_partitions(events, tmp_path):
    path = tmp_path / "events.parquet"
    events[0].iloc[:500].to_parquet(path)
    parts = sequences_from_parquet(path, tmp_path / "parts", columns=["event_type"],
                                   order_by=None)
    meta = json.loads((parts.directory / "partitions.json").read_text())
    assert len(parts) == 1 and meta["n_partitions"] == 1
    assert parts.n_events == 500


def test_errors(dataset_dir, tmp_path):
    with pytest.raises(ValueError, match=r"Columns \['nope'\] are not in"):
        sequences_from_parquet(dataset_dir, tmp_path / "a", columns=["nope"])
    with pytest.raises(ValueError, match="must not contain the entity column"):
        sequences_from_parquet(dataset_dir, tmp_path / "b",
                               columns=["user_id", "price"])
    with pytest.raises(ValueError, match="n_partitions must be an int >= 1"):
        sequences_from_parquet(dataset_dir, tmp_path / "c", n_partitions=0)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sequences_from_parquet(tmp_path / "missing", tmp_path / "d")
    with pytest.raises(TypeError, match="source must be the path"):
        sequences_from_parquet(pd.DataFrame(), tmp_path / "e")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").touch()
    with pytest.raises(ValueError, match="is not empty"):
        sequences_from_parquet(dataset_dir, tmp_path / "full")
    with pytest.raises(ValueError, match="holds no sequence partitions"):
        SequencePartitions(tmp_path)
    with pytest.raises(ValueError, match="holds no ragged model input"):
        load_ragged(tmp_path)
    nulls = tmp_path / "nulls.parquet"
    pd.DataFrame({"user_id": [1.0, None], "timestamp": [1, 2],
                  "event": ["a", "b"]}).to_parquet(nulls)
    with pytest.raises(ValueError, match="entity column holds missing values"):
        sequences_from_parquet(nulls, tmp_path / "f")


def test_the_benchmark_runs_at_a_small_size(tmp_path):
    """benchmarks/bench_out_of_core.py (100M events by default) at 200,000
    events: both paths encode the same events, peak RSS is reported."""
    out = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--events", "200000", "--compare-events",
         "200000", "--workdir", str(tmp_path), "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    ooc, mem = result["out_of_core"], result["in_memory"]
    assert ooc["n_events"] == mem["n_events"] == 200_000
    assert ooc["kept_events"] == mem["kept_events"]
    assert ooc["n_sequences"] == mem["n_sequences"]
    for r in (ooc, mem):
        assert r["peak_rss_mib"] >= r["base_rss_mib"] > 0
    assert result["events_per_s_ratio_same_events"] > 0
    assert "events/s" in done.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # cleaned up
