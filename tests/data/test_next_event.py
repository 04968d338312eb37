"""Next-event samples and the ranking comparison against simple baselines."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from seqestimators import (
    LSTMSequenceClassifier,
    SequenceVectorizer,
    make_next_event_samples,
    to_sequences,
)
from seqestimators.datasets import make_event_log
from seqestimators.metrics import make_ranking_scorer


@pytest.fixture(scope="module")
def seqs():
    events, _ = make_event_log(n_users=250, random_state=5)
    return to_sequences(events, columns=["timestamp", "event_type", "category"])


def test_matches_a_loop_reference(seqs):
    prefixes, y = make_next_event_samples(seqs, "event_type", min_prefix=2)
    ref_x, ref_y = [], []
    for events in seqs["event_type"]:
        for p in range(2, len(events)):
            ref_x.append(list(events[:p]))
            ref_y.append(events[p])
    assert [list(v) for v in prefixes["event_type"]] == ref_x
    assert y.tolist() == ref_y
    # every column is cut at the same place; the label never leaks into X
    assert (prefixes["timestamp"].map(len) == prefixes.index.get_level_values(1)).all()


def test_cap_per_entity_is_random_but_reproducible(seqs):
    a, ya = make_next_event_samples(seqs, "event_type", max_per_entity=3,
                                    random_state=0)
    b, yb = make_next_event_samples(seqs, "event_type", max_per_entity=3,
                                    random_state=0)
    c, _ = make_next_event_samples(seqs, "event_type", max_per_entity=3,
                                   random_state=1)
    counts = a.groupby(level=0).size()
    lengths = seqs["event_type"].map(len)
    assert (counts <= 3).all()
    assert (counts == np.minimum(lengths[counts.index] - 1, 3)).all()
    assert a.index.equals(b.index) and (ya == yb).all()
    assert not a.index.equals(c.index)


def test_bad_input(seqs):
    with pytest.raises(ValueError, match="target column 'item'"):
        make_next_event_samples(seqs, "item")
    with pytest.raises(
        ValueError, match=re.escape("'min_prefix' parameter of make_next_event")
    ):
        make_next_event_samples(seqs, "event_type", min_prefix=0)
    with pytest.raises(ValueError, match="No sequence is longer"):
        make_next_event_samples(seqs, "event_type", min_prefix=10_000)


def _last_event(frame):
    col = frame["event_type"].array.__arrow_array__().combine_chunks()
    return np.asarray(col.flatten())[np.asarray(col.offsets)[1:] - 1].reshape(-1, 1)


def test_lstm_beats_popularity_and_matches_markov(seqs):
    prefixes, y = make_next_event_samples(seqs, "event_type", max_per_entity=8,
                                          random_state=0)
    groups = prefixes.index.get_level_values(0)
    cv = GroupKFold(n_splits=3)
    scorer = make_ranking_scorer("mrr")

    def score(model):
        return cross_val_score(model, prefixes, y, groups=groups, cv=cv,
                               scoring=scorer).mean()

    popularity = score(DummyClassifier(strategy="prior"))
    markov = score(make_pipeline(
        FunctionTransformer(_last_event),
        OneHotEncoder(handle_unknown="ignore"),
        LogisticRegression(max_iter=500),
    ))
    lstm = score(make_pipeline(
        SequenceVectorizer(max_len=20),
        LSTMSequenceClassifier(hidden_size=16, max_epochs=15, random_state=0),
    ))
    print(f"MRR popularity {popularity:.3f} markov {markov:.3f} lstm {lstm:.3f}")
    assert markov > popularity + 0.005
    assert lstm > popularity + 0.005
    assert lstm > markov - 0.02
    assert isinstance(groups, pd.Index)
