"""wide_ngrams="auto": k-mers of long token strings, as long as the training
events can cover (auto_ngrams)."""

import numpy as np
import pytest

from seqestimators import LSTMSequenceClassifier
from seqestimators.data import RaggedSequences
from seqestimators.neural_network._base import AUTO_NGRAMS, auto_ngrams


def _tokens(rng, n_ids, size):
    return rng.integers(2, 2 + n_ids, size=(size, 1))


@pytest.mark.parametrize("n_events", [1_000, 20_000, 180_000])
def test_longest_run_grows_with_the_training_events(n_events):
    """Uniform DNA-like ids (4): the largest k with 4**k <= n_events."""
    codes = _tokens(np.random.default_rng(0), 4, n_events)
    expected = min(int(np.log(n_events) / np.log(4)), AUTO_NGRAMS)
    assert auto_ngrams(codes, n_events) == expected
    assert 4 ** expected <= n_events


def test_rare_ids_barely_count_and_skewed_ids_allow_longer_runs():
    rng = np.random.default_rng(0)
    dna = _tokens(rng, 4, 50_000)
    k = auto_ngrams(dna, len(dna))
    # a fifth id in 0.1% of the events (an "N" base) leaves k as it is; as
    # frequent as the others it shortens the runs
    rare = dna.copy()
    rare[rng.random(len(rare)) < 0.001] = 6
    assert auto_ngrams(rare, len(rare)) == k
    assert auto_ngrams(_tokens(rng, 5, 50_000), 50_000) < k
    # one id in 97% of the events: an entropy of a few bits, longer runs
    skewed = np.where(rng.random((50_000, 1)) < 0.97, 2, dna)
    assert auto_ngrams(skewed, 50_000) > k
    # the channel with the largest alphabet decides
    both = np.hstack([skewed, _tokens(rng, 5, 50_000)])
    assert auto_ngrams(both, 50_000) == auto_ngrams(both[:, 1:], 50_000)


def test_one_id_and_tiny_data():
    assert auto_ngrams(np.full((10, 1), 2), 10) == AUTO_NGRAMS
    assert auto_ngrams(_tokens(np.random.default_rng(0), 4, 3), 3) == 1


def _strings(n, length, n_ids, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(2, 2 + n_ids, size=n * length)
    X = RaggedSequences(np.arange(n + 1) * length, categorical=codes,
                        cardinalities=(n_ids + 2,))
    return X, rng.integers(0, 2, size=n)


@pytest.mark.parametrize(
    "n, length, n_ids, expected",
    [
        (100, 40, 4, 5),  # 90 training strings x 40: 4**6 > 3,600 >= 4**5
        (400, 40, 4, 6),  # 360 x 40 = 14,400 >= 4**6
        (400, 20, 4, 1),  # short strings (median < 32): single ids
        (100, 40, 40, 1),  # more than 32 ids: not token strings
    ],
)
def test_estimator_sizes_the_kmers_from_its_training_split(n, length, n_ids, expected):
    X, y = _strings(n, length, n_ids)
    clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=1, random_state=0).fit(X, y)
    assert clf.net_.get_params_for("module")["wide_ngrams"] == expected
    # an explicit setting is used as given
    fixed = LSTMSequenceClassifier(hidden_size=4, max_epochs=1, wide_ngrams=3,
                                   random_state=0).fit(X, y)
    assert fixed.net_.get_params_for("module")["wide_ngrams"] == 3
