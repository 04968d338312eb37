"""Ragged sequences: flat event arrays plus row offsets.

:class:`RaggedSequences` is what :class:`~seqestimators.SequenceVectorizer`
returns. Its memory grows with the number of events, not with
``n_sequences * max_len``; padding happens per batch, inside the estimators.
All row operations are vectorized over offsets (no Python loop per sequence).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._ops import keep_last, segment_event_index
from ._validation import is_count

__all__ = ["RaggedSequences"]


def _rows_to_events(offsets: np.ndarray, rows: np.ndarray):
    """Offsets of the selected rows and the flat index of their events.

    Returns ``(new_offsets, event_index, lengths)``; ``event_index`` gathers the
    selected rows' events, in row order, from the flat arrays.
    """
    starts = offsets[rows]
    lengths = offsets[rows + 1] - starts
    new_offsets, event_index = segment_event_index(starts, lengths)
    return new_offsets, event_index, lengths


def pad_rows(
    offsets: np.ndarray,
    flats: Sequence[np.ndarray],
    rows: np.ndarray | None = None,
    *,
    min_length: int = 1,
):
    """Pad the selected rows of several flat ``(n_events, k)`` arrays.

    Sequences are right-padded with zeros to the longest selected sequence
    (at least ``min_length`` steps). Returns ``(padded_arrays, lengths)``.
    """
    if rows is None:
        rows = np.arange(len(offsets) - 1)
    if len(rows) == 1:  # one sequence (online prediction): plain slices
        lo, hi = int(offsets[rows[0]]), int(offsets[rows[0] + 1])
        width = max(hi - lo, min_length)
        out = []
        for flat in flats:
            padded = np.zeros((1, width, flat.shape[1]), dtype=flat.dtype)
            padded[0, : hi - lo] = flat[lo:hi]
            out.append(padded)
        return out, np.array([hi - lo], dtype=np.int64)
    new_offsets, event_index, lengths = _rows_to_events(offsets, rows)
    n = len(rows)
    width = max(int(lengths.max(initial=0)), min_length)
    row_of_event = np.repeat(np.arange(n), lengths)
    pos_of_event = np.arange(len(event_index)) - np.repeat(new_offsets[:-1], lengths)
    out = []
    for flat in flats:
        padded = np.zeros((n, width, flat.shape[1]), dtype=flat.dtype)
        padded[row_of_event, pos_of_event] = flat[event_index]
        out.append(padded)
    return out, lengths


def _check_offsets(offsets) -> np.ndarray:
    """``offsets`` as int64, or an error unless they start at 0 and grow."""
    raw = np.asarray(offsets)
    if raw.size and raw.dtype.kind not in "iu":
        raise ValueError(
            f"offsets must be integers; got an array of dtype {raw.dtype}."
        )
    offsets = raw.astype(np.int64, copy=False)
    if offsets.ndim != 1 or len(offsets) < 1:
        raise ValueError(
            "offsets must be a 1-D array of n_sequences + 1 integers; got shape "
            f"{offsets.shape}."
        )
    if offsets[0] != 0 or np.any(np.diff(offsets) < 0):
        raise ValueError(
            "offsets must start at 0 and be non-decreasing (each sequence "
            "spans offsets[i]:offsets[i + 1])."
        )
    return offsets


def _channels(arr, name: str, dtype, n_events: int) -> np.ndarray:
    """A flat ``(n_events, n_channels)`` array of ``dtype`` (1-D: one channel;
    None: no channel)."""
    if arr is None:
        return np.zeros((n_events, 0), dtype=dtype)
    arr = np.asarray(arr)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.dtype != dtype:
        arr = arr.astype(dtype)
    if arr.ndim != 2 or arr.shape[0] != n_events:
        raise ValueError(
            f"{name} must have shape (n_events, n_channels) with n_events = "
            f"offsets[-1] = {n_events}; got shape {arr.shape}."
        )
    return arr


def _channel_names(names, n: int, prefix: str, what: str) -> tuple:
    names = tuple(names or (f"{prefix}{i}" for i in range(n)))
    if len(names) != n:
        raise ValueError(f"{what}_names must name every {what} channel.")
    return names


def _cardinalities(cardinalities, categorical: np.ndarray) -> tuple:
    """Ids per categorical channel; by default ``max id + 1`` (at least 2)."""
    if cardinalities is None:
        cardinalities = (
            categorical.max(axis=0) + 1
            if len(categorical)
            else np.full(categorical.shape[1], 2)
        )
        cardinalities = np.maximum(cardinalities, 2)
    cardinalities = tuple(int(c) for c in cardinalities)
    if len(cardinalities) != categorical.shape[1]:
        raise ValueError("cardinalities must give one size per categorical channel.")
    return cardinalities


def _check_index(index, n_sequences: int):
    if index is None:
        return None
    index = pd.Index(index)
    if len(index) != n_sequences:
        raise ValueError(
            f"index has {len(index)} entries but there are {n_sequences} sequences."
        )
    return index


class RaggedSequences:
    """A batch of variable-length multichannel sequences, stored flat.

    Events of all sequences are stored back to back in ``categorical``
    (``(n_events, n_categorical)`` int64 ids, 0 = padding, 1 = unknown) and
    ``numeric`` (``(n_events, n_numeric)`` float32); sequence ``i`` spans
    ``offsets[i]:offsets[i + 1]``. The container indexes by rows like a numpy
    array (``X[idx]``, ``X[mask]``, ``X[2:5]``), so scikit-learn's splitters
    and skorch can slice it, and it converts to padded arrays with
    :meth:`to_padded`.

    Parameters
    ----------
    offsets : array-like of int of shape (n_sequences + 1,)
        Start of each sequence in the flat arrays, then the total event count.
    categorical : ndarray of shape (n_events, n_categorical), default=None
        Integer ids; 0 is reserved for padding and 1 for unknown categories.
    numeric : ndarray of shape (n_events, n_numeric), default=None
        Numeric event features.
    categorical_names, numeric_names : sequence of str, default=()
        Channel names.
    cardinalities : sequence of int, default=None
        Number of ids of each categorical channel (vocabulary size + 2). When
        None, ``max id + 1`` of each channel is used.
    index : pandas.Index, default=None
        Entity ids of the rows (e.g. user ids), carried through row indexing.
    vocabularies : dict of str to ndarray, default=None
        The label of each id of each categorical channel (``vocabularies[c][i]``
        is the value encoded as id ``i + 2``), as set by
        :class:`SequenceVectorizer`; lets a model map ids back to labels.
    vocabulary_fingerprint : str, default=None
        A digest of the encoding (set by :class:`SequenceVectorizer`): an
        estimator refuses input encoded with other vocabularies than its
        training data, even with the same channels and sizes.

    Examples
    --------
    >>> import numpy as np
    >>> from seqestimators.data import RaggedSequences
    >>> X = RaggedSequences([0, 3, 4], categorical=np.array([2, 3, 2, 4]),
    ...                     index=["u1", "u2"])
    >>> X.lengths.tolist(), X.cardinalities
    ([3, 1], (5,))
    >>> X[1:].index.tolist(), X.to_padded()["categorical"].shape
    (['u2'], (2, 3, 1))
    >>> X.truncate(2).categorical[:, 0].tolist()
    [3, 2, 4]
    """

    def __init__(
        self,
        offsets,
        categorical=None,
        numeric=None,
        *,
        categorical_names=(),
        numeric_names=(),
        cardinalities=None,
        index=None,
        vocabularies=None,
        vocabulary_fingerprint=None,
    ):
        offsets = _check_offsets(offsets)
        n_events = int(offsets[-1])
        categorical = _channels(categorical, "categorical", np.int64, n_events)
        numeric = _channels(numeric, "numeric", np.float32, n_events)
        self.offsets = offsets
        self.categorical = categorical
        self.numeric = numeric
        self.categorical_names = _channel_names(
            categorical_names, categorical.shape[1], "cat", "categorical"
        )
        self.numeric_names = _channel_names(
            numeric_names, numeric.shape[1], "num", "numeric"
        )
        self.cardinalities = _cardinalities(cardinalities, categorical)
        self.index = _check_index(index, len(offsets) - 1)
        self.vocabularies = vocabularies
        self.vocabulary_fingerprint = vocabulary_fingerprint

    # -- array-like protocol -------------------------------------------------
    @property
    def n_sequences(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_events(self) -> int:
        return int(self.offsets[-1])

    @property
    def nbytes(self) -> int:
        """Bytes of the offsets and flat event arrays (grows with events, not
        with ``n_sequences * max_len``)."""
        return self.offsets.nbytes + self.categorical.nbytes + self.numeric.nbytes

    @property
    def shape(self) -> tuple[int]:
        """``(n_sequences,)``: one sample per sequence."""
        return (self.n_sequences,)

    @property
    def lengths(self) -> np.ndarray:
        """Length of each sequence, shape ``(n_sequences,)``."""
        return np.diff(self.offsets)

    @property
    def n_categorical(self) -> int:
        return self.categorical.shape[1]

    @property
    def n_numeric(self) -> int:
        return self.numeric.shape[1]

    def __len__(self) -> int:
        return self.n_sequences

    def __repr__(self) -> str:
        return (
            f"RaggedSequences(n_sequences={self.n_sequences}, n_events={self.n_events}"
            f", categorical={list(self.categorical_names)}"
            f", numeric={list(self.numeric_names)})"
        )

    def _row_key(self, key) -> np.ndarray | slice:
        if isinstance(key, tuple):
            if len(key) == 2 and key[1] is Ellipsis:
                key = key[0]
            else:
                raise IndexError(
                    "RaggedSequences supports row indexing only (X[rows] or "
                    "X[rows, ...])."
                )
        n = self.n_sequences
        if isinstance(key, numbers.Integral):
            k = int(key)
            if not -n <= k < n:
                raise IndexError(f"row {k} is out of range for {n} sequences.")
            return slice(k % n, k % n + 1)
        if isinstance(key, slice):
            return key
        rows = np.asarray(key)
        if rows.dtype == bool:
            if rows.shape != (n,):
                raise IndexError(
                    f"boolean row mask has shape {rows.shape}; expected ({n},)."
                )
            return np.flatnonzero(rows)
        if rows.size == 0:
            return np.zeros(0, dtype=np.int64)
        if not np.issubdtype(rows.dtype, np.integer):
            raise IndexError(
                "RaggedSequences rows must be indexed by integers, a slice or a "
                f"boolean mask; got an array of dtype {rows.dtype}."
            )
        if rows.ndim != 1:
            raise IndexError("row indices must be 1-D.")
        if rows.max() >= n or rows.min() < -n:
            raise IndexError(f"row index out of range for {n} sequences.")
        return np.where(rows < 0, rows + n, rows).astype(np.int64)

    def _with(self, offsets, categorical, numeric, index):
        return RaggedSequences(
            offsets,
            categorical,
            numeric,
            categorical_names=self.categorical_names,
            numeric_names=self.numeric_names,
            cardinalities=self.cardinalities,
            index=index,
            vocabularies=self.vocabularies,
            vocabulary_fingerprint=self.vocabulary_fingerprint,
        )

    def __getitem__(self, key) -> RaggedSequences:
        rows = self._row_key(key)
        if isinstance(rows, slice):
            start, stop, step = rows.indices(self.n_sequences)
            if step == 1:
                stop = max(stop, start)
                lo, hi = self.offsets[start], self.offsets[stop]
                index = None if self.index is None else self.index[start:stop]
                return self._with(
                    self.offsets[start : stop + 1] - lo,
                    self.categorical[lo:hi],
                    self.numeric[lo:hi],
                    index,
                )
            rows = np.arange(start, stop, step, dtype=np.int64)
        new_offsets, event_index, _ = _rows_to_events(self.offsets, rows)
        index = None if self.index is None else self.index[rows]
        return self._with(
            new_offsets,
            self.categorical[event_index],
            self.numeric[event_index],
            index,
        )

    # -- conversions ---------------------------------------------------------
    def to_padded(self, max_len: int | None = None) -> dict[str, np.ndarray]:
        """Right-padded arrays of all sequences.

        Parameters
        ----------
        max_len : int, default=None
            Keep at most the last ``max_len`` events of each sequence.

        Returns
        -------
        padded : dict
            ``"categorical"``: int64 ``(n, L, n_categorical)`` with 0 as
            padding; ``"numeric"``: float32 ``(n, L, n_numeric)``;
            ``"lengths"``: int64 ``(n,)``. ``L`` is the longest (kept)
            length, at least 1.
        """
        data = self if max_len is None else self.truncate(max_len)
        (cat, num), lengths = pad_rows(data.offsets, [data.categorical, data.numeric])
        return {"categorical": cat, "numeric": num, "lengths": lengths}

    def truncate(self, max_len: int) -> RaggedSequences:
        """Keep the last ``max_len`` events of every sequence."""
        if not is_count(max_len):
            raise ValueError(f"max_len must be an int >= 1; got {max_len!r}.")
        kept = keep_last(self.offsets, max_len)
        if kept is None:
            return self
        new_offsets, event_index = kept
        return self._with(
            new_offsets,
            self.categorical[event_index],
            self.numeric[event_index],
            self.index,
        )
