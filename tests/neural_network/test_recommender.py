"""LSTMSequenceRecommender and TransformerSequenceRecommender."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from seqestimators import (
    LSTMSequenceRecommender,
    RaggedSequences,
    SequenceVectorizer,
    TransformerSequenceRecommender,
    leave_last_out,
    to_sequences,
)
from seqestimators.datasets import make_event_log
from seqestimators.neural_network._next_event_data import (
    rank_last_steps,
    split_windows,
)

SMALL = dict(hidden_size=8, embedding_dim=8, max_epochs=2, random_state=0,
             n_threads=1)
CLASSES = [LSTMSequenceRecommender, TransformerSequenceRecommender]


def _small(cls, **kw):
    transformer = cls is TransformerSequenceRecommender
    extra = {"num_heads": 2, "max_positions": 16} if transformer else {}
    return cls(**{**SMALL, **extra, **kw})


@pytest.fixture(scope="module")
def frame():
    events, _ = make_event_log(120, random_state=0)
    X = to_sequences(events[["user_id", "timestamp", "event_type", "item_id"]])
    return leave_last_out(X, "item_id")


@pytest.fixture(scope="module", params=CLASSES, ids=lambda c: c.__name__)
def fitted(request, frame):
    history, _ = frame
    return _small(request.param, target="item_id").fit(history)


def _cycle(n_seq=60, n_items=12, length=8, seed=0):
    """Ragged sequences where the next id is always (id + 1) in a cycle."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, n_items, n_seq)
    ids = (start[:, None] + np.arange(length)) % n_items + 2
    offsets = np.arange(n_seq + 1) * length
    return RaggedSequences(offsets, ids.reshape(-1, 1), cardinalities=[n_items + 2])


# ----------------------------------------------------------------- fit/predict
def test_predict_topk_labels_order_and_exclusion(fitted, frame):
    history, _ = frame
    top = fitted.predict_topk(history, k=5)
    assert top.shape == (len(history), 5)
    assert np.isin(top, fitted.classes_).all()
    seen = history["item_id"].to_list()
    assert not any(set(row) & set(s) for row, s in zip(top.tolist(), seen))
    assert all(len(set(row)) == 5 for row in top.tolist())
    # input order: predictions follow the rows
    reversed_top = fitted.predict_topk(history.iloc[::-1], k=5)
    np.testing.assert_array_equal(reversed_top, top[::-1])
    np.testing.assert_array_equal(fitted.predict(history), top[:, 0])


def test_exclude_seen_false_may_repeat_history(fitted, frame):
    history, _ = frame
    top = fitted.predict_topk(history, k=3, exclude_seen=False)
    assert top.shape == (len(history), 3)


def test_fitted_attributes(fitted):
    assert fitted.item_embeddings_.shape == (len(fitted.classes_), 8)
    assert fitted.vectorizer_.categorical_ == ["event_type", "item_id"]
    assert fitted.n_iter_ == len(fitted.loss_curve_) >= 1
    assert len(fitted.validation_loss_curve_) == fitted.n_iter_
    assert fitted.stop_reason_ in ("completed", "early_stopping")
    similar = fitted.similar_items(fitted.classes_[0], n=4)
    assert len(similar) == 4 and fitted.classes_[0] not in similar


def test_score_is_hit_rate(fitted, frame):
    history, y = frame
    top = fitted.predict_topk(history, k=10)
    expected = np.mean([t in row for t, row in zip(y, top.tolist())])
    assert fitted.score(history, y) == pytest.approx(expected)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("loss", ["full", "sampled"])
def test_learns_a_deterministic_successor(cls, loss):
    X = _cycle()
    rec = _small(cls, hidden_size=16, embedding_dim=16, max_epochs=60, lr=1e-2,
                 early_stopping=False, loss=loss, n_negatives=6, dropout=0.0)
    rec.fit(X)
    np.testing.assert_array_equal(rec.classes_, np.arange(2, 14))
    last = X.categorical[X.offsets[1:] - 1, 0]
    expected = (last - 2 + 1) % 12 + 2
    assert np.mean(rec.predict(X) == expected) > 0.9


def test_ragged_input_target_by_name_and_position():
    X = _cycle()
    X2 = RaggedSequences(X.offsets, np.c_[X.categorical, X.categorical % 3 + 2],
                         categorical_names=["item", "kind"],
                         cardinalities=[14, 5])
    a = _small(LSTMSequenceRecommender, target="item", max_epochs=1).fit(X2)
    b = _small(LSTMSequenceRecommender, target=0, max_epochs=1).fit(X2)
    np.testing.assert_array_equal(a.predict_topk(X2, 3), b.predict_topk(X2, 3))
    with pytest.raises(ValueError, match="target=None works only"):
        _small(LSTMSequenceRecommender).fit(X2)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_random_state_gives_identical_fits(cls, frame):
    history, _ = frame
    a = _small(cls, target="item_id").fit(history)
    b = clone(a).fit(history)
    np.testing.assert_array_equal(a.item_embeddings_, b.item_embeddings_)
    np.testing.assert_array_equal(a.predict_topk(history, 5),
                                  b.predict_topk(history, 5))
    assert a.loss_curve_ == b.loss_curve_


def test_fit_leaves_input_and_params_unchanged(frame):
    history, _ = frame
    before = history.copy(deep=True)
    vec = SequenceVectorizer(categorical=["item_id"])
    rec = _small(LSTMSequenceRecommender, target="item_id", vectorizer=vec)
    params = rec.get_params(deep=False)
    rec.fit(history)
    pd.testing.assert_frame_equal(history, before)
    assert rec.get_params(deep=False) == params
    assert not hasattr(vec, "vocabularies_")  # a clone was fitted
    assert rec.vectorizer_.categorical_ == ["item_id"]


# ------------------------------------------------------ scikit-learn contract
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_sklearn_parameter_checks(cls):
    name = cls.__name__
    check_no_attributes_set_in_init(name, cls())
    check_get_params_invariance(name, cls())
    check_set_params(name, cls())
    check_parameters_default_constructible(name, cls())
    assert clone(cls(hidden_size=4)).get_params()["hidden_size"] == 4


@pytest.mark.parametrize(
    "params, message",
    [
        ({"loss": "hinge"}, "The 'loss' parameter"),
        ({"hidden_size": 0}, "The 'hidden_size' parameter"),
        ({"max_epochs": True}, "The 'max_epochs' parameter"),
    ],
)
def test_parameter_validation(params, message, frame):
    history, _ = frame
    with pytest.raises(ValueError, match=re.escape(message)):
        LSTMSequenceRecommender(target="item_id", **params).fit(history)


def test_clear_errors(fitted, frame):
    history, _ = frame
    with pytest.raises(ValueError, match="must name the list column"):
        _small(LSTMSequenceRecommender, target="nope").fit(history)
    with pytest.raises(ValueError, match="larger than the number of items"):
        fitted.predict_topk(history, k=len(fitted.classes_) + 1)
    with pytest.raises(ValueError, match="does not encode target"):
        _small(LSTMSequenceRecommender, target="item_id",
               vectorizer=SequenceVectorizer(categorical=["event_type"])).fit(history)
    with pytest.raises(ValueError, match="multiple of num_heads"):
        TransformerSequenceRecommender(target="item_id", hidden_size=5,
                                       num_heads=2).fit(history)
    with pytest.raises(ValueError, match="not an item"):
        fitted.similar_items("no such item")


# ------------------------------------------------------------------- helpers
def test_split_windows_keeps_events_and_cuts_from_the_end():
    X = RaggedSequences([0, 5, 5, 7], categorical=np.arange(2, 9))
    W = split_windows(X, 2)
    assert W.lengths.tolist() == [1, 2, 2, 2]
    np.testing.assert_array_equal(W.categorical, X.categorical)
    assert split_windows(X, 10) is X


def test_rank_last_steps_excludes_history_and_reserved_ids():
    X = RaggedSequences([0, 2, 3], categorical=np.array([[2], [3], [4]]))
    scores = np.tile(np.array([9.0, 9.0, 5.0, 4.0, 3.0, 2.0]), (2, 1))
    top = rank_last_steps(scores.copy(), X, np.array([0, 1]), 0, 2, True)
    assert top.tolist() == [[4, 5], [2, 3]]
    top = rank_last_steps(scores[:1].copy(), X, np.array([1]), 0, 2, False)
    assert top.tolist() == [[2, 3]]


def test_pickle_round_trip_predicts_the_same(fitted, frame):
    import pickle

    history, _ = frame
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_topk(history, 5),
                                  fitted.predict_topk(history, 5))


def test_save_load_round_trip_predicts_and_trains_on(fitted, frame, tmp_path):
    from seqestimators import load, save

    history, _ = frame
    path = tmp_path / "rec.zip"
    save(fitted, path)
    again = load(path)
    assert type(again) is type(fitted)
    assert again.get_params() == fitted.get_params()
    np.testing.assert_array_equal(again.classes_, fitted.classes_)
    np.testing.assert_array_equal(again.predict_topk(history, 5),
                                  fitted.predict_topk(history, 5))
    np.testing.assert_array_equal(again.item_embeddings_, fitted.item_embeddings_)
    assert again.loss_curve_ == fitted.loss_curve_
    assert again.best_epoch_ == fitted.best_epoch_
    pd.testing.assert_frame_equal(again.history_, fitted.history_)
    assert again.vectorizer_.categorical_ == fitted.vectorizer_.categorical_
    clone(again).set_params(max_epochs=1).fit(history)  # a loaded model refits


def test_load_refuses_weights_that_do_not_fit(fitted, tmp_path):
    from seqestimators import load, save
    from seqestimators.persistence import ModelFileError

    state = fitted._saved_state()
    state["net"]["module_kwargs"] = {**state["net"]["module_kwargs"],
                                     "hidden_size": 9}
    fresh = clone(fitted)
    with pytest.raises(ValueError, match="do not fit"):
        fresh._restore_saved_state(state)
    bad = clone(fitted)
    with pytest.raises(ValueError, match="lacks the fitted attribute"):
        bad._restore_saved_state({"attributes": {"_seed": 0}, "net": {}})
    path = tmp_path / "rec.zip"
    save(fitted, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        load(path)


def test_sampled_softmax_logq_draws_popular_negatives():
    import torch

    from seqestimators.nn._next_event import NextEventNet

    torch.manual_seed(0)
    net = NextEventNet(cardinalities=[7], embedding_dims=[4], n_numeric=0,
                       numeric_dim=0, target=0, encoder="gru", hidden_size=4,
                       num_layers=1, dropout=0.0)
    q = torch.randn(5, 3, 4)
    t = torch.randint(2, 7, (5, 3))
    full = net.loss(q, t)
    probs = torch.tensor([0, 0, 0.5, 0.2, 0.1, 0.1, 0.1])
    g = torch.Generator().manual_seed(0)
    sampled = torch.stack([
        net.loss(q, t, n_negatives=64, generator=g, sampling_probs=probs)
        for _ in range(20)
    ]).mean()
    # with the logQ correction the sampled loss estimates the full softmax
    assert abs(float(sampled) - float(full)) < 0.15 * float(full)
