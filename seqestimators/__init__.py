"""seqestimators: scikit-learn estimators for user-behaviour sequences.

Tuning helpers live in :mod:`seqestimators.tuning` (needs optuna), ranking
metrics in :mod:`seqestimators.metrics`, synthetic data in
:mod:`seqestimators.datasets`.
"""

from ._estimators import LSTMSequenceClassifier, LSTMSequenceRegressor
from ._labels import make_window_labels
from ._next_event import make_next_event_samples
from ._persistence import load, save
from ._ragged import RaggedSequences
from ._sequences import to_sequences
from ._sessions import split_sessions
from ._vectorizer import SequenceVectorizer

__version__ = "0.1.0"

__all__ = [
    "LSTMSequenceClassifier",
    "LSTMSequenceRegressor",
    "RaggedSequences",
    "SequenceVectorizer",
    "load",
    "make_next_event_samples",
    "make_window_labels",
    "save",
    "split_sessions",
    "to_sequences",
]
