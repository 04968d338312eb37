"""Ranking metrics and scorers for next-event prediction."""

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

from seqestimators import LSTMSequenceClassifier, SequenceVectorizer, to_sequences
from seqestimators.datasets import make_event_log
from seqestimators.metrics import (
    hit_rate_at_k,
    make_ranking_scorer,
    mean_reciprocal_rank,
    ndcg_at_k,
    top_k,
)

CLASSES = np.array(["cart", "purchase", "view"])
SCORES = np.array([[0.2, 0.1, 0.7], [0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
Y = np.array(["view", "purchase", "cart"])  # ranks 1, 2, 3


def test_metrics_by_hand():
    assert hit_rate_at_k(Y, SCORES, CLASSES, k=1) == pytest.approx(1 / 3)
    assert hit_rate_at_k(Y, SCORES, CLASSES, k=2) == pytest.approx(2 / 3)
    assert hit_rate_at_k(Y, SCORES, CLASSES, k=3) == 1.0
    expected = (1 + 1 / np.log2(3)) / 3
    assert ndcg_at_k(Y, SCORES, CLASSES, k=2) == pytest.approx(expected)
    mrr = (1 + 1 / 2 + 1 / 3) / 3
    assert mean_reciprocal_rank(Y, SCORES, CLASSES) == pytest.approx(mrr)


def test_ties_take_the_middle_rank():
    flat = np.full((3, 3), 1 / 3)
    assert hit_rate_at_k(Y, flat, CLASSES, k=1) == 0.0  # rank 2 for everyone
    assert hit_rate_at_k(Y, flat, CLASSES, k=2) == 1.0
    assert mean_reciprocal_rank(Y, flat, CLASSES) == pytest.approx(0.5)
    assert top_k(SCORES, CLASSES, 2).tolist() == [
        ["view", "cart"], ["cart", "purchase"], ["purchase", "view"]]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: hit_rate_at_k(Y, SCORES, CLASSES, k=4), "larger than the number"),
        (lambda: ndcg_at_k(Y, SCORES, CLASSES, k=0), "'k' parameter of ndcg_at_k"),
        # a bool is not a cut-off, in every function alike
        (lambda: ndcg_at_k(Y, SCORES, CLASSES, k=True), "'k' parameter"),
        (lambda: top_k(SCORES, CLASSES, True), "'k' parameter of top_k"),
        (lambda: make_ranking_scorer("ndcg", k=True), "'k' parameter"),
        (lambda: hit_rate_at_k(Y, SCORES, CLASSES, k=2.0), "'k' parameter"),
        (lambda: top_k(SCORES, CLASSES, 5), "larger than the number of classes"),
        (lambda: mean_reciprocal_rank(["x", "view", "cart"], SCORES, CLASSES),
         "not classes"),
        (lambda: mean_reciprocal_rank(Y, SCORES[:, :2], CLASSES), "shape"),
        (lambda: make_ranking_scorer("recall"), "'metric' parameter"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.fixture(scope="module")
def next_event_data():
    events, targets = make_event_log(n_users=600, random_state=3)
    X = to_sequences(events, columns=["timestamp", "event_type", "category", "price"])
    return X, targets.loc[X.index, "next_event"].to_numpy()


def test_scorer_in_cross_val_score_beats_popularity(next_event_data):
    X, y = next_event_data
    scorer = make_ranking_scorer("mrr")
    popularity = cross_val_score(DummyClassifier(strategy="prior"), X, y, cv=3,
                                 scoring=scorer)
    model = make_pipeline(
        SequenceVectorizer(max_len=30),
        LSTMSequenceClassifier(hidden_size=16, max_epochs=15, random_state=0),
    )
    lstm = cross_val_score(model, X, y, cv=3, scoring=scorer)
    # next_event depends on the last event type, which popularity ignores
    assert lstm.mean() > popularity.mean() + 0.03


def test_scorer_in_grid_search(next_event_data):
    X, y = next_event_data
    search = GridSearchCV(
        DummyClassifier(), {"strategy": ["prior", "uniform"]}, cv=2,
        scoring={"ndcg@2": make_ranking_scorer("ndcg", k=2),
                 "hit@1": make_ranking_scorer("hit_rate", k=1)},
        refit="ndcg@2",
    )
    search.fit(X, y)
    assert search.best_params_ == {"strategy": "prior"}
    assert 0 < search.cv_results_["mean_test_hit@1"].max() <= 1
