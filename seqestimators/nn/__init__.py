"""Pure-torch building blocks of the sequence models.

Nothing in this package imports scikit-learn or skorch (a test enforces it):
the modules are usable on their own in a hand-written torch loop.

- :class:`EventInputs` -- categorical embeddings + numeric projection;
- :class:`RecurrentEncoder` -- LSTM/GRU, one or both directions;
- :class:`SequencePooling` -- masked last/mean/max/attention pooling (or
  several of them, concatenated);
- :class:`WideEvents` -- one weight per id, a linear model on the bag of ids;
- :class:`HalfPoissonDeviance` -- the Poisson loss of the count regressor;
- :class:`SequenceNet` -- inputs -> encoder -> pooling -> head.
"""

from ._inputs import EventInputs
from ._losses import HalfPoissonDeviance
from ._model import SequenceNet
from ._pooling import POOLINGS, SequencePooling, padding_mask, parse_pooling
from ._recurrent import RecurrentEncoder, reverse_within_lengths
from ._wide import WideEvents, l2_gradient

__all__ = [
    "POOLINGS",
    "EventInputs",
    "HalfPoissonDeviance",
    "RecurrentEncoder",
    "SequenceNet",
    "SequencePooling",
    "WideEvents",
    "l2_gradient",
    "padding_mask",
    "parse_pooling",
    "reverse_within_lengths",
]
