"""The count priors of the next-event recommenders (transitions, repeats)."""

from collections import Counter

import numpy as np
import pytest
from sklearn.base import clone

from seqestimators import (
    LSTMSequenceRecommender,
    RaggedSequences,
    TransformerSequenceRecommender,
    load,
    save,
)
from seqestimators.neural_network._priors import (
    PRIOR_OFF,
    add_priors,
    choice_positions,
    choose_prior_weights,
    position_entries,
    transition_table,
)

SMALL = dict(hidden_size=8, embedding_dim=8, max_epochs=1, random_state=0,
             n_threads=1, lr=1e-4)


def _random_ragged(n_seq=30, n_ids=9, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 12, n_seq)
    offsets = np.r_[0, np.cumsum(lengths)]
    ids = rng.integers(2, n_ids, offsets[-1])
    return RaggedSequences(offsets, ids.reshape(-1, 1), cardinalities=[n_ids])


def _sequences(X):
    ids = X.categorical[:, 0]
    return [ids[a:b].tolist() for a, b in zip(X.offsets[:-1], X.offsets[1:])]


def test_transition_table_counts_pairs_within_sequences():
    X = _random_ragged()
    expected = Counter(
        (s[t], s[t + 1]) for s in _sequences(X) for t in range(len(s) - 1)
    )
    table = transition_table(X, 0)
    assert {(i, j): c for i, j, c in table.tolist()} == dict(expected)
    assert table[:, :2].tolist() == sorted(table[:, :2].tolist())


@pytest.mark.parametrize("leave_one_out", [False, True])
def test_position_entries_match_a_direct_count(leave_one_out):
    X = _random_ragged(seed=1)
    table = transition_table(X, 0)
    positions = choice_positions(X, steps=3)
    p, j, counts, truth = position_entries(X, 0, positions, table, leave_one_out)
    ids = X.categorical[:, 0]
    trans = Counter({(i, k): c for i, k, c in table.tolist()})
    got = {(q, item): tuple(c) for q, item, c in zip(p, j, counts)}
    for q, e in enumerate(positions):
        start = X.offsets[np.searchsorted(X.offsets, e, side="right") - 1]
        assert truth[q] == ids[e + 1]
        history = Counter(ids[start:e + 1].tolist())
        for item in range(9):
            c = trans[(ids[e], item)] - (leave_one_out and item == ids[e + 1])
            want = (c, history[item])
            assert got.get((q, item), (0, 0)) == want
    # the last 3 steps of each sequence with a successor
    lengths = X.lengths
    assert len(positions) == np.clip(lengths - 1, 0, 3).sum()


@pytest.mark.parametrize("exclude_seen", [False, True])
def test_choice_objective_is_the_dense_ndcg(exclude_seen):
    rng = np.random.default_rng(0)
    X = _random_ragged(n_seq=80, seed=2)
    table = transition_table(X, 0)
    positions = choice_positions(X)
    p, j, counts, truth = position_entries(X, 0, positions, table, True)
    logits = rng.normal(size=(len(positions), 9)).astype(np.float32)
    logits[:, :2] = -np.inf
    weights, ndcg = choose_prior_weights(logits, p, j, counts, truth, 3, exclude_seen)
    w_t, w_r, a = weights["transition"], weights["repeat"], weights["smoothing"]
    dense = np.zeros((len(positions), 9))
    dense[p, j] = w_t * np.log1p(counts[:, 0] / a) + w_r * np.log1p(counts[:, 1] / a)
    s = logits + dense
    if exclude_seen:
        s[p[counts[:, 1] > 0], j[counts[:, 1] > 0]] = -np.inf
    expected = []
    for row, t in zip(s, truth):
        rank = 1 + np.sum(row > row[t])
        expected.append(1 / np.log2(1 + rank) if np.isfinite(row[t]) and rank <= 3
                        else 0.0)
    assert ndcg == pytest.approx(np.mean(expected))


def test_add_priors_adds_transition_and_repeat_terms():
    X = _random_ragged(seed=3)
    table = transition_table(X, 0)
    rows = np.array([4, 0, 7])
    weights = {"transition": 2.0, "repeat": 0.5, "smoothing": 0.1}
    scores = np.zeros((3, 9))
    add_priors(scores, X, rows, 0, table, weights)
    trans = {(i, k): c for i, k, c in table.tolist()}
    for r, row in enumerate(rows):
        s = _sequences(X)[row]
        for item in range(9):
            want = 0.0
            if s:
                want += 2.0 * np.log1p(trans.get((s[-1], item), 0) / 0.1)
            want += 0.5 * np.log1p(s.count(item) / 0.1)
            assert scores[r, item] == pytest.approx(want)


def _markov(n_seq=150, n_items=40, length=12, seed=0):
    """Each id is followed by one of two fixed successors: a transition
    structure a 1-epoch network at lr=1e-4 cannot learn, the counts can."""
    rng = np.random.default_rng(seed)
    succ = rng.integers(0, n_items, (n_items, 2))
    ids = np.zeros((n_seq, length), dtype=np.int64)
    ids[:, 0] = rng.integers(0, n_items, n_seq)
    for t in range(1, length):
        ids[:, t] = succ[ids[:, t - 1], rng.integers(0, 2, n_seq)]
    offsets = np.arange(n_seq + 1) * length
    return RaggedSequences(offsets, ids.reshape(-1, 1) + 2,
                           cardinalities=[n_items + 2]), succ + 2


def _repeats(n_seq=150, n_items=40, length=12, seed=0):
    """Each sequence re-visits its own 3 items."""
    rng = np.random.default_rng(seed)
    own = np.argsort(rng.random((n_seq, n_items)), axis=1)[:, :3]
    ids = own[np.arange(n_seq)[:, None], rng.integers(0, 3, (n_seq, length))]
    offsets = np.arange(n_seq + 1) * length
    return RaggedSequences(offsets, ids.reshape(-1, 1) + 2,
                           cardinalities=[n_items + 2])


@pytest.mark.parametrize("cls", [LSTMSequenceRecommender,
                                 TransformerSequenceRecommender])
def test_priors_are_chosen_where_counts_carry_the_signal(cls):
    extra = {"num_heads": 2, "max_positions": 16} if "Transformer" in cls.__name__ \
        else {}
    X, succ = _markov()
    rec = cls(**SMALL, **extra).fit(X)
    assert rec.prior_weights_["transition"] > 0
    last = X.categorical[X.offsets[1:] - 1, 0]
    top = rec.predict_topk(X, k=2, exclude_seen=False)
    hit = np.mean([set(t) == set(succ[i - 2]) for t, i in zip(top.tolist(), last)])
    assert hit > 0.9
    alone = clone(rec).set_params(priors=None).fit(X)
    assert alone.prior_weights_ == PRIOR_OFF
    top = alone.predict_topk(X, k=2, exclude_seen=False)
    assert np.mean([set(t) == set(succ[i - 2]) for t, i in zip(top.tolist(), last)]) \
        < 0.5


@pytest.mark.parametrize("early_stopping", [True, False])
def test_repeat_prior_where_sequences_revisit_their_items(early_stopping):
    X = _repeats()
    rec = LSTMSequenceRecommender(**SMALL, early_stopping=early_stopping,
                                  exclude_seen=False).fit(X)
    assert rec.prior_weights_["repeat"] > 0
    top = rec.predict_topk(X, k=3, exclude_seen=False)
    own = [set(s) for s in _sequences(X)]
    assert np.mean([set(t) == o for t, o in zip(top.tolist(), own) if len(o) == 3]) \
        > 0.9
    # ranked with the history excluded (the default), repeats cannot help
    excluding = clone(rec).set_params(exclude_seen=True).fit(X)
    assert excluding.prior_weights_["repeat"] == 0


def test_no_prior_on_noise():
    X = _random_ragged(n_seq=200, n_ids=30, seed=4)
    rec = LSTMSequenceRecommender(**{**SMALL, "max_epochs": 3, "lr": 3e-3}).fit(X)
    # uniform random ids: neither counts nor repeats predict anything
    assert rec.prior_weights_["transition"] <= 0.5
    assert rec.prior_weights_["repeat"] <= 0.5


def test_priors_saved_loaded_and_checked(tmp_path):
    X, _ = _markov(n_seq=60)
    rec = LSTMSequenceRecommender(**SMALL).fit(X)
    assert len(rec._transitions)
    path = tmp_path / "rec.zip"
    save(rec, path)
    again = load(path)
    assert again.prior_weights_ == rec.prior_weights_
    np.testing.assert_array_equal(again._transitions, rec._transitions)
    np.testing.assert_array_equal(again.predict_topk(X, 3), rec.predict_topk(X, 3))
    state = rec._saved_state()
    bad = dict(state["attributes"])
    bad["_transitions"] = rec._transitions.copy()
    bad["_transitions"][-1, 1] = 10_000  # still sorted
    with pytest.raises(ValueError, match="beyond the catalogue"):
        clone(rec)._restore_saved_state({**state, "attributes": bad})
    bad["_transitions"] = rec._transitions[::-1].copy()
    with pytest.raises(ValueError, match="_transitions"):
        clone(rec)._restore_saved_state({**state, "attributes": bad})
    # a file written before the priors existed predicts with the network alone
    old = {k: v for k, v in state["attributes"].items()
           if k not in ("prior_weights_", "_transitions")}
    plain = clone(rec)
    plain._restore_saved_state({**state, "attributes": old})
    assert plain.prior_weights_ == PRIOR_OFF
    rec.prior_weights_ = dict(PRIOR_OFF)
    np.testing.assert_array_equal(plain.predict_topk(X, 3), rec.predict_topk(X, 3))


def test_ranker_matches_dense_ranks_with_ties_and_excluded_items():
    from seqestimators.neural_network._priors import _Ranker

    rng = np.random.default_rng(0)
    for trial in range(40):
        n, width = 50, 30
        base = rng.normal(size=(n, width)).astype(np.float32) * (1 + 9 * (trial % 3))
        base[:, :2] = -np.inf
        base[rng.random((n, width)) < 0.05] = -np.inf
        if trial % 5 == 0:
            base = np.round(base * 2) / 2  # ties
        keys = np.unique(rng.integers(0, n * width, 300))
        p, j = keys // width, keys % width
        truth = rng.integers(0, width, n)
        m = rng.exponential(size=len(p)) * (rng.random(len(p)) < 0.7) * (
            30 if trial % 4 == 0 else 1)
        got = _Ranker(base, p, j, truth, 5)(m)
        s = base.astype(np.float64)
        s[p, j] = np.where(np.isfinite(s[p, j]), s[p, j] + m, -np.inf)
        at = s[np.arange(n), truth]
        rank = 1 + (s > at[:, None]).sum(axis=1)
        hit = np.isfinite(at) & (rank <= 5)
        expected = np.where(hit, 1 / np.log2(1 + np.maximum(rank, 1)), 0.0)
        np.testing.assert_allclose(got, expected)
