"""Count priors of the next-event recommenders.

Two sparse terms are added to the network's scores of every candidate item
``j`` after a sequence:

- *transition*: ``w_t * log1p(c(i -> j) / a)``, where ``c(i -> j)`` counts
  how often ``j`` directly followed the sequence's last item ``i`` in the
  fitted sequences (the item-to-item Markov baseline);
- *repeat*: ``w_r * log1p(n(j) / a)``, where ``n(j)`` counts ``j`` in the
  sequence itself (users re-buy, re-listen, re-visit).

The weights ``w_t``, ``w_r`` and the smoothing ``a`` are chosen on held-out
sequences by the log-likelihood of their next items (full softmax over the
catalogue, network and priors together); weights of 0 turn a term off. As
the network, the priors score the whole catalogue: both terms are sparse, so
the choice costs ``O(entries)`` per candidate setting, not
``O(positions x items)``.

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
WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
SMOOTHING_GRID = (0.1, 1.0, 10.0)
#: positions per held-out sequence (its last ones) and entries in all
CHOICE_STEPS = 50
MAX_CHOICE_ENTRIES = 2**24
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


def choice_positions(X: RaggedSequences, steps: int = CHOICE_STEPS):
    """Global indices ``e`` of the events whose successor ``e + 1`` is
    predicted to choose the weights: the last ``steps`` of each sequence
    (fewer when the entries would exceed :data:`MAX_CHOICE_ENTRIES`)."""
    lengths = X.lengths
    n = np.clip(lengths - 1, 0, steps)
    # prefix entries of a sequence are at most n * length: keep sequences
    # (in order) while the total stays within the bound
    keep = np.cumsum(n * lengths) <= MAX_CHOICE_ENTRIES
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


def choose_prior_weights(lp, lp_truth, p, j, counts, truth) -> tuple[dict, float]:
    """The weights that maximize the mean log-likelihood of the true next
    ids, and that mean; :data:`PRIOR_OFF` unless the best setting beats the
    network alone by more than one standard error (over positions) of the
    paired difference, so that noise does not switch a prior on.

    ``lp`` is the network's log-probability of entry ``(p[e], j[e])``,
    ``lp_truth`` that of each position's true next id. With the prior ``M``
    (0 off the entries) the log-likelihood of position ``q`` is
    ``lp_truth + M(truth) - log(1 + sum_e exp(lp_e) * expm1(M_e))``. Ties go
    to the smaller weights."""
    n = len(lp_truth)
    if not n:
        return dict(PRIOR_OFF), 0.0
    at_truth = j == truth[p]
    prob = np.exp(lp)
    best, best_gain = dict(PRIOR_OFF), np.zeros(n)
    for a in SMOOTHING_GRID:
        log_t, log_r = np.log1p(counts[:, 0] / a), np.log1p(counts[:, 1] / a)
        for w_t, w_r in itertools.product(WEIGHT_GRID, WEIGHT_GRID):
            if w_t == 0 and w_r == 0:
                continue
            m = w_t * log_t + w_r * log_r
            mass = np.bincount(p, weights=prob * np.expm1(m), minlength=n)
            gain = np.bincount(p[at_truth], weights=m[at_truth], minlength=n)
            gain -= np.log1p(np.maximum(mass, -1 + 1e-12))
            if gain.mean() > best_gain.mean() + 1e-9:
                best = {"transition": w_t, "repeat": w_r, "smoothing": a}
                best_gain = gain
    se = best_gain.std() / np.sqrt(n)
    if best_gain.mean() <= se:
        best, best_gain = dict(PRIOR_OFF), np.zeros(n)
    return best, float(np.mean(lp_truth + best_gain))
