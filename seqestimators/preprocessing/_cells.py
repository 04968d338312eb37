"""A sequence frame that arrives as a 2-D object array of list cells.

scikit-learn's meta-estimators that validate ``X`` themselves
(:class:`~sklearn.ensemble.BaggingClassifier`, ``BaggingRegressor``) turn a
sequence frame into a 2-D object ndarray before handing it to their base
estimator: the same cells (one array of events per row and column), in the
same column order, without the column names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["frame_of_cells"]


def frame_of_cells(X, names=None):
    """``X`` unchanged, unless it is a 2-D object ndarray: then a DataFrame of
    its cells with columns ``names`` (those seen in ``fit``) when they are as
    many, else ``x0, x1, ...`` (scikit-learn's names for unnamed columns)."""
    if not (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype == object):
        return X
    if names is None or len(names) != X.shape[1]:
        names = [f"x{j}" for j in range(X.shape[1])]
    return pd.DataFrame(X, columns=list(names), copy=False)
