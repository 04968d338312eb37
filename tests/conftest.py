"""Shared fixtures: fixed seeds, small event-log data, one torch thread."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqestimators import SequenceVectorizer, to_sequences
from seqestimators.datasets import make_event_log

# The models under test are tiny: a second intra-op thread buys nothing, and on
# a shared 2-core machine OpenMP threads competing with other processes slow
# training down by one to two orders of magnitude.
torch.set_num_threads(1)

#: users in the shared event log: small enough to fit models in a second or two
N_USERS = 400
#: event columns turned into sequences (session_id is a per-user id, not a
#: category worth embedding)
SEQUENCE_COLUMNS = ["timestamp", "event_type", "category", "price"]


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same global random states."""
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def event_log():
    events, targets = make_event_log(N_USERS, random_state=0)
    return events, targets


@pytest.fixture(scope="session")
def sequences(event_log):
    """Sequence frame of the shared event log, aligned with the targets."""
    events, targets = event_log
    seq = to_sequences(events, columns=SEQUENCE_COLUMNS)
    assert seq.index.equals(targets.index)
    return seq


@pytest.fixture(scope="session")
def targets(event_log):
    return event_log[1]


@pytest.fixture(scope="session")
def ragged(sequences):
    """The shared event log, vectorized (RaggedSequences, at most 50 events)."""
    return SequenceVectorizer(max_len=50).fit_transform(sequences)
