"""Figures of fitted estimators: training curves.

matplotlib is imported when a function draws, not with this module; it comes
with the ``plot`` extra (``pip install 'seqestimators[plot]'``).
"""

from ._history import plot_training_history

__all__ = ["plot_training_history"]
