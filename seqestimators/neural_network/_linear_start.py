"""The estimators' side of :func:`seqestimators.nn.fit_linear_start`:
batches of the training sequences and the net's own loss."""

from __future__ import annotations

import numpy as np
import torch

from ..nn import fit_linear_start
from ._batching import SequenceDataset, cut_batches, length_sorted_order

__all__ = ["linear_start_iterations", "start_from_linear_model"]

#: events read by the linear start at most, over all its L-BFGS evaluations
LINEAR_START_EVENTS = 200_000_000


def linear_start_iterations(n_events: int) -> int:
    """L-BFGS iterations of the linear start: 100 (converged on the suite's
    data), fewer on large data so the start reads at most
    ``LINEAR_START_EVENTS`` events (at least 10 iterations).

    Examples
    --------
    >>> linear_start_iterations(10_000), linear_start_iterations(10**8)
    (100, 10)
    """
    return int(np.clip(LINEAR_START_EVENTS // max(1, int(n_events)), 10, 100))


def _batches(dataset: SequenceDataset, device, max_events: int):
    """``fit_linear_start``'s batches of ``dataset``: a callable yielding
    ``(inputs, target, share)`` on ``device``, rows sorted by length."""
    X, n = dataset.X, len(dataset)
    order = length_sorted_order(X.lengths)
    starts, stops = cut_batches(
        X.lengths[order], np.zeros(n, dtype=np.int64), 1024, max_events
    )

    def batches():
        for a, b in zip(starts, stops):
            inputs, target = dataset.batch(order[a:b])
            inputs = {k: v.to(device) for k, v in inputs.items()}
            yield inputs, target.to(device), (b - a) / n

    return batches


def start_from_linear_model(
    net, train_ds: SequenceDataset, valid_ds: SequenceDataset | None,
    max_events: int,
) -> dict:
    """Fit the linear part of the skorch ``net``'s module on ``train_ds``
    (its loss, its device) and freeze it. With ``valid_ds`` the penalty is
    chosen on it (:data:`seqestimators.nn.L2_PATH`), else the module's own.
    Returns :func:`~seqestimators.nn.fit_linear_start`'s result."""
    device = torch.device(net.device)

    def loss(output, target):
        return net.get_loss(output, target, training=False)

    valid = None
    if valid_ds is not None and len(valid_ds):
        valid = _batches(valid_ds, device, max_events)
    iterations = linear_start_iterations(int(train_ds.X.lengths.sum()))
    return fit_linear_start(
        net.module_, _batches(train_ds, device, max_events), loss,
        valid_batches=valid, max_iter=iterations,
    )
