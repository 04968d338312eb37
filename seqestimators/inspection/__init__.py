"""Model inspection on sequence frames: permutation importance per channel
and per-event attributions.

:func:`sklearn.inspection.permutation_importance` moves each list of a
sequence frame to a row of another length, which no estimator accepts; the
function here keeps every row's channels aligned. :func:`event_attributions`
says how much each event moved a prediction (integrated gradients), one list
of scores per row and channel.
"""

from ._attributions import event_attributions
from ._permutation import permutation_importance

__all__ = ["event_attributions", "permutation_importance"]
