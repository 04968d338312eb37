"""The estimators' linear start leaves out the groups of weights whose help
is within noise (cross-validated, one-standard-error rule)."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline

import seqestimators as se
from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceVectorizer,
)


@pytest.fixture(scope="module")
def frame():
    """400 sequences of 8 events: an id out of 8 and a numeric value, both
    drawn at random."""
    rng = np.random.RandomState(0)
    n, T = 400, 8
    return pd.DataFrame({
        "event": [list(rng.choice(list("abcdefgh"), size=T)) for _ in range(n)],
        "value": [list(rng.normal(size=T).round(3)) for _ in range(n)],
    })


def test_no_group_helps_noise_labels(frame):
    """Coin-flip labels: every group is left out (penalty inf), the linear
    model is the intercept alone and, kept over a network that does not
    beat it, predicts one probability for every sequence (a finite
    penalty, however strong, would still rank the sequences); the
    infinite penalties survive a save/load round trip."""
    y = np.random.RandomState(1).randint(0, 2, size=len(frame))
    model = make_pipeline(
        SequenceVectorizer(),
        LSTMSequenceClassifier(hidden_size=8, max_epochs=2, lr=1.0,
                               ensemble_size=1, random_state=0),
    )
    model.fit(frame, y)
    clf = model[-1]
    assert clf.best_epoch_ == 0
    assert set(clf.wide_alpha_) == {"ids_0", "numeric"}
    assert all(math.isinf(v) for v in clf.wide_alpha_.values())
    proba = model.predict_proba(frame)[:, 1]
    assert np.ptp(proba) == 0
    assert proba[0] == pytest.approx(y.mean(), abs=0.02)
    buffer = io.BytesIO()
    se.save(model, buffer)
    buffer.seek(0)
    assert se.load(buffer)[-1].wide_alpha_ == clf.wide_alpha_


def test_count_regressor_keeps_only_the_summaries_that_help(frame):
    """Counts driven by each sequence's mean value, ids irrelevant, sample
    weights given: the ids are left out, the numeric summaries kept, and
    the predictions follow the mean."""
    rng = np.random.RandomState(2)
    mean = np.array([np.mean(v) for v in frame["value"]])
    y = rng.poisson(np.exp(1.0 + 2.0 * mean))
    weight = rng.uniform(0.5, 2.0, size=len(y))
    model = make_pipeline(
        SequenceVectorizer(),
        LSTMSequenceRegressor(hidden_size=8, max_epochs=2, lr=1e-3,
                              ensemble_size=1, random_state=0),
    )
    model.fit(frame, y, lstmsequenceregressor__sample_weight=weight)
    reg = model[-1]
    assert reg._loss == "poisson"
    assert math.isinf(reg.wide_alpha_["ids_0"])
    assert math.isfinite(reg.wide_alpha_["numeric"])
    assert np.corrcoef(np.log(model.predict(frame)), mean)[0, 1] > 0.9
