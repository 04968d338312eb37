"""The estimators' side of :func:`seqestimators.nn.fit_linear_start`:
batches of the training sequences and the net's own loss."""

from __future__ import annotations

import numpy as np
import torch

from ..nn import fit_linear_start
from ._batching import SequenceDataset, cut_batches, length_sorted_order
from ._seeding import effective_weight, per_sample_loss

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


#: training events up to which each penalty group gets its own penalty,
#: chosen by cross-validation on the training sequences
PER_GROUP_EVENTS = 2_000_000

#: folds of that cross-validation
LINEAR_START_FOLDS = 3


def _batches(dataset: SequenceDataset, device, max_events: int):
    """``fit_linear_start``'s batches of ``dataset``: a callable yielding
    ``(inputs, target, share)`` on ``device``, rows sorted by length (read
    once: the linear start turns them into its design matrices).

    With sample weights, ``target`` is the pair ``(targets, weights)`` (the
    loss of :func:`start_from_linear_model` takes their weighted mean) and
    ``share`` is the batch's share of the total weight."""
    X, n = dataset.X, len(dataset)
    weight = dataset.sample_weight
    total = None if weight is None else float(weight.sum())
    order = length_sorted_order(X.lengths)
    starts, stops = cut_batches(
        X.lengths[order], np.zeros(n, dtype=np.int64), 1024, max_events
    )

    def pad(a, b):
        inputs, target = dataset.batch(order[a:b])
        inputs = {k: v.to(device) for k, v in inputs.items()}
        if weight is None:
            return inputs, target.to(device), (b - a) / n
        w = inputs.pop("sample_weight")
        # a split whose weights are all zero has loss 0 in every batch
        share = float(weight[order[a:b]].sum()) / total if total else (b - a) / n
        return inputs, (target.to(device), w), share

    return lambda: (pad(a, b) for a, b in zip(starts, stops))


def start_from_linear_model(
    net, train_ds: SequenceDataset, valid_ds: SequenceDataset | None,
    max_events: int, *, choose: bool, seed: int = 0, l2: dict | None = None,
) -> dict:
    """Fit the linear part of the skorch ``net``'s module on ``train_ds``
    (its loss, its device) and freeze it.

    With ``choose``, the penalties (:data:`seqestimators.nn.L2_PATH`) are
    chosen: up to ``PER_GROUP_EVENTS`` training events per group of weights
    and by ``LINEAR_START_FOLDS``-fold cross-validation on ``train_ds``
    (folds drawn with ``seed``), above it one for all on ``valid_ds`` (if
    given: else the module's own). Without ``choose``: ``l2`` (by group),
    else the module's own. Returns
    :func:`~seqestimators.nn.fit_linear_start`'s result, with the
    validation loss on ``valid_ds`` (if given)."""
    device = torch.device(net.device)

    def loss(output, target):
        if isinstance(target, tuple):  # (targets, sample weights)
            target, weight = target
            return net.get_loss(
                output, target, X={"sample_weight": weight}, training=False
            )
        return net.get_loss(output, target, training=False)

    def row_loss(output, target):
        if isinstance(target, tuple):  # (targets, sample weights)
            target, weight = target
        else:
            weight = torch.ones(len(target), device=output.device)
        criterion = net.criterion_
        with torch.no_grad():
            losses = per_sample_loss(criterion, output, target)  # c_i * l_i
            class_weight = effective_weight(criterion, target, torch.ones_like(weight))
        return losses / class_weight.clamp_min(1e-12), effective_weight(
            criterion, target, weight)

    valid = None
    if valid_ds is not None and len(valid_ds):
        valid = _batches(valid_ds, device, max_events)
    n_events = int(train_ds.X.lengths.sum())
    small = n_events <= PER_GROUP_EVENTS
    return fit_linear_start(
        net.module_, _batches(train_ds, device, max_events), loss,
        valid_batches=valid, max_iter=linear_start_iterations(n_events),
        per_group=small, cv=LINEAR_START_FOLDS if choose and small else 0,
        l2=None if choose else l2,
        seed=seed, row_loss=row_loss,
    )
