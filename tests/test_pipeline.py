"""SequencePipeline: predict_topk through the steps, like predict."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRecommender,
    SequencePipeline,
    SequenceVectorizer,
    leave_last_out,
    make_sequence_pipeline,
    to_sequences,
)
from seqestimators.datasets import make_event_log


@pytest.fixture(scope="module")
def classifier_pipe(sequences, targets):
    y = targets.loc[sequences.index, "will_buy"].to_numpy()
    pipe = make_sequence_pipeline(
        SequenceVectorizer(max_len=30),
        LSTMSequenceClassifier(hidden_size=4, max_epochs=2, random_state=0),
    )
    return pipe.fit(sequences, y)


def test_make_sequence_pipeline_names_the_steps(classifier_pipe):
    assert isinstance(classifier_pipe, SequencePipeline)
    assert isinstance(classifier_pipe, Pipeline)
    assert [name for name, _ in classifier_pipe.steps] == [
        "sequencevectorizer", "lstmsequenceclassifier"
    ]
    # slices, clones and parameters stay SequencePipelines
    assert isinstance(classifier_pipe[:1], SequencePipeline)
    copy = clone(classifier_pipe)
    assert isinstance(copy, SequencePipeline)
    assert copy.get_params()["lstmsequenceclassifier__hidden_size"] == 4


def test_predict_topk_goes_through_the_steps(classifier_pipe, sequences):
    X = sequences.head(50)
    top = classifier_pipe.predict_topk(X, k=2)
    by_hand = classifier_pipe[-1].predict_topk(classifier_pipe[:-1].transform(X), k=2)
    np.testing.assert_array_equal(top, by_hand)
    assert top.shape == (50, 2)
    np.testing.assert_array_equal(top[:, 0], classifier_pipe.predict(X))


def test_predict_topk_skips_passthrough_steps(classifier_pipe, sequences):
    vectorizer, clf = (step for _, step in classifier_pipe.steps)
    pipe = SequencePipeline(
        [("v", vectorizer), ("nothing", "passthrough"), ("clf", clf)]
    )
    X = sequences.head(20)
    np.testing.assert_array_equal(
        pipe.predict_topk(X, k=1), classifier_pipe.predict_topk(X, k=1)
    )


def test_predict_topk_only_when_the_last_step_has_it():
    pipe = make_sequence_pipeline(FunctionTransformer(), LogisticRegression())
    assert not hasattr(pipe, "predict_topk")
    assert hasattr(pipe, "predict")


def test_recommender_keywords_reach_the_last_step():
    events, _ = make_event_log(120, random_state=0)
    X = to_sequences(events[["user_id", "timestamp", "event_type", "item_id"]])
    history, _ = leave_last_out(X, "item_id")
    pipe = make_sequence_pipeline(
        SequenceVectorizer(categorical=["event_type", "item_id"]),
        LSTMSequenceRecommender(
            target="item_id", hidden_size=8, embedding_dim=8, max_epochs=2,
            random_state=0,
        ),
    ).fit(history)
    Xt = pipe[:-1].transform(history)
    for exclude_seen in (True, False):
        np.testing.assert_array_equal(
            pipe.predict_topk(history, k=3, exclude_seen=exclude_seen),
            pipe[-1].predict_topk(Xt, k=3, exclude_seen=exclude_seen),
        )
    # the keyword reached the recommender: leaving seen items out changes
    # some rankings
    assert not np.array_equal(
        pipe.predict_topk(history, k=3, exclude_seen=True),
        pipe.predict_topk(history, k=3, exclude_seen=False),
    )
