"""Count priors of the next-event recommenders.

Two sparse terms are added to the network's scores of every candidate item
``j`` after a sequence:

- *transition*: ``w_t * log1p(c(i -> j) / a)``, where ``c(i -> j)`` counts
  how often ``j`` directly followed the sequence's last item ``i`` in the
  fitted sequences (the item-to-item Markov baseline);
- *repeat*: ``w_r * log1p(n(j) / a)``, where ``n(j)`` counts ``j`` in the
  sequence itself (users re-buy, re-listen, re-visit).

The weights ``w_t``, ``w_r`` and the smoothing ``a`` are chosen on held-out
sequences by the NDCG@k of their next items, ranked over the whole
catalogue by the network and the priors together (the metric the
recommenders are judged by); weights of 0 turn a term off.

Pure numpy on flat event arrays and offsets; no Python loop per sequence.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..data._ragged import RaggedSequences

__all__ = [
    "PRIOR_OFF",
    "add_priors",
    "choice_positions",
    "choose_prior_weights",
    "position_entries",
    "transition_table",
]

#: weights tried for each term, and the smoothing values ``a``
WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
SMOOTHING_GRID = (0.1, 1.0, 10.0)
#: positions per held-out sequence (its last ones) and entries in all
CHOICE_STEPS = 20
MAX_CHOICE_ENTRIES = 2**24
#: positions x catalogue scored for the choice (128 MB of float32 scores,
#: copied once per candidate setting)
MAX_CHOICE_SCORES = 2**25
#: the weights of no prior at all
PRIOR_OFF = {"transition": 0.0, "repeat": 0.0, "smoothing": 1.0}


def transition_table(X: RaggedSequences, target: int) -> np.ndarray:
    """``(n_pairs, 3)`` int64 rows ``(i, j, count)``: how often id ``j``
    directly followed id ``i`` within a sequence of ``X``'s ``target``
    channel; sorted by ``(i, j)``, counts >= 1.

    Examples
    --------
    >>> import numpy as np
    >>> X = RaggedSequences([0, 3, 5], categorical=np.array([2, 3, 2, 2, 3]))
    >>> transition_table(X, 0).tolist()
    [[2, 2, 1], [2, 3, 2], [3, 2, 1]]
    """
    ids = X.categorical[:, target].astype(np.int64)
    follows = np.ones(X.n_events, dtype=bool)
    follows[X.offsets[1:] - 1] = False  # the last event of a sequence
    follows[-1:] = False
    start = np.flatnonzero(follows)
    if not len(start):
        return np.zeros((0, 3), dtype=np.int64)
    n = int(ids.max()) + 1
    pairs, counts = np.unique(ids[start] * n + ids[start + 1], return_counts=True)
    return np.stack([pairs // n, pairs % n, counts], axis=1).astype(np.int64)


def _transitions_from(table: np.ndarray, sources: np.ndarray):
    """The table rows of each source: ``(which source, j, count)``."""
    lo = np.searchsorted(table[:, 0], sources, side="left")
    hi = np.searchsorted(table[:, 0], sources, side="right")
    n = hi - lo
    which = np.repeat(np.arange(len(sources)), n)
    row = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
    return which, table[row, 1], table[row, 2]


def _prefix_counts(ids: np.ndarray, starts: np.ndarray, stops: np.ndarray):
    """For each span ``ids[starts[p]:stops[p]]``: ``(p, id, count)`` of its
    distinct ids."""
    n = stops - starts
    which = np.repeat(np.arange(len(starts)), n)
    event = np.repeat(starts - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
    width = int(ids.max()) + 1 if len(ids) else 1
    keys, counts = np.unique(which * width + ids[event], return_counts=True)
    return keys // width, keys % width, counts


def add_priors(scores, X: RaggedSequences, rows, target, table, weights) -> None:
    """Add the priors to ``scores`` ``(len(rows), n_ids)`` in place: the
    candidates after each whole sequence ``rows`` of ``X``."""
    w_t, w_r, a = weights["transition"], weights["repeat"], weights["smoothing"]
    ids = X.categorical[:, target].astype(np.int64)
    starts, lengths = X.offsets[:-1][rows], X.lengths[rows]
    present = np.flatnonzero(lengths > 0)
    if w_t > 0 and len(table) and len(present):
        last = ids[starts[present] + lengths[present] - 1]
        which, item, count = _transitions_from(table, last)
        scores[present[which], item] += w_t * np.log1p(count / a)
    if w_r > 0 and len(present):
        which, item, count = _prefix_counts(ids, starts, starts + lengths)
        scores[which, item] += w_r * np.log1p(count / a)


def choice_positions(X: RaggedSequences, steps: int = CHOICE_STEPS,
                     n_items: int = 1):
    """Global indices ``e`` of the events whose successor ``e + 1`` is
    predicted to choose the weights: the last ``steps`` of each sequence,
    sequences taken in order while the prior entries stay within
    :data:`MAX_CHOICE_ENTRIES` and the network's scores (positions x
    ``n_items``) within :data:`MAX_CHOICE_SCORES` (at least one sequence)."""
    lengths = X.lengths
    n = np.clip(lengths - 1, 0, steps)
    # a sequence's prefix entries are at most n * length
    keep = (np.cumsum(n * lengths) <= MAX_CHOICE_ENTRIES) & (
        np.cumsum(n) * max(int(n_items), 1) <= MAX_CHOICE_SCORES)
    keep[0:1] = True
    n = np.where(keep, n, 0)
    first = X.offsets[:-1] + lengths - 1 - n
    return np.repeat(first - np.cumsum(n) + n, n) + np.arange(int(n.sum()))


def position_entries(X, target, positions, table, leave_one_out):
    """Sparse prior counts at each choice position: ``(p, j, transition
    count, repeat count)`` over the union of both supports, and the true
    next ids. With ``leave_one_out`` (the table counted these sequences) the
    predicted transition itself is not counted."""
    ids = X.categorical[:, target].astype(np.int64)
    truth = ids[positions + 1]
    seq = np.searchsorted(X.offsets, positions, side="right") - 1
    p_t, j_t, c_t = _transitions_from(table, ids[positions])
    if leave_one_out:
        c_t = c_t - (j_t == truth[p_t])
    p_r, j_r, c_r = _prefix_counts(ids, X.offsets[seq], positions + 1)
    width = max(int(ids.max()) + 1, int(table[:, 1].max()) + 1 if len(table) else 1)
    keys, inverse = np.unique(np.r_[p_t * width + j_t, p_r * width + j_r],
                              return_inverse=True)
    counts = np.zeros((len(keys), 2))
    np.add.at(counts[:, 0], inverse[: len(p_t)], c_t)
    np.add.at(counts[:, 1], inverse[len(p_t):], c_r)
    return keys // width, keys % width, counts, truth


def choose_prior_weights(scores, p, j, counts, truth, k, exclude_seen):
    """The weights that maximize the mean NDCG@``k`` of the true next ids,
    and that mean; :data:`PRIOR_OFF` unless the best setting beats the
    network alone by more than one standard error (over positions) of the
    paired difference, so that noise does not switch a prior on.

    ``scores`` ``(n_positions, n_ids)`` are the network's, ``(p, j, counts)``
    the prior entries of :func:`position_entries` and ``truth`` the true
    next ids. With ``exclude_seen`` the ids a prefix holds (its repeat
    entries) are ranked last, as :meth:`predict_topk` does. Ties go to the
    smaller weights."""
    n = len(truth)
    if not n:
        return dict(PRIOR_OFF), 0.0
    base = np.array(scores, dtype=np.float32)
    if exclude_seen:
        seen = counts[:, 1] > 0
        base[p[seen], j[seen]] = -np.inf
    ndcg = _Ranker(base, p, j, truth, k)
    off = ndcg(np.zeros(len(p)))
    best, best_gain = dict(PRIOR_OFF), np.zeros(n)
    for a in SMOOTHING_GRID:
        log_t, log_r = np.log1p(counts[:, 0] / a), np.log1p(counts[:, 1] / a)
        for w_t, w_r in itertools.product(WEIGHT_GRID, WEIGHT_GRID):
            if w_t == 0 and w_r == 0:
                continue
            gain = ndcg(w_t * log_t + w_r * log_r) - off
            if gain.mean() > best_gain.mean() + 1e-9:
                best = {"transition": w_t, "repeat": w_r, "smoothing": a}
                best_gain = gain
    if best_gain.mean() <= best_gain.std() / np.sqrt(n):
        best, best_gain = dict(PRIOR_OFF), np.zeros(n)
    return best, float(np.mean(off + best_gain))


class _Ranker:
    """Per-position NDCG@k of ``truth`` under ``base`` ``(n, n_ids)`` plus an
    addition ``m >= 0`` at the sparse entries ``(p, j)``.

    Each row is sorted once; a setting then costs one binary search per
    position and a pass over the entries: the items above the truth are
    those above it in the sorted row, minus the entries there, plus the
    entries the addition lifts above it (ties rank the truth first)."""

    def __init__(self, base, p, j, truth, k):
        finite = np.isfinite(base)
        lo = float(base[finite].min()) if finite.any() else 0.0
        hi = float(base[finite].max()) if finite.any() else 0.0
        clean = np.where(finite, base, lo - 1.0).astype(np.float64) - (lo - 1.0)
        n, self.width = base.shape
        self.rows = np.arange(n)
        self.span = hi - lo + 2.0
        # rows sorted and shifted apart: one searchsorted for every row
        self.flat = (np.sort(clean, axis=1) + self.rows[:, None] * self.span).ravel()
        self.p, self.k = p, k
        self.entry = clean[p, j]
        self.entry_finite = finite[p, j]
        self.is_truth = j == truth[p]
        self.at_truth = clean[self.rows, truth]
        self.truth_finite = finite[self.rows, truth]

    def __call__(self, m: np.ndarray) -> np.ndarray:
        n = len(self.rows)
        at = self.at_truth + np.bincount(self.p[self.is_truth],
                                         weights=m[self.is_truth], minlength=n)
        # above every value of the row: nothing is above it (stay in the row)
        shifted = np.minimum(at, self.span - 0.5) + self.rows * self.span
        above = ((self.rows + 1) * self.width - np.searchsorted(
            self.flat, shifted, side="right")).astype(np.float64)
        at_entry = at[self.p]
        above -= np.bincount(self.p, weights=self.entry > at_entry, minlength=n)
        lifted = self.entry_finite & (self.entry + m > at_entry)
        above += np.bincount(self.p, weights=lifted, minlength=n)
        rank = 1 + above
        hit = self.truth_finite & (rank <= self.k)
        return np.where(hit, 1.0 / np.log2(1.0 + rank), 0.0)
