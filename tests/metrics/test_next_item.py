"""make_next_item_scorer with cross_val_score and GridSearchCV."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from seqestimators import LSTMSequenceRecommender, leave_last_out, to_sequences
from seqestimators.datasets import make_event_log
from seqestimators.metrics import make_next_item_scorer
from seqestimators.metrics._next_item import topk_hits


class _Fixed:
    """A recommender whose top-k list is fixed (for hand-computed scores)."""

    def __init__(self, top):
        self.top = np.asarray(top, dtype=object)

    def predict_topk(self, X, k=10, exclude_seen=True):
        return self.top[:, :k]


def test_scores_by_hand():
    rec = _Fixed([["a", "b", "c"], ["c", "d", "e"], ["x", "y", "z"]])
    y = ["b", "c", "q"]  # ranks 2, 1, miss
    assert make_next_item_scorer("hit_rate", k=3)(rec, None, y) == pytest.approx(2 / 3)
    assert make_next_item_scorer("hit_rate", k=1)(rec, None, y) == pytest.approx(1 / 3)
    ndcg = (1 / np.log2(3) + 1) / 3
    assert make_next_item_scorer("ndcg", k=3)(rec, None, y) == pytest.approx(ndcg)
    assert topk_hits(rec.top, y).tolist() == [2, 1, 0]


def test_validation():
    with pytest.raises(ValueError, match="'metric' parameter"):
        make_next_item_scorer("mrr")
    with pytest.raises(ValueError, match="'k' parameter"):
        make_next_item_scorer(k=0)
    with pytest.raises(ValueError, match="one held-out next value"):
        topk_hits([["a"]], ["a", "b"])


@pytest.fixture(scope="module")
def histories():
    events, _ = make_event_log(90, random_state=0)
    X = to_sequences(events[["user_id", "timestamp", "event_type", "item_id"]])
    return leave_last_out(X, "item_id")


def test_cross_val_score_and_grid_search(histories):
    history, y = histories
    rec = LSTMSequenceRecommender(target="item_id", hidden_size=8, embedding_dim=8,
                                  max_epochs=1, random_state=0, n_threads=1)
    scorer = make_next_item_scorer("ndcg", k=10, exclude_seen=False)
    cv = KFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(rec, history, y, scoring=scorer, cv=cv)
    assert scores.shape == (3,) and ((scores >= 0) & (scores <= 1)).all()
    search = GridSearchCV(rec, {"hidden_size": [4, 8]}, cv=cv,
                          scoring=make_next_item_scorer("hit_rate")).fit(history, y)
    assert search.best_params_["hidden_size"] in (4, 8)
    # the default scoring is the estimator's score: hit rate at k
    default = cross_val_score(rec, history, y, cv=cv)
    assert ((default >= 0) & (default <= 1)).all()
