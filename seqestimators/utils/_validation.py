"""Parameter constraints shared by every public function and estimator.

scikit-learn's ``Interval(Integral, ...)`` accepts ``True`` (a bool is an
``Integral``); a count such as ``k`` or ``max_epochs`` never is a bool, so the
library's integer parameters use :class:`Int` instead.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from ._compat import Interval

__all__ = ["Int", "Float"]


class _NoBool(Interval):
    """An :class:`Interval` that refuses bools (Python and numpy)."""

    def is_satisfied_by(self, val):
        if isinstance(val, bool | np.bool_):
            return False
        return super().is_satisfied_by(val)


def Int(left, right=None, *, closed="left") -> Interval:
    """Integers (numpy integers included, bools excluded) in an interval."""
    return _NoBool(Integral, left, right, closed=closed)


def Float(left, right=None, *, closed="left") -> Interval:
    """Real numbers (numpy floats and ints included, bools excluded)."""
    return _NoBool(Real, left, right, closed=closed)
