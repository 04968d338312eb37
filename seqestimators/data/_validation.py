"""Constraints of the data layer built on :mod:`seqestimators.utils._validation`.

``Int`` (bools refused) is the one integer rule; this module only adds the
seed constraint and a check for a count outside ``validate_params``.
"""

from __future__ import annotations

import numpy as np

from ..utils._validation import Int

__all__ = ["RANDOM_STATE", "is_count"]

#: a seed: an int (not a bool), a RandomState or None
RANDOM_STATE = [Int(0, 2**32 - 1, closed="both"), np.random.RandomState, None]

_COUNT = Int(1)


def is_count(value) -> bool:
    """Whether ``value`` is an int >= 1 (a bool is not).

    Examples
    --------
    >>> is_count(3), is_count(True), is_count(0)
    (True, False, False)
    """
    return _COUNT.is_satisfied_by(value)
