"""Length-bucketed batches, padded per batch, for skorch and for prediction.

skorch normally collates one sample at a time. Here the library controls
batching: the iterator slices whole batches out of the flat event arrays and
pads each batch only to its own longest sequence. During training, sequences
are shuffled, cut into chunks, sorted by length within each chunk and the
batch order is shuffled, so batches hold sequences of similar lengths while
every epoch sees a different mix.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data._ragged import RaggedSequences, pad_rows

__all__ = ["SequenceDataset", "BucketBatchIterator"]

#: batches per chunk sorted by length when shuffling
BUCKET_BATCHES = 100


class SequenceDataset(Dataset):
    """Ragged sequences and optional targets, as a torch ``Dataset``.

    Indexing one item pads that single sequence; the fast path is
    :class:`BucketBatchIterator`, which builds whole batches at once. With
    ``sample_weight``, each batch's inputs hold the weights of its rows
    (``"sample_weight"``, float32), which the net's loss reads and its
    module never sees (:class:`~._seeding.SeededNet`).
    """

    def __init__(
        self, X: RaggedSequences, y: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
    ):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight
        self.lengths = X.lengths

    def __len__(self) -> int:
        return len(self.X)

    def batch(self, rows: np.ndarray):
        """One padded batch: ``(inputs dict, targets tensor)``."""
        (cat, num), lengths = pad_rows(
            self.X.offsets, [self.X.categorical, self.X.numeric], rows
        )
        inputs = {
            "categorical": torch.from_numpy(cat),
            "numeric": torch.from_numpy(num),
            "lengths": torch.from_numpy(lengths),
        }
        if self.sample_weight is not None:
            weight = self.sample_weight[rows].astype(np.float32)
            inputs["sample_weight"] = torch.from_numpy(weight)
        if self.y is None:
            target = torch.zeros(len(rows))
        else:
            target = torch.from_numpy(np.ascontiguousarray(self.y[rows]))
        return inputs, target

    def __getitem__(self, i):
        inputs, target = self.batch(np.asarray([i]))
        return {k: v[0] for k, v in inputs.items()}, target[0]


def length_sorted_order(lengths: np.ndarray) -> np.ndarray:
    """Rows sorted by length (stable): the prediction order."""
    return np.argsort(lengths, kind="stable")


def cut_batches(lengths_sorted, chunk_id, batch_size, max_events=None):
    """Start/stop positions of batches over rows sorted by length per chunk.

    Batches hold ``batch_size`` rows, fewer where the rows are long: with
    ``max_events``, a batch of rows of length ``L`` holds the largest power of
    two of rows with ``rows * L <= max_events`` (at least 1). Batches never
    straddle two chunks. One loop step per run of equal batch size, not per
    row.
    """
    n = len(lengths_sorted)
    size = np.full(n, batch_size, dtype=np.int64)
    if max_events is not None and n:
        cap = np.maximum(max_events // np.maximum(lengths_sorted, 1), 1)
        small = cap < batch_size
        size[small] = 2 ** np.floor(np.log2(cap[small])).astype(np.int64)
    breaks = np.flatnonzero((np.diff(size) != 0) | (np.diff(chunk_id) != 0)) + 1
    run_starts = np.concatenate([[0], breaks])
    run_stops = np.concatenate([breaks, [n]])
    starts = [np.arange(a, b, size[a]) for a, b in zip(run_starts, run_stops) if b > a]
    starts = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
    stops = np.append(starts[1:], n)
    return starts, stops


class BucketBatchIterator:
    """Iterate over a :class:`SequenceDataset` in padded batches.

    Parameters
    ----------
    dataset : SequenceDataset
    batch_size : int
    shuffle : bool, default=False
        Training order: shuffled chunks of ``BUCKET_BATCHES`` batches, sorted
        by length within a chunk, batches in shuffled order. A new order is
        drawn at each pass. Without shuffling, batches follow
        :func:`length_sorted_order`.
    random_state : int or numpy.random.Generator, default=0
        Seed of the shuffling. A Generator is used as is: iterators sharing
        one continue a single random stream.
    max_events : int, default=None
        Cap on ``rows * padded length`` of a batch: batches of long sequences
        hold fewer rows (see :func:`cut_batches`). On the CPU this keeps the
        recurrent layer's saved activations small; very large ones make the
        backward pass several times slower per step.
    """

    def __init__(
        self, dataset, batch_size, shuffle=False, random_state=0, max_events=None
    ):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.max_events = max_events
        self._rng = np.random.default_rng(random_state)

    def __len__(self) -> int:
        """Number of batches (for the shuffled order, that of one chunk layout
        without shuffling: the exact count can vary by a few batches)."""
        lengths = np.sort(self.dataset.lengths)
        chunk = np.zeros(len(lengths), dtype=np.int64)
        return len(cut_batches(lengths, chunk, self.batch_size, self.max_events)[0])

    def batches(self) -> list[np.ndarray]:
        """Row indices of each batch, in iteration order."""
        lengths = self.dataset.lengths
        n = len(lengths)
        if not self.shuffle:
            order = length_sorted_order(lengths)
            chunk = np.zeros(n, dtype=np.int64)
        else:
            perm = self._rng.permutation(n)
            chunk = np.arange(n) // (self.batch_size * BUCKET_BATCHES)
            order = perm[np.lexsort((lengths[perm], chunk))]
        starts, stops = cut_batches(
            lengths[order], chunk, self.batch_size, self.max_events
        )
        if self.shuffle:
            pick = self._rng.permutation(len(starts))
            starts, stops = starts[pick], stops[pick]
        return [order[a:b] for a, b in zip(starts, stops)]

    def __iter__(self):
        for rows in self.batches():
            yield self.dataset.batch(rows)
