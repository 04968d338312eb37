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
    "pick_prior_weights",
    "position_entries",
    "prior_settings",
    "settings_ndcg",
    "transition_table",
]

#: weights tried for each term, and the smoothing values ``a``
WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
SMOOTHING_GRID = (0.1, 1.0, 10.0)
#: positions per held-out sequence (its last ones) and entries in all
CHOICE_STEPS = 20
MAX_CHOICE_ENTRIES = 2**24
#: positions x catalogue ranked for the choice (the compute bound; memory
#: is bounded by the blocks the scores are streamed in)
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
    [[2, 3, 2], [3, 2, 1]]
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


def prior_settings() -> list[dict]:
    """The candidate weights: :data:`PRIOR_OFF` first, then every grid
    setting, smoothing outermost and weights increasing (ties go to the
    first)."""
    out = [dict(PRIOR_OFF)]
    for a in SMOOTHING_GRID:
        for w_t, w_r in itertools.product(WEIGHT_GRID, WEIGHT_GRID):
            if w_t or w_r:
                out.append({"transition": w_t, "repeat": w_r, "smoothing": a})
    return out


def settings_ndcg(scores, p, j, counts, truth, k, exclude_seen, settings):
    """``(len(settings), n_positions)`` NDCG@``k`` of the true next ids
    under the network's ``scores`` ``(n_positions, n_ids)`` plus each
    setting's priors at the entries ``(p, j, counts)`` of
    :func:`position_entries` (``p`` indexing the rows of ``scores``). With
    ``exclude_seen`` the ids a prefix holds (its repeat entries) are ranked
    last, as :meth:`predict_topk` does (in ``scores``, float32, in place)."""
    base = np.asarray(scores, dtype=np.float32)
    if exclude_seen:
        seen = counts[:, 1] > 0
        base[p[seen], j[seen]] = -np.inf
    rank = _Ranker(base, p, j, truth, k)
    logs = {}
    out = np.empty((len(settings), len(truth)))
    for i, s in enumerate(settings):
        a = s["smoothing"]
        if a not in logs:
            logs[a] = (np.log1p(counts[:, 0] / a), np.log1p(counts[:, 1] / a))
        out[i] = rank(s["transition"] * logs[a][0] + s["repeat"] * logs[a][1])
    return out


def pick_prior_weights(settings, ndcg) -> tuple[dict, float]:
    """The setting of highest mean NDCG (rows of ``ndcg``, the first being
    :data:`PRIOR_OFF`), and that mean; :data:`PRIOR_OFF` unless it beats
    the network alone by more than one standard error (over positions) of
    the paired difference, so that noise does not switch a prior on."""
    n = ndcg.shape[1]
    if not n:
        return dict(PRIOR_OFF), 0.0
    gain = ndcg - ndcg[0]
    means = gain.mean(axis=1)
    best = int(np.argmax(means > means.max() - 1e-9))  # the first of the best
    if means[best] <= gain[best].std() / np.sqrt(n):
        best = 0
    return dict(settings[best]), float(ndcg[best].mean())


def choose_prior_weights(scores, p, j, counts, truth, k, exclude_seen):
    """:func:`pick_prior_weights` over :func:`prior_settings` for one block
    of positions (the estimators stream blocks through
    :func:`settings_ndcg`)."""
    settings = prior_settings()
    ndcg = settings_ndcg(scores, p, j, counts, truth, k, exclude_seen, settings)
    return pick_prior_weights(settings, ndcg)


class _Ranker:
    """Per-position NDCG@k of ``truth`` under ``base`` ``(n, n_ids)`` plus an
    addition ``m >= 0`` at the sparse entries ``(p, j)``.

    Each row is sorted once; a setting then costs one binary search per
    position and a pass over the entries: the items above the truth are
    those above it in the sorted row, minus the entries there, plus the
    entries the addition lifts above it (ties rank the truth first)."""

    def __init__(self, base, p, j, truth, k):
        finite = np.isfinite(base)
        lo = float(base[finite].min()) - 1.0 if finite.any() else 0.0
        hi = float(base[finite].max()) if finite.any() else 0.0
        n, self.width = base.shape
        self.rows = np.arange(n)
        self.span = hi - lo + 1.0
        # rows sorted, shifted to [0, span) (non-finite at 0) and apart by
        # span: one searchsorted for every row
        flat = np.sort(base, axis=1).astype(np.float64)
        np.maximum(flat, lo, out=flat)
        flat -= lo
        flat += self.rows[:, None] * self.span
        self.flat = flat.ravel()
        self.p, self.k = p, k
        self.entry_finite = finite[p, j]
        # float64 before shifting, as the sorted rows
        self.entry = np.where(self.entry_finite, base[p, j].astype(np.float64), lo) - lo
        self.entry_shifted = self.entry + p * self.span
        self.is_truth = j == truth[p]
        self.truth_finite = finite[self.rows, truth]
        self.at_truth = np.where(self.truth_finite,
                                 base[self.rows, truth].astype(np.float64), lo) - lo

    def __call__(self, m: np.ndarray) -> np.ndarray:
        n = len(self.rows)
        at = self.at_truth + np.bincount(self.p[self.is_truth],
                                         weights=m[self.is_truth], minlength=n)
        # above every value of the row: nothing is above it (stay in the row)
        shifted = np.minimum(at, self.span - 0.5) + self.rows * self.span
        above = ((self.rows + 1) * self.width - np.searchsorted(
            self.flat, shifted, side="right")).astype(np.float64)
        at_entry = at[self.p]
        # the entries among them, compared exactly as the sorted rows were
        counted = self.entry_shifted > shifted[self.p]
        above -= np.bincount(self.p, weights=counted, minlength=n)
        lifted = self.entry_finite & (self.entry + m > at_entry)
        above += np.bincount(self.p, weights=lifted, minlength=n)
        rank = 1 + above
        hit = self.truth_finite & (rank <= self.k)
        return np.where(hit, 1.0 / np.log2(1.0 + rank), 0.0)
