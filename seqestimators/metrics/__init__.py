"""Ranking metrics for next-event prediction, usable as scikit-learn scorers."""

from ._next_item import make_next_item_scorer
from ._ranking import (
    hit_rate_at_k,
    make_ranking_scorer,
    mean_reciprocal_rank,
    ndcg_at_k,
    top_k,
)

__all__ = [
    "hit_rate_at_k",
    "make_next_item_scorer",
    "make_ranking_scorer",
    "mean_reciprocal_rank",
    "ndcg_at_k",
    "top_k",
]
