"""Classic next-item baselines on a leave-last-out split, full ranking.

Every baseline scores the whole catalogue for each user (no sampled
negatives) with sparse matrix products; nothing loops over users in Python.

- ``popularity``: how often each item occurs in the training histories;
- ``markov``: item-to-item transitions (the last item's successors), with
  popularity as a small fill-in so every item gets a score;
- ``markov_repeat``: the last item's successor frequencies plus the
  history's own item frequencies (both normalized to sum to 1): "what
  follows the last item, or what the user took before";
- ``item_knn``: cosine similarity between items over users (who interacted
  with both), summed over the user's history items, top neighbours kept.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from seqestimators.data._ops import top_k_indices


def user_item(codes: np.ndarray, lengths: np.ndarray, n_items: int) -> sp.csr_matrix:
    """Binary ``(n_users, n_items)`` matrix of the items in each history."""
    rows = np.repeat(np.arange(len(lengths)), lengths)
    m = sp.csr_matrix(
        (np.ones(len(codes), dtype=np.float32), (rows, codes)),
        shape=(len(lengths), n_items),
    )
    m.data[:] = 1.0
    return m


def popularity_scores(seen: sp.csr_matrix) -> np.ndarray:
    pop = np.asarray(seen.sum(axis=0)).ravel().astype(np.float64)
    return np.broadcast_to(pop, seen.shape).copy()


def markov_scores(codes, lengths, n_items, seen) -> np.ndarray:
    """Transition counts from each user's last item, plus 1e-6 x popularity."""
    ends = np.cumsum(lengths)
    nxt = np.ones(len(codes), dtype=bool)
    nxt[ends - 1] = False  # no transition out of a history's last event
    src = codes[np.flatnonzero(nxt)]
    dst = codes[np.flatnonzero(nxt) + 1]
    trans = sp.csr_matrix(
        (np.ones(len(src), dtype=np.float32), (src, dst)), shape=(n_items, n_items)
    )
    last = codes[ends - 1]
    scores = trans[last].toarray().astype(np.float64)
    return scores + 1e-6 * popularity_scores(seen)


def markov_repeat_scores(codes, lengths, n_items, seen) -> np.ndarray:
    """Successor frequencies of the last item + the history's item
    frequencies, plus 1e-6 x popularity."""
    pop = popularity_scores(seen)
    successors = markov_scores(codes, lengths, n_items, seen) - 1e-6 * pop
    successors /= np.maximum(successors.sum(axis=1, keepdims=True), 1)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    counts = sp.csr_matrix(
        (np.ones(len(codes)), (rows, codes)), shape=(len(lengths), n_items)
    ).toarray()
    counts /= np.maximum(counts.sum(axis=1, keepdims=True), 1)
    return successors + counts + 1e-6 * pop


def item_knn_scores(seen: sp.csr_matrix, n_neighbors: int = 100) -> np.ndarray:
    """User history x item-item cosine similarity (top neighbours per item)."""
    norms = np.sqrt(np.asarray(seen.sum(axis=0)).ravel()) + 1e-9
    co = (seen.T @ seen).tocsr().astype(np.float32)
    co.setdiag(0)
    co.eliminate_zeros()
    co = sp.diags(1 / norms) @ co @ sp.diags(1 / norms)
    co = _keep_top(co.tocsr(), n_neighbors)
    return (seen @ co).toarray().astype(np.float64) + 1e-6 * popularity_scores(seen)


def _keep_top(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each row (vectorized over rows)."""
    counts = np.diff(m.indptr)
    row = np.repeat(np.arange(m.shape[0]), counts)
    order = np.lexsort((-m.data, row))
    rank = np.arange(len(order)) - np.repeat(m.indptr[:-1], counts)
    keep = np.zeros(len(order), dtype=bool)
    keep[order[rank < k]] = True
    return sp.csr_matrix(
        (m.data[keep], m.indices[keep], np.r_[0, np.cumsum(
            np.bincount(row[keep], minlength=m.shape[0]))]),
        shape=m.shape,
    )


def rank_metrics(scores: np.ndarray, truth: np.ndarray, seen=None, k: int = 10):
    """HR@k and NDCG@k of the true items under a full ranking; items in
    ``seen`` (a user x item matrix) are excluded when it is given."""
    scores = scores.copy()
    if seen is not None:
        r, c = seen.nonzero()
        scores[r, c] = -np.inf
    true = scores[np.arange(len(truth)), truth][:, None]
    rank = 1 + (scores > true).sum(axis=1) + ((scores == true).sum(axis=1) - 1) / 2
    hit = rank <= k
    ndcg = np.where(hit, 1 / np.log2(1 + rank), 0.0)
    return float(hit.mean()), float(ndcg.mean())


def top_items(scores: np.ndarray, k: int) -> np.ndarray:
    return top_k_indices(scores, k)
