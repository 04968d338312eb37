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

from ._ragged import RaggedSequences, pad_rows

__all__ = ["SequenceDataset", "BucketBatchIterator"]

#: batches per chunk sorted by length when shuffling
BUCKET_BATCHES = 100


class SequenceDataset(Dataset):
    """Ragged sequences and optional targets, as a torch ``Dataset``.

    Indexing one item pads that single sequence; the fast path is
    :class:`BucketBatchIterator`, which builds whole batches at once.
    """

    def __init__(self, X: RaggedSequences, y: np.ndarray | None = None):
        self.X = X
        self.y = y
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
    """

    def __init__(self, dataset, batch_size, shuffle=False, random_state=0):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self._rng = np.random.default_rng(random_state)

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def order(self) -> np.ndarray:
        lengths = self.dataset.lengths
        if not self.shuffle:
            return length_sorted_order(lengths)
        n = len(lengths)
        perm = self._rng.permutation(n)
        chunk = np.arange(n) // (self.batch_size * BUCKET_BATCHES)
        within = np.lexsort((lengths[perm], chunk))
        order = perm[within]
        n_batches = len(self)
        batch_order = self._rng.permutation(n_batches)
        starts = batch_order * self.batch_size
        sizes = np.minimum(starts + self.batch_size, n) - starts
        idx = np.repeat(starts - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
        return order[np.arange(n) + idx]

    def __iter__(self):
        order = self.order()
        bs = self.batch_size
        for start in range(0, len(order), bs):
            yield self.dataset.batch(order[start : start + bs])
