"""Ranking metrics for next-event prediction, usable as scikit-learn scorers."""

from ._ranking import (
    hit_rate_at_k,
    make_ranking_scorer,
    mean_reciprocal_rank,
    ndcg_at_k,
    top_k,
)

__all__ = [
    "hit_rate_at_k",
    "make_ranking_scorer",
    "mean_reciprocal_rank",
    "ndcg_at_k",
    "top_k",
]
