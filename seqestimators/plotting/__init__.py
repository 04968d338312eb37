"""Figures of fitted estimators: training curves, attribution timelines.

matplotlib is imported when a function draws, not with this module; it comes
with the ``plot`` extra (``pip install 'seqestimators[plot]'``).
"""

from ._attributions import plot_event_attributions
from ._history import plot_training_history

__all__ = ["plot_event_attributions", "plot_training_history"]
