"""seqestimators: scikit-learn estimators for user-behaviour sequences."""

from ._estimators import LSTMSequenceClassifier, LSTMSequenceRegressor
from ._labels import make_window_labels
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
    "make_window_labels",
    "split_sessions",
    "to_sequences",
]
