"""One validation style: validate_params, and a bool is never an integer."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from seqestimators import (
    make_next_event_samples,
    make_window_labels,
    split_sessions,
    to_sequences,
)
from seqestimators.data import RaggedSequences
from seqestimators.datasets import make_event_log

EVENTS = pd.DataFrame(
    {"user_id": [1, 1, 2], "timestamp": [0.0, 5.0, 1.0], "e": ["a", "b", "c"]}
)
SEQS = to_sequences(EVENTS)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda v: make_next_event_samples(SEQS, "e", min_prefix=v), "min_prefix"),
        (
            lambda v: make_next_event_samples(SEQS, "e", max_per_entity=v),
            "max_per_entity",
        ),
        (
            lambda v: make_next_event_samples(
                SEQS, "e", max_per_entity=1, random_state=v
            ),
            "random_state",
        ),
        (lambda v: make_event_log(v), "n_users"),
        (lambda v: make_event_log(5, days=v), "days"),
        (lambda v: make_event_log(5, random_state=v), "random_state"),
    ],
)
@pytest.mark.parametrize("value", [True, False, np.True_])
def test_a_bool_is_never_an_integer(call, name, value):
    with pytest.raises(ValueError, match=re.escape(f"The '{name}' parameter of")):
        call(value)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda v: make_next_event_samples(SEQS, "e", min_prefix=v), "min_prefix"),
        (
            lambda v: make_next_event_samples(SEQS, "e", max_per_entity=v),
            "max_per_entity",
        ),
        (lambda v: make_event_log(v), "n_users"),
    ],
)
@pytest.mark.parametrize("value", [0, -1, 1.5, "2"])
def test_bad_integers_get_the_same_message(call, name, value):
    with pytest.raises(
        ValueError, match=re.escape(f"The '{name}' parameter of")
    ) as info:
        call(value)
    assert "must be an int in the range [1, inf)" in str(info.value)


def test_numpy_integers_are_integers():
    prefixes, _ = make_next_event_samples(
        SEQS, "e", min_prefix=np.int64(1), max_per_entity=np.int32(1), random_state=0
    )
    assert len(prefixes) == 1
    assert make_event_log(np.int64(3), random_state=np.int64(0))[1].shape == (3, 3)


@pytest.mark.parametrize("max_len", [True, 0, 1.0])
def test_truncate_refuses_bools_too(max_len):
    X = RaggedSequences([0, 2], np.array([2, 3]))
    with pytest.raises(ValueError, match=re.escape("max_len must be an int >= 1")):
        X.truncate(max_len)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: to_sequences(EVENTS, by=["user_id"]), "by"),
        (lambda: to_sequences(EVENTS, columns=5), "columns"),
        (lambda: split_sessions(EVENTS, 1, name=["s"]), "name"),
        (lambda: make_window_labels(EVENTS, 2.0, 1, value=["e"]), "value"),
        (lambda: make_next_event_samples(SEQS, ["e"]), "target"),
    ],
)
def test_column_names_are_validated(call, name):
    with pytest.raises((TypeError, ValueError), match=f"The '{name}' parameter"):
        call()
