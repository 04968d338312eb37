"""The one copy of the array rules the data path shares.

- :func:`keep_last`: which events survive "keep the last ``max_len`` events";
- :func:`entity_time_order`: the stable entity-then-time sort of an event log;
- :func:`top_k_indices`: the ``k`` best columns of each row, ties to the lower
  column.

Pure numpy on flat arrays and offsets; no Python loop per sequence.
"""

from __future__ import annotations

import numpy as np

__all__ = ["entity_time_order", "keep_last", "segment_event_index", "top_k_indices"]


def segment_event_index(
    starts: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and flat event index of segments ``[start, start + length)``.

    Returns ``(new_offsets, event_index)``: ``event_index`` gathers the
    segments' events, one segment after the other, from the flat arrays.
    """
    new_offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    shift = np.repeat(np.asarray(starts, dtype=np.int64) - new_offsets[:-1], lengths)
    return new_offsets, np.arange(int(new_offsets[-1]), dtype=np.int64) + shift


def keep_last(
    offsets: np.ndarray, max_len: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Offsets and flat event index after keeping the last ``max_len`` events
    of every sequence; ``None`` when no sequence is longer than ``max_len``.

    Examples
    --------
    >>> import numpy as np
    >>> offsets, index = keep_last(np.array([0, 3, 4]), 2)
    >>> offsets.tolist(), index.tolist()
    ([0, 2, 3], [1, 2, 3])
    """
    lengths = np.diff(offsets)
    keep = np.minimum(lengths, max_len)
    if np.array_equal(keep, lengths):
        return None
    return segment_event_index(offsets[1:] - keep, keep)


def entity_time_order(codes: np.ndarray, key: np.ndarray | None) -> np.ndarray | None:
    """Stable order of events by entity code, then by ``key`` (time).

    Events that tie on both keep their input order. Returns ``None`` when the
    events are already in that order (no copy needed).

    Examples
    --------
    >>> import numpy as np
    >>> entity_time_order(np.array([1, 0, 0]), np.array([5.0, 2.0, 1.0])).tolist()
    [2, 1, 0]
    >>> entity_time_order(np.array([0, 0, 1]), np.array([1.0, 2.0, 0.0])) is None
    True
    """
    ordered = bool(np.all(codes[1:] >= codes[:-1]))
    if key is None:
        return None if ordered else np.argsort(codes, kind="stable")
    same_entity = codes[1:] == codes[:-1]
    if ordered and bool(np.all(key[1:][same_entity] >= key[:-1][same_entity])):
        return None
    order = np.argsort(key, kind="stable")
    return order[np.argsort(codes[order], kind="stable")]


def top_k_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest scores of each row, best first.

    Ties go to the lower column index, exactly as
    ``np.argsort(-scores, axis=1, kind="stable")[:, :k]``. With few columns
    wanted out of many, the k best are selected in linear time first
    (``np.partition``) and only they are sorted.

    Examples
    --------
    >>> import numpy as np
    >>> top_k_indices(np.array([[0.1, 0.7, 0.7, 0.2]]), 2).tolist()
    [[1, 2]]
    """
    n_rows, n_cols = scores.shape
    if 4 * k >= n_cols:
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    # the k-th largest score of each row; all larger ones are in, and of the
    # ones equal to it the lowest columns fill the remaining places
    kth = np.partition(scores, n_cols - k, axis=1)[:, n_cols - k, None]
    above = scores > kth
    at = scores == kth
    room = k - above.sum(axis=1, keepdims=True)
    chosen = above | (at & (np.cumsum(at, axis=1) <= room))
    cols = np.nonzero(chosen)[1].reshape(n_rows, k)  # ascending per row
    order = np.argsort(-np.take_along_axis(scores, cols, axis=1), axis=1, kind="stable")
    return np.take_along_axis(cols, order, axis=1)
