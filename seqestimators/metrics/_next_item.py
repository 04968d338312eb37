"""Scorers of next-item recommenders, from their top-k lists.

:func:`make_next_item_scorer` gives ``scorer(estimator, X, y)`` for
``cross_val_score``, ``GridSearchCV`` and :func:`seqestimators.tune`, with
``X`` the histories and ``y`` the held-out next values
(:func:`seqestimators.leave_last_out`). The estimator (or a pipeline's last
step, fed the transformed ``X``) must have ``predict_topk(X, k,
exclude_seen)`` returning original labels, best first.
"""

from __future__ import annotations

import numpy as np

from ..utils._compat import StrOptions, validate_params
from ..utils._validation import Int

__all__ = ["make_next_item_scorer", "topk_hits"]


def topk_hits(top, y_true) -> np.ndarray:
    """1-based rank of each true value in its row of ``top`` (0: not in it).

    Examples
    --------
    >>> import numpy as np
    >>> topk_hits(np.array([["a", "b"], ["c", "d"]]), ["b", "x"]).tolist()
    [2, 0]
    """
    top = np.asarray(top, dtype=object)
    y = np.asarray(y_true, dtype=object).reshape(-1, 1)
    if len(y) != len(top):
        raise ValueError(
            f"y has {len(y)} values but there are {len(top)} top-k lists; pass "
            "one held-out next value per history."
        )
    match = top == y
    return np.where(match.any(axis=1), np.argmax(match, axis=1) + 1, 0)


class _NextItemScorer:
    """``scorer(estimator, X, y)`` for hit rate or NDCG at ``k``."""

    def __init__(self, metric: str, k: int, exclude_seen: bool):
        self.metric = metric
        self.k = k
        self.exclude_seen = exclude_seen

    def __call__(self, estimator, X, y):
        if not hasattr(estimator, "predict_topk") and hasattr(estimator, "steps"):
            X = estimator[:-1].transform(X)
            estimator = estimator[-1]
        top = estimator.predict_topk(X, k=self.k, exclude_seen=self.exclude_seen)
        rank = topk_hits(top, y)
        if self.metric == "hit_rate":
            return float(np.mean(rank > 0))
        gains = np.where(rank > 0, 1.0 / np.log2(1.0 + np.maximum(rank, 1)), 0.0)
        return float(np.mean(gains))

    def __repr__(self):
        return (f"make_next_item_scorer({self.metric!r}, k={self.k}, "
                f"exclude_seen={self.exclude_seen})")


@validate_params(
    {"metric": [StrOptions({"hit_rate", "ndcg"})], "k": [Int(1)],
     "exclude_seen": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def make_next_item_scorer(
    metric: str = "hit_rate", k: int = 10, exclude_seen: bool = True
) -> _NextItemScorer:
    """A scikit-learn scorer for next-item recommenders.

    Parameters
    ----------
    metric : {"hit_rate", "ndcg"}, default="hit_rate"
        Hit rate at ``k`` (share of histories whose held-out next value is in
        the top ``k``) or NDCG at ``k`` (``1 / log2(1 + rank)`` for a hit;
        one relevant item per history).
    k : int, default=10
        Length of the ranked list.
    exclude_seen : bool, default=True
        Passed to ``predict_topk``: leave each history's own items out of its
        ranking (set False where users repeat items).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``; greater is better.

    Examples
    --------
    >>> from seqestimators.metrics import make_next_item_scorer
    >>> make_next_item_scorer("ndcg", k=5)
    make_next_item_scorer('ndcg', k=5, exclude_seen=True)
    """
    return _NextItemScorer(metric, int(k), bool(exclude_seen))
