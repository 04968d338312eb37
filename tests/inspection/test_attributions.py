"""Per-event attributions: they land on the events that decide the target,
they sum to the change of the explained output (completeness), and they are
aligned to the sequence frame; the timeline plot."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceVectorizer,
    TransformerSequenceClassifier,
    event_attributions,
    make_sequence_pipeline,
    plot_event_attributions,
)

matplotlib.use("Agg")

N_USERS = 200
#: rows explained per test (the attributions cost a forward and backward
#: pass of n_steps + 2 copies of each)
N_EXPLAINED = 60


def _key_event_frame(n=N_USERS, seed=0):
    """Random events a-e and a numeric noise channel; the target is 1 when
    the sequence holds the event "key" (at a random place), else 0."""
    rng = np.random.RandomState(seed)
    rows, y = [], []
    start = pd.Timestamp("2024-01-01")
    for _ in range(n):
        length = rng.randint(4, 12)
        events = list(rng.choice(list("abcde"), size=length))
        positive = rng.rand() < 0.5
        if positive:
            events[rng.randint(length)] = "key"
        gaps = np.cumsum(rng.exponential(3600.0, size=length))
        rows.append({
            "timestamp": list(start + pd.to_timedelta(gaps, unit="s")),
            "event": events,
            "amount": list(rng.normal(size=length).round(2)),
        })
        y.append(int(positive))
    index = pd.Index([f"u{i}" for i in range(n)], name="user")
    return pd.DataFrame(rows, index=index), np.array(y)


@pytest.fixture(scope="module")
def key_data():
    return _key_event_frame()


MODELS = {
    # the default architecture: the linear start weighs "key" in the wide path
    "lstm-wide": LSTMSequenceClassifier(hidden_size=8, max_epochs=10,
                                        random_state=0),
    # no wide path, no bag: only the attention network can find "key"
    "transformer-deep": TransformerSequenceClassifier(
        hidden_size=8, num_heads=2, num_layers=1, max_epochs=20, lr=1e-2,
        wide=False, bag_pooling=None, random_state=0, n_threads=1,
    ),
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def explained(request, key_data):
    X, y = key_data
    X = X[["event", "amount"]]
    pipe = make_sequence_pipeline(SequenceVectorizer(), MODELS[request.param])
    pipe.fit(X, y)
    assert (pipe.predict(X) == y).mean() > 0.95  # the model found the rule
    return pipe, X.iloc[:N_EXPLAINED], y[:N_EXPLAINED], event_attributions(
        pipe, X.iloc[:N_EXPLAINED]
    )


def _event_totals(attributions: pd.DataFrame, i: int) -> np.ndarray:
    return np.sum([np.asarray(attributions[c].iloc[i]) for c in attributions],
                  axis=0)


def test_attribution_lands_on_the_decisive_events(explained):
    pipe, X, y, result = explained
    positives = np.flatnonzero(y == 1)
    assert len(positives) > 15
    shares = []
    for i in positives:
        scores = _event_totals(result.attributions, i)
        key = np.asarray(X["event"].iloc[i]) == "key"
        assert key[np.argmax(scores)], X.index[i]  # the top event is "key"
        assert scores[key].sum() > 0  # and it pushes towards class 1
        shares.append(scores[key].sum() / np.abs(scores).sum())
    # one event in 4-11 holds a third or more of all the attribution mass
    assert np.mean(shares) > 0.3
    importance = result.channel_importance
    assert importance["event"] > 5 * importance["amount"]  # amount is noise


def test_completeness_and_explained_output(explained):
    pipe, X, y, result = explained
    proba = pipe.predict_proba(X)
    np.testing.assert_allclose(result.output, np.log(proba[:, 1] / proba[:, 0]),
                               rtol=1e-4, atol=1e-4)
    assert list(result.target) == [1] * len(X)  # the positive class
    totals = np.array([_event_totals(result.attributions, i).sum()
                       for i in range(len(X))])
    np.testing.assert_allclose(result.delta, result.output - result.baseline - totals,
                               atol=1e-9)
    mass = np.array([sum(np.abs(np.asarray(result.attributions[c].iloc[i])).sum()
                         for c in result.attributions) for i in range(len(X))])
    scale = np.maximum(np.abs(result.output - result.baseline), mass)
    assert np.all(np.abs(result.delta) <= 0.01 * scale + 1e-6)
    # the baseline (no embedding, zero numeric values) is one value for all
    # sequences of one length
    lengths = X["event"].map(len).to_numpy()
    same = lengths == lengths[0]
    np.testing.assert_allclose(result.baseline[same], result.baseline[0], atol=1e-4)


def test_smooth_model_integrates_exactly(key_data):
    """Mean pooling and the numeric summaries of the wide path (a smooth
    function of the inputs): the completeness error is tiny, and the
    regressor's output is predict's."""
    X, _ = key_data
    X = X[["event", "amount"]]
    y = X["amount"].map(sum).to_numpy() + 3.0 * X["event"].map(
        lambda e: "key" in e).to_numpy()
    pipe = make_sequence_pipeline(SequenceVectorizer(), LSTMSequenceRegressor(
        hidden_size=8, pooling="mean", bag_pooling=None, max_epochs=5,
        random_state=0)).fit(X, y)
    result = event_attributions(pipe, X.iloc[:40], n_steps=16)
    np.testing.assert_allclose(result.output, pipe.predict(X.iloc[:40]),
                               rtol=1e-5, atol=1e-4)
    gap = np.abs(result.output - result.baseline)
    assert np.all(np.abs(result.delta) <= 1e-3 * gap + 1e-3)
    assert list(result.target) == [0] * 40


def test_aligned_to_the_frame_with_max_len_and_time(key_data):
    """max_len keeps the last events: the attributions keep one score per
    event of the frame, 0 for the events cut off; the time features sum
    into the time column."""
    X, y = key_data
    pipe = make_sequence_pipeline(
        SequenceVectorizer(max_len=5),
        LSTMSequenceClassifier(hidden_size=4, max_epochs=1, random_state=0),
    ).fit(X, y)
    part = X.iloc[:30]
    result = event_attributions(pipe, part, n_steps=8)
    frame = result.attributions
    assert list(frame.columns) == ["timestamp", "event", "amount"]
    assert frame.index.equals(part.index)
    for column in frame:
        for scores, events in zip(frame[column], part[column]):
            assert len(scores) == len(events)
            scores = np.asarray(scores)
            if len(events) > 5:
                assert np.all(scores[:-5] == 0)  # cut off by max_len
            assert np.any(scores[-5:] != 0)
    importance = result.channel_importance
    expected = [np.mean([np.abs(np.asarray(s)).sum() for s in frame[c]])
                for c in frame]
    np.testing.assert_allclose(importance.to_numpy(), expected)


def test_multiclass_targets_of_an_ensemble(key_data):
    """Three classes, two networks whose probabilities are averaged: the
    explained log-odds are those of the averaged probabilities."""
    X, _ = key_data
    X = X[["event"]]
    y = np.where(X["event"].map(lambda e: "key" in e), "key",
                 np.where(X["event"].map(lambda e: e[0] == "a"), "a", "other"))
    pipe = make_sequence_pipeline(SequenceVectorizer(), LSTMSequenceClassifier(
        hidden_size=4, max_epochs=2, ensemble_size=2, random_state=0)).fit(X, y)
    part = X.iloc[:20]
    result = event_attributions(pipe, part, n_steps=8)
    np.testing.assert_array_equal(result.target, pipe.predict(part))
    gap = np.abs(result.output - result.baseline)
    assert np.all(np.abs(result.delta) <= 0.01 * gap + 1e-3)
    fixed = event_attributions(pipe, part, target="key", n_steps=8)
    assert set(fixed.target) == {"key"}
    proba = pipe.predict_proba(part)[:, list(pipe.classes_).index("key")]
    np.testing.assert_allclose(fixed.output, np.log(proba / (1 - proba)),
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="not a class"):
        event_attributions(pipe, part, target="zzz")


def test_bad_input(key_data):
    X, y = key_data
    X = X[["event"]]
    vec = SequenceVectorizer().fit(X)
    other = make_pipeline(
        vec, FunctionTransformer(lambda r: np.c_[r.lengths]),
        LogisticRegression(),
    ).fit(X, y)
    with pytest.raises(TypeError, match="LSTM or Transformer"):
        event_attributions(other, X)
    rng = np.random.RandomState(0)
    arrays = rng.normal(size=(30, 4, 1)).astype(np.float32)
    reg = LSTMSequenceRegressor(hidden_size=4, max_epochs=1, random_state=0).fit(
        arrays, rng.normal(size=(30, 2)))
    with pytest.raises(ValueError, match="pass target"):
        event_attributions(reg, arrays)
    with pytest.raises(ValueError, match="index of an output"):
        event_attributions(reg, arrays, target=2)
    # a bare estimator on arrays: the model's channels, rows by position
    result = event_attributions(reg, arrays, target=1, n_steps=8)
    assert list(result.attributions.columns) == ["num0"]
    assert len(result.attributions) == 30
    np.testing.assert_allclose(result.output, reg.predict(arrays)[:, 1],
                               rtol=1e-5, atol=1e-4)


def test_plot_timeline(explained):
    pipe, X, y, result = explained
    user = X.index[int(np.flatnonzero(y == 1)[0])]
    ax = plot_event_attributions(result, user, X=X)
    events = list(X.at[user, "event"])
    assert [t.get_text() for t in ax.texts] == events
    points = ax.collections[0]
    assert len(points.get_offsets()) == len(events)
    scores = _event_totals(result.attributions, X.index.get_loc(user))
    np.testing.assert_allclose(points.get_array(), scores)
    # "key" (largest) gets the top of the colour scale
    ax.figure.canvas.draw()
    colours = points.get_facecolors()
    top = int(np.argmax(scores))
    assert events[top] == "key"
    np.testing.assert_allclose(colours[top], points.cmap(1.0))
    assert ax.colorbar is not None
    one = plot_event_attributions(result.attributions, user, channel="amount")
    np.testing.assert_allclose(one.collections[0].get_array(),
                               result.attributions.at[user, "amount"])
    with pytest.raises(ValueError, match="not in the attributions"):
        plot_event_attributions(result, "nobody")
    with pytest.raises(ValueError, match="not a column"):
        plot_event_attributions(result, user, channel="nothing")
