"""leave_last_out: histories and held-out next events."""

import numpy as np
import pandas as pd
import pytest

from seqestimators import leave_last_out, to_sequences


@pytest.fixture
def seqs():
    events = pd.DataFrame({
        "user": [1, 1, 1, 2, 3, 3, 3, 3],
        "t": [3, 1, 2, 1, 4, 3, 2, 1],
        "item": list("cabdhgfe"),
        "price": np.arange(8, dtype=float),
    })
    return to_sequences(events, by="user", order_by="t")


def test_history_and_last_event(seqs):
    before = seqs.copy()
    history, y = leave_last_out(seqs, "item")
    assert history.index.tolist() == [1, 3]
    assert history["item"].tolist() == [["a", "b"], ["e", "f", "g"]]
    assert history["t"].tolist() == [[1, 2], [1, 2, 3]]
    assert y.tolist() == ["c", "h"] and y.index.equals(history.index)
    pd.testing.assert_frame_equal(seqs, before)  # input untouched


def test_n_last_gives_a_validation_split(seqs):
    history, y = leave_last_out(seqs, "item", n_last=2)
    assert history["item"].tolist() == [["a"], ["e", "f"]]
    assert y.tolist() == ["b", "g"]


def test_min_history_drops_short_sequences(seqs):
    history, y = leave_last_out(seqs, "item", min_history=3)
    assert history.index.tolist() == [3] and y.tolist() == ["h"]


def test_errors(seqs):
    with pytest.raises(ValueError, match="target column 'nope'"):
        leave_last_out(seqs, "nope")
    with pytest.raises(ValueError, match="nothing can be held out"):
        leave_last_out(seqs, "item", min_history=10)
    with pytest.raises(ValueError, match="'n_last' parameter"):
        leave_last_out(seqs, "item", n_last=True)
    with pytest.raises(TypeError, match="expects a sequence frame.*got list"):
        leave_last_out([1, 2], "item")
