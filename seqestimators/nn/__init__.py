"""Pure-torch building blocks of the sequence models.

Nothing in this package imports scikit-learn or skorch (a test enforces it):
the modules are usable on their own in a hand-written torch loop.

- :class:`EventInputs` -- categorical embeddings + numeric projection;
- :class:`RecurrentEncoder` -- LSTM/GRU, one or both directions;
- :class:`TransformerEncoder` -- pre-norm self-attention, causal or
  bidirectional, learned positions counted from each sequence's end;
- :class:`SequencePooling` -- masked last/mean/max/attention pooling (or
  several of them, concatenated);
- :class:`WideEvents` -- one weight per id (and per numeric summary), a
  linear model on the bag of ids; :func:`fit_linear_start` fits it first;
- :class:`HalfPoissonDeviance` -- the Poisson loss of the count regressor;
- :class:`SequenceNet` -- inputs -> encoder -> pooling -> head;
- :class:`SequenceEnsemble` -- several SequenceNets fitted side by side,
  their outputs combined (:func:`combine_outputs`).
"""

from ._ensemble import COMBINE, SequenceEnsemble, combine_outputs, network_class
from ._inputs import EventInputs
from ._linear_start import L2_PATH, fit_linear_start
from ._losses import HalfPoissonDeviance
from ._model import SequenceNet
from ._pooling import POOLINGS, SequencePooling, padding_mask, parse_pooling
from ._recurrent import RecurrentEncoder, reverse_within_lengths
from ._transformer import TransformerEncoder
from ._wide import (
    NUMERIC_SUMMARIES,
    WideEvents,
    l2_gradient,
    numeric_summaries,
    repeat_counts,
)

__all__ = [
    "COMBINE",
    "L2_PATH",
    "NUMERIC_SUMMARIES",
    "POOLINGS",
    "EventInputs",
    "HalfPoissonDeviance",
    "RecurrentEncoder",
    "SequenceEnsemble",
    "SequenceNet",
    "SequencePooling",
    "TransformerEncoder",
    "WideEvents",
    "combine_outputs",
    "fit_linear_start",
    "l2_gradient",
    "network_class",
    "numeric_summaries",
    "repeat_counts",
    "padding_mask",
    "parse_pooling",
    "reverse_within_lengths",
]
