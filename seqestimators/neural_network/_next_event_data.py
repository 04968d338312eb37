"""Array helpers of the next-event recommenders: training windows, the
per-batch event cap, and top-k ranking with the history's own items removed.

Pure numpy on flat event arrays and offsets; no Python loop per sequence.
"""

from __future__ import annotations

import numpy as np

from ..data._ops import top_k_indices
from ..data._ragged import RaggedSequences
from ..nn._next_event import N_RESERVED_IDS

__all__ = ["MAX_SCORE_FLOATS", "event_cap", "rank_last_steps", "split_windows"]

#: float32 scores ``events x candidates`` per batch (128 MB): the full
#: softmax over a catalogue of ``n`` items scores ``MAX_SCORE_FLOATS // n``
#: events per batch, whatever the number of sequences
MAX_SCORE_FLOATS = 2**25


def split_windows(X: RaggedSequences, window: int | None) -> RaggedSequences:
    """Cut every sequence into consecutive windows of at most ``window``
    events, counted from its end (the oldest window is the short one).

    Only the offsets change: the flat event arrays are shared, so every event
    is still a training target once (but the first of each window). Empty
    sequences (no targets) drop out.

    Examples
    --------
    >>> import numpy as np
    >>> X = RaggedSequences([0, 5, 7], categorical=np.arange(2, 9)[:7])
    >>> split_windows(X, 2).lengths.tolist()
    [1, 2, 2, 2]
    """
    lengths = X.lengths
    if window is None or not len(lengths) or lengths.max() <= window:
        return X
    starts = X.offsets[:-1]
    row = np.repeat(np.arange(len(lengths)), lengths)
    from_end = np.repeat(starts + lengths, lengths) - 1 - np.arange(X.n_events)
    chunk = from_end // window
    first = np.ones(X.n_events, dtype=bool)
    first[1:] = (row[1:] != row[:-1]) | (chunk[1:] != chunk[:-1])
    offsets = np.append(np.flatnonzero(first), X.n_events)
    return RaggedSequences(
        offsets, X.categorical, X.numeric,
        categorical_names=X.categorical_names, numeric_names=X.numeric_names,
        cardinalities=X.cardinalities,
    )


def event_cap(n_scored: int, floats_per_event: int, batch_size: int) -> int:
    """Events (rows x padded length) of a batch: the scores of
    ``n_scored`` candidates per event stay within :data:`MAX_SCORE_FLOATS`
    and the encoder's ``floats_per_event`` within the same budget."""
    per_event = max(int(n_scored), int(floats_per_event), 1)
    return max(int(batch_size), MAX_SCORE_FLOATS // per_event)


def rank_last_steps(
    scores: np.ndarray, Xr: RaggedSequences, rows: np.ndarray, target: int,
    k: int, exclude_seen: bool,
) -> np.ndarray:
    """Ids (``N_RESERVED_IDS`` and up) of the ``k`` best candidates of each
    row of ``scores`` (the scores after sequences ``rows`` of ``Xr``), best
    first; with ``exclude_seen`` the ids each sequence holds score ``-inf``.
    Reserved ids (padding, unknown) are never returned while others remain.
    """
    scores = scores[:, N_RESERVED_IDS:]
    if exclude_seen:
        lengths = Xr.lengths[rows]
        starts = Xr.offsets[:-1][rows]
        batch_row = np.repeat(np.arange(len(rows)), lengths)
        event = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        event += np.arange(int(lengths.sum()))
        ids = Xr.categorical[event, target] - N_RESERVED_IDS
        keep = ids >= 0
        scores[batch_row[keep], ids[keep]] = -np.inf
    return top_k_indices(scores, k) + N_RESERVED_IDS
