"""Standardization of the numeric channels: statistics learned in ``fit``,
applied in ``transform``, without overflow and without silent infinities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["check_finite", "fit_scaling", "is_constant", "mean_std", "standardize"]


def mean_std(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation of a float64 ``(n, d)`` block.

    Columns whose plain statistics overflow float64 (values near 1e308) are
    computed on the values divided by their largest magnitude and scaled
    back, so every finite column gets a finite mean and standard deviation.

    Examples
    --------
    >>> import numpy as np
    >>> mean, std = mean_std(np.array([[1.0], [3.0]]))
    >>> mean.tolist(), std.tolist()
    ([2.0], [1.0])
    """
    if not block.shape[0]:
        return np.zeros(block.shape[1]), np.ones(block.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        mean = block.mean(axis=0, dtype=np.float64)
        std = block.std(axis=0, dtype=np.float64)
    bad = ~(np.isfinite(mean) & np.isfinite(std))
    if bad.any():
        peak = np.abs(block[:, bad]).max(axis=0)
        unit = block[:, bad] / np.where(peak > 0, peak, 1.0)
        mean[bad] = unit.mean(axis=0) * peak
        std[bad] = unit.std(axis=0) * peak
    return mean, std


def is_constant(mean: np.ndarray, std: np.ndarray, n: int) -> np.ndarray:
    """Columns whose standard deviation is zero up to rounding.

    The mean of ``n`` equal values carries a rounding error of about
    ``n * eps * |mean|``, so a constant column of large values gets a tiny
    nonzero ``std`` (scikit-learn's StandardScaler has the same test); as a
    scale it would blow rounding noise up to large values.
    """
    eps = np.finfo(np.float64).eps
    rounding = np.sqrt(n * eps) * std + n * eps * np.abs(mean)
    return (std <= 1e-12) | (std <= rounding)


def fit_scaling(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, scale)`` of a float64 block; constant columns get scale 1."""
    mean, std = mean_std(block)
    return mean, np.where(is_constant(mean, std, len(block)), 1.0, std)


def check_finite(block: np.ndarray, names: Sequence[str]) -> None:
    """Raise a ValueError naming the first channel holding an infinity."""
    if block.shape[1] and not np.all(np.isfinite(block)):
        bad = np.flatnonzero(~np.isfinite(block).all(axis=0))[0]
        raise ValueError(
            f"Numeric channel {names[bad]!r} holds infinite values; replace them "
            "before vectorizing."
        )


def standardize(
    block: np.ndarray, mean: np.ndarray, scale: np.ndarray, names: Sequence[str]
) -> np.ndarray:
    """``(block - mean) / scale`` as float32, in place on ``block``.

    Values near the float64 limit are divided first so that ``x - mean``
    cannot overflow; a value whose standardized form exceeds float32 (far
    outside the range seen in fit) is an error, not an infinity.
    """
    if not len(block):
        return block.astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        safe = (
            np.isfinite(block.max(axis=0) - mean).all()
            and np.isfinite(block.min(axis=0) - mean).all()
        )
        if safe:
            block -= mean
            block /= scale
        else:
            block /= scale
            block -= mean / scale
    # column extremes, not an elementwise test: no temporary array
    limit = np.finfo(np.float32).max
    high, low = block.max(axis=0), block.min(axis=0)
    fits = (high <= limit) & (low >= -limit)  # False for NaN too
    if not fits.all():
        bad = int(np.flatnonzero(~fits)[0])
        peak = max(abs(float(high[bad])), abs(float(low[bad])))
        raise ValueError(
            f"Numeric channel {names[bad]!r} holds values too large to standardize "
            f"with the statistics learned in fit (mean {mean[bad]:.3g}, scale "
            f"{scale[bad]:.3g}): scaled values reach {peak:.3g}, beyond the float32 "
            "range. Clip or rescale the column (e.g. with a log) before vectorizing."
        )
    return block.astype(np.float32)
