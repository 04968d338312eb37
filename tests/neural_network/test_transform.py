"""``transform``: the pooled sequence representation, in input order, for
every estimator, pooling and direction; a feature step of a Pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceVectorizer,
    TransformerSequenceRegressor,
    make_sequence_pipeline,
)

TINY = dict(max_epochs=1, random_state=0, early_stopping=False)
TRANSFORMER = dict(hidden_size=8, num_heads=2, num_layers=1, n_threads=1)

#: (estimator, whether it is a classifier); every pooling view, both
#: directions, the bag on and off, an ensemble
CASES = {
    "lstm-default": (LSTMSequenceClassifier(hidden_size=8, **TINY), True),
    "lstm-bidirectional-attention": (
        LSTMSequenceClassifier(hidden_size=8, bidirectional=True,
                               pooling="attention", bag_pooling=None, **TINY),
        True,
    ),
    "gru-regressor-last": (
        LSTMSequenceRegressor(hidden_size=8, cell="gru", pooling="last",
                              bidirectional=True, **TINY),
        False,
    ),
    "lstm-ensemble": (
        LSTMSequenceClassifier(hidden_size=4, ensemble_size=2, pooling="max",
                               **TINY),
        True,
    ),
    "transformer-regressor-causal": (
        TransformerSequenceRegressor(causal=True, pooling="mean+attention",
                                     **TRANSFORMER, **TINY),
        False,
    ),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def fitted(request, sequences, targets):
    X = sequences.iloc[:100]
    estimator, classifier = CASES[request.param]
    y = targets.loc[X.index, "will_buy" if classifier else "future_spend"]
    pipe = make_sequence_pipeline(SequenceVectorizer(), estimator)
    return pipe.fit(X, y.to_numpy()), X


def _width(model) -> int:
    module = model.net_.module_
    return sum(m.head.in_features for m in getattr(module, "members", [module]))


def test_shape_names_and_dtype(fitted):
    pipe, X = fitted
    model = pipe[-1]
    Z = pipe.transform(X)  # Pipeline.transform: the last step's transform
    assert Z.shape == (len(X), _width(model)) and Z.dtype == np.float32
    assert np.isfinite(Z).all()
    names = model.get_feature_names_out()
    prefix = type(model).__name__.lower()
    assert list(names) == [f"{prefix}{i}" for i in range(Z.shape[1])]
    np.testing.assert_array_equal(pipe.get_feature_names_out(), names)


def test_rows_in_input_order(fitted):
    """Batches are sorted by length: each row must still be its own. One
    sequence at a time is the reference (no batching, no sorting)."""
    pipe, X = fitted
    Z = pipe.transform(X)
    lengths = X["event_type"].map(len).to_numpy()
    rows = [int(np.argmin(lengths)), int(np.argmax(lengths)), 0, 7, 33]
    assert len(set(lengths[rows])) > 2
    for i in rows:
        np.testing.assert_allclose(pipe.transform(X.iloc[[i]])[0], Z[i],
                                   rtol=1e-5, atol=1e-6)
    shuffled = np.random.RandomState(0).permutation(len(X))
    np.testing.assert_allclose(pipe.transform(X.iloc[shuffled]), Z[shuffled],
                               rtol=1e-5, atol=1e-6)


def test_representation_is_what_the_head_reads(fitted):
    """The wide path and the head are left out: the head applied to the
    embeddings gives the outputs minus the wide path's part."""
    pipe, X = fitted
    model = pipe[-1]
    module = model.net_.module_
    if hasattr(module, "members"):
        pytest.skip("checked member by member in test_ensemble_concatenates")
    Z = pipe.transform(X.iloc[:20]).astype(np.float64)
    W = module.head.weight.detach().double().numpy()
    b = module.head.bias.detach().double().numpy()
    Xr = pipe[0].transform(X.iloc[:20])
    linear = model._forward(Xr)
    wide = np.zeros_like(linear)
    if module.wide is not None:
        cat, num, lengths = model._batch_tensors(Xr, np.arange(len(Xr)))
        with torch.no_grad():
            wide = module.wide.eval()(cat, lengths, num).double().numpy()
    np.testing.assert_allclose(Z @ W.T + b + wide, linear, rtol=1e-4, atol=1e-4)


def test_ensemble_concatenates(sequences, targets):
    X = sequences.iloc[:80]
    y = targets.loc[X.index, "will_buy"].to_numpy()
    pipe = make_sequence_pipeline(
        SequenceVectorizer(),
        LSTMSequenceClassifier(hidden_size=4, ensemble_size=3, **TINY),
    ).fit(X, y)
    Z = pipe.transform(X)
    members = pipe[-1].net_.module_.members
    size = members[0].head.in_features
    assert Z.shape[1] == 3 * size
    # member 2's block differs from member 0's (independent initializations)
    assert not np.allclose(Z[:, :size], Z[:, 2 * size:])


def test_unfitted_and_wrong_input():
    est = LSTMSequenceClassifier()
    with pytest.raises(NotFittedError):
        est.transform(np.zeros((2, 3, 1), dtype=np.float32))
    with pytest.raises(NotFittedError):
        est.get_feature_names_out()


def test_array_input_and_pandas_output():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 6, 2)).astype(np.float32)
    y = (X[:, -1, 0] > 0).astype(int)
    clf = LSTMSequenceClassifier(hidden_size=4, **TINY).fit(X, y)
    Z = clf.transform(X)
    frame = clf.set_output(transform="pandas").transform(X)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(clf.get_feature_names_out())
    np.testing.assert_array_equal(frame.to_numpy(), Z)
    X_before = X.copy()
    clf.transform(X)
    np.testing.assert_array_equal(X, X_before)  # not modified


def test_feature_step_of_a_pipeline(sequences, targets):
    """Embeddings as the features of another model: fit_transform fits the
    network on y, the next step trains on its embeddings."""
    X = sequences
    y = targets.loc[X.index, "will_buy"].to_numpy()
    train, test = slice(0, 300), slice(300, None)
    pipe = make_pipeline(
        SequenceVectorizer(),
        LSTMSequenceClassifier(hidden_size=8, max_epochs=3, random_state=0),
        HistGradientBoostingClassifier(max_iter=20, random_state=0),
    ).fit(X.iloc[train], y[train])
    proba = pipe.predict_proba(X.iloc[test])
    assert proba.shape == (len(y[test]), 2)
    majority = max(y[test].mean(), 1 - y[test].mean())
    assert pipe.score(X.iloc[test], y[test]) > majority - 0.1
    Z = pipe[:-1].transform(X.iloc[:50])
    labels = KMeans(n_clusters=3, n_init=2, random_state=0).fit_predict(Z)
    assert labels.shape == (50,)
