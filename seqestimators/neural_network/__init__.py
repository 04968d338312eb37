"""scikit-learn estimators wrapping a skorch net around the torch models."""

from ._estimators import LSTMSequenceClassifier, LSTMSequenceRegressor

__all__ = ["LSTMSequenceClassifier", "LSTMSequenceRegressor"]
