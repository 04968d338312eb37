"""scikit-learn's Bagging over a Pipeline on a sequence frame.

BaggingClassifier/BaggingRegressor validate X themselves: the base estimators
receive the frame as a 2-D object ndarray (the same list cells, without
column names), which SequenceVectorizer reads as a frame with columns
x0, x1, ... (or, after a fit on a frame, with the names seen in ``fit``).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import BaggingClassifier, BaggingRegressor
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_array

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceVectorizer,
)


@pytest.fixture(scope="module")
def frame(sequences):
    return sequences.head(150)


@pytest.fixture(scope="module")
def bagged(frame, targets):
    y = targets.loc[frame.index, "will_buy"].to_numpy()
    pipe = make_pipeline(
        SequenceVectorizer(), LSTMSequenceClassifier(hidden_size=4, max_epochs=2)
    )
    return BaggingClassifier(pipe, n_estimators=2, random_state=0).fit(frame, y)


def _as_bagging_passes_it(frame):
    return check_array(frame, dtype=None, ensure_all_finite=False)


def test_bagging_classifier_on_a_sequence_frame(bagged, frame):
    proba = bagged.predict_proba(frame)
    assert proba.shape == (len(frame), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    cells = _as_bagging_passes_it(frame)
    members = [m.predict_proba(cells) for m in bagged.estimators_]
    np.testing.assert_allclose(proba, np.mean(members, axis=0), rtol=1e-6)
    # a seed ensemble: each member got its own seed, and they differ
    seeds = [m[-1].random_state for m in bagged.estimators_]
    assert seeds[0] != seeds[1]
    assert not np.allclose(members[0], members[1])
    np.testing.assert_array_equal(
        bagged.predict(frame), bagged.classes_[proba.argmax(axis=1)]
    )


def test_members_read_the_columns_as_from_the_frame(bagged, frame):
    vectorizer = bagged.estimators_[0][0]
    reference = SequenceVectorizer().fit(frame)
    positions = {name: f"x{j}" for j, name in enumerate(frame.columns)}
    assert vectorizer.categorical_ == [positions[c] for c in reference.categorical_]
    assert vectorizer.numeric_ == [positions[c] for c in reference.numeric_]
    assert vectorizer.time_ == positions[reference.time_]


def test_bagging_regressor_on_a_sequence_frame(frame, targets):
    y = np.log1p(targets.loc[frame.index, "future_spend"].to_numpy())
    pipe = make_pipeline(
        SequenceVectorizer(), LSTMSequenceRegressor(hidden_size=4, max_epochs=2)
    )
    bag = BaggingRegressor(pipe, n_estimators=2, random_state=0).fit(frame, y)
    pred = bag.predict(frame)
    assert pred.shape == (len(frame),) and np.isfinite(pred).all()
    cells = _as_bagging_passes_it(frame)
    members = [m.predict(cells) for m in bag.estimators_]
    np.testing.assert_allclose(pred, np.mean(members, axis=0), rtol=1e-5)


def test_vectorizer_reads_an_array_of_cells_like_the_frame(frame):
    cells = _as_bagging_passes_it(frame)
    fitted = SequenceVectorizer().fit(frame)
    want = fitted.transform(frame)
    # fitted on the frame: the array's columns take the names seen in fit
    got = fitted.transform(cells)
    np.testing.assert_array_equal(got.categorical, want.categorical)
    np.testing.assert_allclose(got.numeric, want.numeric)
    # fitted on the array: the same encoding under the names x0, x1, ...
    on_cells = clone(fitted).fit(cells)
    assert list(on_cells.feature_names_in_) == [f"x{j}" for j in range(cells.shape[1])]
    again = on_cells.transform(cells)
    np.testing.assert_array_equal(again.categorical, want.categorical)
    np.testing.assert_allclose(again.numeric, want.numeric)
    assert cells.dtype == object and cells.shape == frame.shape  # not modified
