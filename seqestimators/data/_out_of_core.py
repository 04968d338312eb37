"""Event logs larger than memory: entity-hash partitions on disk, and ragged
model input in memory-mapped ``.npy`` files.

:func:`sequences_from_parquet` scans a (partitioned) Parquet dataset with
``pyarrow.dataset`` one record batch at a time, sends every event to one of
``n_partitions`` spill files by a hash of its entity id, then groups and
sorts one partition at a time with :func:`~seqestimators.to_sequences`. Each
partition holds whole entities, so it is an ordinary sequence frame; at most
one partition is in memory at a time. The result,
:class:`SequencePartitions`, goes to
:class:`~seqestimators.SequenceVectorizer`, whose ``fit`` streams over the
partitions and whose ``transform`` writes :func:`load_ragged`'s files.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ._frames import as_pandas_frame
from ._ragged import RaggedSequences
from ._sequences import to_sequences

__all__ = ["SequencePartitions", "load_ragged", "sequences_from_parquet"]

#: events per partition when ``n_partitions`` is None
EVENTS_PER_PARTITION = 4_000_000
_META = "partitions.json"
_RAGGED_META = "ragged.json"
_FORMAT = 1


# ------------------------------------------------------------ partitioning
def entity_partitions(entities: pa.Array | pa.ChunkedArray, n: int) -> np.ndarray:
    """Partition (``0 .. n - 1``) of each entity id, by a hash that is the
    same in every process and run (``pandas.util.hash_array``).

    Examples
    --------
    >>> import pyarrow as pa
    >>> parts = entity_partitions(pa.array(["u1", "u2", "u1"]), 4)
    >>> bool(parts[0] == parts[2]), bool(parts.max() < 4)
    (True, True)
    """
    if entities.null_count:
        raise ValueError(
            "The entity column holds missing values: every event needs an "
            "entity id. Drop or fill those events first."
        )
    values = entities.to_numpy(zero_copy_only=False)
    hashed = pd.util.hash_array(values, categorize=False)
    return (hashed % np.uint64(n)).astype(np.int64)


def _dataset(source):
    import pyarrow.dataset as ds

    if isinstance(source, ds.Dataset):
        return source
    if not isinstance(source, str | os.PathLike):
        raise TypeError(
            "source must be the path of a Parquet file or folder (hive-"
            "partitioned folders included), a list of such paths, or a "
            f"pyarrow.dataset.Dataset; got {type(source).__name__} instead."
        )
    if not os.path.exists(source):
        raise FileNotFoundError(f"source {os.fspath(source)!r} does not exist.")
    return ds.dataset(source, format="parquet", partitioning="hive")


def _columns(dataset, by, order_by, columns) -> list[str]:
    names = list(dataset.schema.names)
    if columns is None:
        columns = [c for c in names if c != by]
    elif isinstance(columns, str):
        columns = [columns]
    columns = list(columns)
    wanted = [by, *columns] + ([order_by] if order_by is not None else [])
    missing = [c for c in wanted if c not in names]
    if missing:
        raise ValueError(
            f"Columns {missing} are not in the dataset; its columns are {names}."
        )
    if by in columns:
        raise ValueError(
            f"columns must not contain the entity column {by!r}: it becomes the "
            "index."
        )
    return columns


#: rows per record batch of the scan: the scanner queues batches ahead of a
#: slower consumer, so its memory grows with the batch size
_SCAN_ROWS = 1 << 17


def _chunks(dataset, read: list[str], rows: int) -> Iterator[pa.Table]:
    """The dataset's rows in tables of at least ``rows`` rows (the last may
    be smaller), scanned in small batches."""
    scan = dataset.to_batches(columns=read, batch_size=min(rows, _SCAN_ROWS),
                              batch_readahead=1, fragment_readahead=1)
    pending: list[pa.RecordBatch] = []
    n = 0
    for batch in scan:
        if batch.num_rows:
            pending.append(batch)
            n += batch.num_rows
        if n >= rows:
            yield pa.Table.from_batches(pending).combine_chunks()
            pending, n = [], 0
    if pending:
        yield pa.Table.from_batches(pending).combine_chunks()


def _spill(dataset, read: list[str], by: str, n: int, folder: Path,
           batch_size: int) -> list[Path | None]:
    """Write every event to the spill file of its entity's partition, one
    chunk of ``batch_size`` rows at a time. Returns the spill file of each
    partition (None for a partition without events)."""
    writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
    paths: list[Path | None] = [None] * n
    try:
        for chunk in _chunks(dataset, read, batch_size):
            part = entity_partitions(chunk.column(by), n)
            order = np.argsort(part, kind="stable")
            bounds = np.searchsorted(part[order], np.arange(n + 1))
            chunk = chunk.take(pa.array(order))
            for p in np.flatnonzero(np.diff(bounds)):
                if p not in writers:
                    paths[p] = folder / f"spill-{p:05d}.arrow"
                    writers[p] = pa.ipc.new_file(paths[p], chunk.schema)
                size = bounds[p + 1] - bounds[p]
                writers[p].write_table(chunk.slice(bounds[p], size))
            del chunk
    finally:
        for writer in writers.values():
            writer.close()
    return paths


def _read_arrow(path: Path) -> pa.Table:
    """A memory-mapped Arrow IPC file as a table (no copy)."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def sequences_from_parquet(
    source,
    directory,
    *,
    by: str = "user_id",
    order_by: str | None = "timestamp",
    columns: Sequence[str] | None = None,
    n_partitions: int | None = None,
    batch_size: int = 1 << 20,
) -> SequencePartitions:
    """Group an event log larger than memory into sequence partitions on disk.

    The events are read one record batch at a time from a Parquet dataset
    and spilled to ``n_partitions`` files by a hash of their entity, so each
    partition holds all events of its entities. Then each partition in turn
    is grouped and sorted by time with
    :func:`~seqestimators.to_sequences` (vectorized, as in memory) and
    written to ``directory`` as a sequence frame in an Arrow file, read back
    memory-mapped. Memory holds one record batch, then one partition, never
    the whole log.

    Parameters
    ----------
    source : str, path or pyarrow.dataset.Dataset
        A Parquet file, or a folder of Parquet files (hive-partitioned
        folders such as ``day=2024-01-01/`` included; their keys become
        columns), or a ``pyarrow.dataset.Dataset``. Not modified.
    directory : str or path
        Folder for the partitions (created; must be empty or absent). It
        needs about the size of the selected columns, uncompressed, twice
        while a partition is rewritten.
    by : str, default="user_id"
        Entity column; its ids become each partition's index.
    order_by : str or None, default="timestamp"
        Time column ordering the events of an entity (see
        :func:`~seqestimators.to_sequences`); None keeps the order of the
        dataset.
    columns : list of str, default=None
        Columns to turn into list columns; None takes every column but
        ``by``.
    n_partitions : int, default=None
        Number of entity-hash partitions; None: one per 4 million events
        (about 0.5-1 GB of working memory per partition while grouping and
        vectorizing). More partitions need less memory.
    batch_size : int, default=1048576
        Rows per record batch read from the dataset.

    Returns
    -------
    partitions : SequencePartitions
        The partitions in ``directory``; pass them to
        :class:`~seqestimators.SequenceVectorizer`'s ``fit`` and
        ``transform``.

    See Also
    --------
    SequencePartitions : Open partitions written earlier.
    load_ragged : Open the model input that ``transform`` wrote.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from seqestimators.data import sequences_from_parquet
    >>> tmp = tempfile.mkdtemp()
    >>> pd.DataFrame({"user_id": [1, 2, 1, 3], "timestamp": [2, 1, 1, 5],
    ...               "event": ["buy", "view", "view", "view"]}
    ...              ).to_parquet(f"{tmp}/events.parquet")
    >>> parts = sequences_from_parquet(f"{tmp}/events.parquet", f"{tmp}/parts",
    ...                                n_partitions=2)
    >>> parts.n_events, parts.n_sequences, len(parts)
    (4, 3, 2)
    >>> frame = pd.concat(list(parts)).sort_index()
    >>> frame["event"].tolist()
    [['view', 'buy'], ['view'], ['view']]
    """
    dataset = _dataset(source)
    columns = _columns(dataset, by, order_by, columns)
    if n_partitions is None:
        n_partitions = max(1, -(-dataset.count_rows() // EVENTS_PER_PARTITION))
    if not (isinstance(n_partitions, int | np.integer) and n_partitions >= 1):
        raise ValueError(f"n_partitions must be an int >= 1; got {n_partitions!r}.")
    folder = Path(directory)
    if folder.exists() and any(folder.iterdir()):
        raise ValueError(
            f"directory {os.fspath(directory)!r} is not empty; pass a new folder "
            "(or open earlier partitions with SequencePartitions(directory))."
        )
    folder.mkdir(parents=True, exist_ok=True)
    read = list(dict.fromkeys([by, *columns] + ([order_by] if order_by else [])))
    spills = _spill(dataset, read, by, int(n_partitions), folder, batch_size)
    parts = []
    for p, spill in enumerate(spills):
        if spill is None:
            continue
        events = _read_arrow(spill)
        frame = to_sequences(events, by=by, order_by=order_by, columns=columns)
        del events
        name = f"part-{p:05d}.arrow"
        table = pa.Table.from_pandas(frame, preserve_index=True)
        with pa.OSFile(str(folder / name), "wb") as sink:
            with pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        parts.append({"file": name, "n_sequences": len(frame),
                      "n_events": int(frame.iloc[:, 0].list.len().sum())})
        del frame, table
        spill.unlink()
    meta = {"format": _FORMAT, "by": by, "order_by": order_by,
            "columns": columns, "n_partitions": int(n_partitions), "parts": parts}
    (folder / _META).write_text(json.dumps(meta, indent=1))
    return SequencePartitions(folder)


class SequencePartitions:
    """A sequence frame stored on disk as entity-hash partitions.

    Made by :func:`sequences_from_parquet`; this opens partitions written
    earlier. Each partition is an ordinary sequence frame (one row per
    entity, list columns in time order) that holds all events of its
    entities; iterating yields them one at a time, memory-mapped from their
    Arrow files. :class:`~seqestimators.SequenceVectorizer` fits on them in
    one streaming pass and ``transform`` writes memory-mapped ragged input
    (see :func:`load_ragged`).

    Parameters
    ----------
    directory : str or path
        The folder written by :func:`sequences_from_parquet`.

    Attributes
    ----------
    directory : pathlib.Path
    by, order_by : str
        The entity and time columns.
    columns : list of str
        The list columns of every partition.
    n_sequences, n_events : int
        Entities and events over all partitions.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from seqestimators.data import SequencePartitions, sequences_from_parquet
    >>> tmp = tempfile.mkdtemp()
    >>> pd.DataFrame({"user_id": [1, 2, 1], "timestamp": [2, 1, 1],
    ...               "event": ["buy", "view", "view"]}
    ...              ).to_parquet(f"{tmp}/events.parquet")
    >>> _ = sequences_from_parquet(f"{tmp}/events.parquet", f"{tmp}/parts")
    >>> parts = SequencePartitions(f"{tmp}/parts")
    >>> parts  # doctest: +NORMALIZE_WHITESPACE
    SequencePartitions(n_partitions=1, n_sequences=2, n_events=3,
                       columns=['timestamp', 'event'])
    >>> parts.index.tolist()
    [1, 2]
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        path = self.directory / _META
        if not path.is_file():
            raise ValueError(
                f"{os.fspath(directory)!r} holds no sequence partitions (no "
                f"{_META}); write them with sequences_from_parquet."
            )
        meta = json.loads(path.read_text())
        self.by = meta["by"]
        self.order_by = meta["order_by"]
        self.columns = list(meta["columns"])
        self._parts = meta["parts"]
        self.n_sequences = sum(p["n_sequences"] for p in self._parts)
        self.n_events = sum(p["n_events"] for p in self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def __repr__(self) -> str:
        return (
            f"SequencePartitions(n_partitions={len(self)}, n_sequences="
            f"{self.n_sequences}, n_events={self.n_events}, columns={self.columns})"
        )

    def __iter__(self) -> Iterator[pd.DataFrame]:
        for i in range(len(self)):
            yield self.partition(i)

    def partition(self, i: int) -> pd.DataFrame:
        """The sequence frame of partition ``i`` (memory-mapped)."""
        return as_pandas_frame(_read_arrow(self.directory / self._parts[i]["file"]))

    def lengths(self, i: int) -> np.ndarray:
        """Events of each sequence of partition ``i``."""
        table = _read_arrow(self.directory / self._parts[i]["file"])
        column = table.column(self.columns[0])
        return np.asarray(pc.list_value_length(column).fill_null(0), dtype=np.int64)

    @property
    def index(self) -> pd.Index:
        """Entity ids of all partitions, in partition order: the order of
        the rows of ``SequenceVectorizer.transform``'s output. Align targets
        with it, e.g. ``targets.loc[partitions.index]``."""
        return pd.Index(
            np.concatenate([self.partition(i).index.to_numpy()
                            for i in range(len(self))]) if len(self) else [],
            name=self.by,
        )


# ------------------------------------------------------- ragged input files
class RaggedWriter:
    """Write ragged sequences chunk by chunk into ``.npy`` files whose final
    shapes are known up front (plain appends, no memory map while writing,
    so the written data never counts in this process's memory)."""

    def __init__(self, directory: Path, n_sequences: int, n_events: int,
                 n_categorical: int, n_numeric: int):
        self.directory = directory
        directory.mkdir(parents=True)
        self._files = {
            "categorical": self._open("categorical", np.int64,
                                      (n_events, n_categorical)),
            "numeric": self._open("numeric", np.float32, (n_events, n_numeric)),
        }
        self._offsets = np.zeros(n_sequences + 1, dtype=np.int64)
        self._n_events = n_events
        self._rows = 0
        self._index: list[np.ndarray] = []

    def _open(self, name: str, dtype, shape: tuple[int, int]):
        f = open(self.directory / f"{name}.npy", "wb")  # noqa: SIM115
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                  "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(f, header)
        return f

    def append(self, X: RaggedSequences) -> None:
        n = X.n_sequences
        end = self._offsets[self._rows]
        self._offsets[self._rows + 1 : self._rows + n + 1] = end + X.offsets[1:]
        self._rows += n
        self._files["categorical"].write(np.ascontiguousarray(X.categorical).data)
        self._files["numeric"].write(np.ascontiguousarray(X.numeric).data)
        if X.index is not None:
            # a copy: a view would keep the memory map of the partition's
            # file alive (and resident)
            self._index.append(np.array(X.index.to_numpy(), copy=True))

    def abort(self) -> None:
        for f in self._files.values():
            f.close()

    def close(self, meta: dict, index_name=None) -> None:
        self.abort()
        written = (self._rows, int(self._offsets[self._rows]))
        if written != (len(self._offsets) - 1, self._n_events):
            raise RuntimeError(
                f"wrote {written[0]} sequences and {written[1]} events, but the "
                f"files were sized for {len(self._offsets) - 1} and "
                f"{self._n_events}: the partitions changed while being read."
            )
        np.save(self.directory / "offsets.npy", self._offsets[: self._rows + 1])
        if self._index:
            index = pa.table({"index": np.concatenate(self._index)})
            pq.write_table(index, self.directory / "index.parquet")
        meta = {**meta, "format": _FORMAT, "index_name": index_name}
        (self.directory / _RAGGED_META).write_text(json.dumps(meta))


def replace_folder(tmp: Path, final: Path) -> None:
    """Move ``tmp`` to ``final``, replacing an earlier ``final``. Arrays
    still mapped from the earlier files keep their data (POSIX)."""
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        final.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    tmp.rename(final)


def _load(path: Path, mmap: bool) -> np.ndarray:
    """An ``.npy`` file, memory-mapped unless empty (nothing to map)."""
    array = np.load(path, mmap_mode="r")
    return array if mmap and array.size else np.array(array)


def load_ragged(directory, *, mmap: bool = True) -> RaggedSequences:
    """Open ragged model input written by ``SequenceVectorizer.transform``
    of :class:`SequencePartitions`.

    Parameters
    ----------
    directory : str or path
        The folder of ``offsets.npy``, ``categorical.npy``, ``numeric.npy``
        (flat events, one row per event), ``index.parquet`` and
        ``ragged.json`` (channel names, sizes, vocabularies).
    mmap : bool, default=True
        Map the event arrays from disk (``np.load(..., mmap_mode="r")``):
        only the pages read are in memory, so the estimators train on input
        larger than memory. False reads them into memory.

    Returns
    -------
    X : RaggedSequences

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from seqestimators import SequenceVectorizer
    >>> from seqestimators.data import load_ragged, sequences_from_parquet
    >>> tmp = tempfile.mkdtemp()
    >>> pd.DataFrame({"user_id": [1, 2, 1], "timestamp": [2, 1, 1],
    ...               "event": ["buy", "view", "view"]}
    ...              ).to_parquet(f"{tmp}/events.parquet")
    >>> parts = sequences_from_parquet(f"{tmp}/events.parquet", f"{tmp}/parts")
    >>> X = SequenceVectorizer().fit_transform(parts)
    >>> type(X.categorical.base).__name__, X.lengths.tolist()  # mapped from disk
    ('memmap', [2, 1])
    >>> load_ragged(parts.directory / "model_input").index.tolist()
    [1, 2]
    """
    folder = Path(directory)
    path = folder / _RAGGED_META
    if not path.is_file():
        raise ValueError(
            f"{os.fspath(directory)!r} holds no ragged model input (no "
            f"{_RAGGED_META}); write it with SequenceVectorizer.transform of "
            "SequencePartitions."
        )
    meta = json.loads(path.read_text())
    index = None
    if (folder / "index.parquet").exists():
        index = pd.Index(pq.read_table(folder / "index.parquet").column(0).to_numpy(),
                         name=meta.get("index_name"))
    vocabularies = meta.get("vocabularies")
    if vocabularies is not None:
        vocabularies = {c: np.asarray(v, dtype=object if v and isinstance(v[0], str)
                                      else None) for c, v in vocabularies.items()}
    return RaggedSequences(
        np.load(folder / "offsets.npy"),
        _load(folder / "categorical.npy", mmap),
        _load(folder / "numeric.npy", mmap),
        categorical_names=meta["categorical_names"],
        numeric_names=meta["numeric_names"],
        cardinalities=meta["cardinalities"],
        index=index,
        vocabularies=vocabularies,
        vocabulary_fingerprint=meta.get("vocabulary_fingerprint"),
    )
