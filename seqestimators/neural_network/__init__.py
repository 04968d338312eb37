"""scikit-learn estimators wrapping a skorch net around the torch models."""

from ._classifier import LSTMSequenceClassifier
from ._recommender import LSTMSequenceRecommender, TransformerSequenceRecommender
from ._regressor import LSTMSequenceRegressor
from ._transformer import TransformerSequenceClassifier, TransformerSequenceRegressor

__all__ = ["LSTMSequenceClassifier", "LSTMSequenceRegressor",
           "LSTMSequenceRecommender", "TransformerSequenceClassifier",
           "TransformerSequenceRegressor", "TransformerSequenceRecommender"]
