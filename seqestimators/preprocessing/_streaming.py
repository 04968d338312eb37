"""SequenceVectorizer on :class:`~seqestimators.SequencePartitions`: a
fit that streams over the partitions, and a transform that writes
memory-mapped ragged input one partition at a time.

The streaming fit gives what a fit on the whole frame gives: the value
counts of every partition are summed before the vocabularies are chosen
(``min_frequency`` and ``max_categories`` apply to the totals), and the
numeric scaling combines each partition's count, mean and sum of squared
deviations (Chan et al.'s pairwise update).
"""

from __future__ import annotations

import json
import shutil
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..data._out_of_core import RaggedWriter, load_ragged, replace_folder
from ..data._sequences import check_sequence_frame
from ._scaling import is_constant, mean_std
from ._vocabulary import choose_categories, merge_counts, vocabulary_fingerprint

__all__ = ["fit_partitions", "transform_partitions"]

#: folder of the partitions that ``transform`` writes the model input to
MODEL_INPUT = "model_input"


def _moments(block: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Count, mean and sum of squared deviations of each column."""
    mean, std = mean_std(block)
    return len(block), mean, std**2 * len(block)


def _combine(a, b):
    """Moments of the union of two blocks (Chan et al.)."""
    if a is None or a[0] == 0:
        return b
    if b[0] == 0:
        return a
    (na, ma, sa), (nb, mb, sb) = a, b
    n = na + nb
    delta = mb - ma
    return n, ma + delta * (nb / n), sa + sb + delta**2 * (na * nb / n)


def _check_partitions(vec, parts) -> None:
    if not len(parts):
        raise ValueError(
            f"{type(vec).__name__} got SequencePartitions without any partition "
            f"({parts.directory}): the event log had no events."
        )


def fit_partitions(vec, parts):
    """Fit ``vec`` on every partition of ``parts``, one at a time."""
    _check_partitions(vec, parts)
    name = type(vec).__name__
    counts: dict[str, pa.StructArray] = {}
    moments = None
    n_events = 0
    for i, frame in enumerate(parts):
        X = check_sequence_frame(frame, caller=name)
        if i == 0:
            vec._resolve_columns(X)
        cols, offsets = vec._read(X, fitting=i == 0)
        keep = vec._keep_index(offsets)
        n_events += int(offsets[-1]) if keep is None else len(keep)
        for c in vec.categorical_:
            values = vec._kept(cols[c].values, keep)
            if len(values) and not pa.types.is_null(values.type):
                counts[c] = merge_counts(counts.get(c), pc.value_counts(values))
        block = vec._numeric_block(cols, offsets, keep, X.index,
                                   vec._reference(X, cols))
        moments = _combine(moments, _moments(block))
        del cols, block, X
    vec.vocabularies_ = {
        c: choose_categories(counts[c], n_events, min_frequency=vec.min_frequency,
                             max_categories=vec.max_categories)
        if c in counts else np.asarray([], dtype=object)
        for c in vec.categorical_
    }
    vec.cardinalities_ = [len(v) + 2 for v in vec.vocabularies_.values()]
    vec.vocabulary_fingerprint_ = vocabulary_fingerprint(vec.vocabularies_)
    n, mean, m2 = moments
    std = np.sqrt(m2 / n) if n else np.ones_like(mean)
    vec.mean_ = mean
    vec.scale_ = np.where(is_constant(mean, std, n), 1.0, std)
    return vec


def _n_kept(vec, parts) -> int:
    total = 0
    for i in range(len(parts)):
        lengths = parts.lengths(i)
        if vec.max_len is not None:
            lengths = np.minimum(lengths, vec.max_len)
        total += int(lengths.sum())
    return total


def transform_partitions(vec, parts):
    """Encode each partition with ``vec.transform`` and append it to the
    ``.npy`` files of ``parts.directory / "model_input"``; return them
    memory-mapped."""
    _check_partitions(vec, parts)
    final = parts.directory / MODEL_INPUT
    tmp = parts.directory / f".{MODEL_INPUT}.tmp-{uuid.uuid4().hex[:8]}"
    numeric_names = vec._numeric_channel_names()
    n_events = _n_kept(vec, parts)
    writer = RaggedWriter(tmp, parts.n_sequences, n_events,
                          len(vec.categorical_), len(numeric_names))
    try:
        for frame in parts:
            writer.append(vec.transform(frame))
        meta = {
            "categorical_names": list(vec.categorical_),
            "numeric_names": numeric_names,
            "cardinalities": [int(c) for c in vec.cardinalities_],
            "vocabularies": {c: np.asarray(v).tolist()
                             for c, v in vec.vocabularies_.items()},
            "vocabulary_fingerprint": vec.vocabulary_fingerprint_,
        }
        json.dumps(meta)  # fail before closing the files on a bad value
        writer.close(meta, index_name=parts.by)
    except BaseException:
        writer.abort()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_folder(tmp, final)
    return load_ragged(final)
