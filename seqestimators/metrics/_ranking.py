"""Ranking metrics for next-event prediction, usable as scikit-learn scorers.

``hit_rate_at_k``, ``ndcg_at_k`` and ``mean_reciprocal_rank`` take the true
labels, a score matrix (e.g. ``predict_proba``) and the class labels of its
columns. :func:`make_ranking_scorer` wraps one of them as a scorer for
``cross_val_score`` and ``GridSearchCV`` (``scoring=make_ranking_scorer(
"ndcg", k=3)``); it reads ``classes_`` from the fitted estimator or pipeline.
"""

from __future__ import annotations

import numpy as np

from ..data._ops import top_k_indices
from ..utils._compat import StrOptions, validate_params
from ..utils._validation import Int

__all__ = [
    "hit_rate_at_k",
    "make_ranking_scorer",
    "mean_reciprocal_rank",
    "ndcg_at_k",
    "top_k",
]


def _ranks(y_true, scores, classes) -> np.ndarray:
    """1-based rank of each true label among the columns. Ties take the
    middle rank (the expected rank under a random tie-break), so a constant
    score ranks every label in the middle, not first."""
    scores = np.asarray(scores, dtype=np.float64)
    classes = np.asarray(classes)
    y_true = np.asarray(y_true)
    if scores.ndim != 2 or scores.shape[1] != len(classes):
        raise ValueError(
            f"scores must have shape (n_samples, n_classes={len(classes)}); got "
            f"{scores.shape}."
        )
    if len(y_true) != len(scores):
        raise ValueError(
            f"y_true has {len(y_true)} labels but scores has {len(scores)} rows."
        )
    sorter = np.argsort(classes)
    pos = np.searchsorted(classes, y_true, sorter=sorter)
    pos = np.clip(pos, 0, len(classes) - 1)
    col = sorter[pos]
    unknown = classes[col] != y_true
    if unknown.any():
        raise ValueError(
            f"y_true holds labels that are not classes of the scores, e.g. "
            f"{y_true[unknown][:3].tolist()}; classes are {classes.tolist()}."
        )
    true_score = scores[np.arange(len(scores)), col][:, None]
    higher = (scores > true_score).sum(axis=1)
    tied = (scores == true_score).sum(axis=1) - 1
    return 1 + higher + tied / 2


#: ``k``: a positive int, never a bool (``True`` is an ``Integral``)
_K = [Int(1)]
_SCORES = ["array-like"]


def _check_k(k, n_classes: int) -> None:
    """Refuse ``k`` above the number of classes (the one rule spanning two
    arguments; the type and range of ``k`` are checked by ``validate_params``)."""
    if k > n_classes:
        raise ValueError(
            f"k={k} is larger than the number of classes ({n_classes}); use "
            f"k <= {n_classes}."
        )


_SHARED_DOC = """y_true : array-like of shape (n_samples,)
        True labels.
    scores : array-like of shape (n_samples, n_classes)
        Scores of each class (e.g. ``predict_proba``); higher is better.
    classes : array-like of shape (n_classes,)
        The label of each column of ``scores`` (e.g. ``estimator.classes_``)."""


@validate_params(
    {"scores": _SCORES, "classes": ["array-like"], "k": _K},
    prefer_skip_nested_validation=True,
)
def top_k(scores, classes, k: int) -> np.ndarray:
    """The ``k`` highest-scoring classes of each row, best first.

    Ties go to the class of the lower column.

    Parameters
    ----------
    scores : array-like of shape (n_samples, n_classes)
        Scores of each class; higher is better.
    classes : array-like of shape (n_classes,)
        The label of each column of ``scores``.
    k : int
        How many classes to return per row (at most ``n_classes``).

    Returns
    -------
    top : ndarray of shape (n_samples, k)
        Class labels, best first.

    Examples
    --------
    >>> from seqestimators.metrics import top_k
    >>> top_k([[0.1, 0.6, 0.3]], ["a", "b", "c"], k=2).tolist()
    [['b', 'c']]
    """
    scores = np.asarray(scores)
    classes = np.asarray(classes)
    _check_k(k, len(classes))
    return classes[top_k_indices(scores, k)]


@validate_params(
    {"y_true": ["array-like"], "scores": _SCORES, "classes": ["array-like"], "k": _K},
    prefer_skip_nested_validation=True,
)
def hit_rate_at_k(y_true, scores, classes, k: int = 5) -> float:
    """Share of rows whose true label is among the ``k`` best-scored classes.

    Ties take the middle rank, so a constant score is not a hit for free.

    Parameters
    ----------
    {shared}
    k : int, default=5
        Cut-off rank.

    Returns
    -------
    score : float
        In [0, 1]; higher is better.

    Examples
    --------
    >>> from seqestimators.metrics import hit_rate_at_k
    >>> hit_rate_at_k(["b", "a"], [[0.1, 0.6, 0.3], [0.2, 0.3, 0.5]],
    ...               ["a", "b", "c"], k=2)
    0.5
    """
    _check_k(k, len(classes))
    return float(np.mean(_ranks(y_true, scores, classes) <= k))


@validate_params(
    {"y_true": ["array-like"], "scores": _SCORES, "classes": ["array-like"], "k": _K},
    prefer_skip_nested_validation=True,
)
def ndcg_at_k(y_true, scores, classes, k: int = 5) -> float:
    """Normalized discounted cumulative gain at ``k`` with one relevant class
    per row: ``1 / log2(1 + rank)`` if the rank is at most ``k``, else 0.

    Parameters
    ----------
    {shared}
    k : int, default=5
        Cut-off rank.

    Returns
    -------
    score : float
        In [0, 1]; higher is better.

    Examples
    --------
    >>> from seqestimators.metrics import ndcg_at_k
    >>> round(ndcg_at_k(["c"], [[0.1, 0.6, 0.3]], ["a", "b", "c"], k=2), 3)
    0.631
    """
    _check_k(k, len(classes))
    ranks = _ranks(y_true, scores, classes)
    return float(np.mean(np.where(ranks <= k, 1.0 / np.log2(1.0 + ranks), 0.0)))


@validate_params(
    {"y_true": ["array-like"], "scores": _SCORES, "classes": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def mean_reciprocal_rank(y_true, scores, classes) -> float:
    """Mean of ``1 / rank`` of the true label.

    Parameters
    ----------
    {shared}

    Returns
    -------
    score : float
        In (0, 1]; higher is better.

    Examples
    --------
    >>> from seqestimators.metrics import mean_reciprocal_rank
    >>> mean_reciprocal_rank(["c"], [[0.1, 0.6, 0.3]], ["a", "b", "c"])
    0.5
    """
    return float(np.mean(1.0 / _ranks(y_true, scores, classes)))


for _fn in (hit_rate_at_k, ndcg_at_k, mean_reciprocal_rank):
    _fn.__doc__ = _fn.__doc__.replace("{shared}", _SHARED_DOC)


_METRICS = {
    "hit_rate": hit_rate_at_k,
    "ndcg": ndcg_at_k,
    "mrr": mean_reciprocal_rank,
}


class _RankingScorer:
    """``scorer(estimator, X, y)`` for one ranking metric."""

    def __init__(self, metric: str, k: int | None):
        self.metric = metric
        self.k = k

    def __call__(self, estimator, X, y):
        proba = estimator.predict_proba(X)
        classes = estimator.classes_
        fn = _METRICS[self.metric]
        if self.metric == "mrr":
            return fn(y, proba, classes)
        return fn(y, proba, classes, k=self.k)

    def __repr__(self):
        k = "" if self.metric == "mrr" else f", k={self.k}"
        return f"make_ranking_scorer({self.metric!r}{k})"


@validate_params(
    {"metric": [StrOptions(set(_METRICS))], "k": _K},
    prefer_skip_nested_validation=True,
)
def make_ranking_scorer(metric: str = "ndcg", k: int = 5) -> _RankingScorer:
    """A scikit-learn scorer for a ranking metric.

    Parameters
    ----------
    metric : {"hit_rate", "ndcg", "mrr"}, default="ndcg"
        Hit rate at ``k``, NDCG at ``k`` or mean reciprocal rank.
    k : int, default=5
        Cut-off of hit rate and NDCG (ignored by MRR).

    Examples
    --------
    >>> from seqestimators.metrics import make_ranking_scorer
    >>> make_ranking_scorer("hit_rate", k=3)
    make_ranking_scorer('hit_rate', k=3)
    """
    return _RankingScorer(metric, k)
