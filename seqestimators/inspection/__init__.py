"""Model inspection on sequence frames: permutation importance per channel.

:func:`sklearn.inspection.permutation_importance` moves each list of a
sequence frame to a row of another length, which no estimator accepts; the
function here keeps every row's channels aligned.
"""

from ._permutation import permutation_importance

__all__ = ["permutation_importance"]
