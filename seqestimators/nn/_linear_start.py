"""Fit a network's linear part (its wide path) alone, to convergence, first.

A linear model on the bag of events and on each sequence's numeric
summaries is what a data scientist tries first, and on small or weakly
ordered data it is hard to beat. Trained jointly with the network by Adam
and stopped after a few epochs, the network's own copy of it stays
under-fitted (rare ids' weights barely move) and varies with the seed.
:func:`fit_linear_start` solves the linear model's convex problem with
full-batch L-BFGS (the penalty of ``LogisticRegression(C=1)`` /
``PoissonRegressor(alpha=...)``), freezes it and zeroes the head's weights:
the network starts *as* that model and learns only what it misses, and
early stopping keeps it close where there is nothing to add.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from ._wide import numeric_summaries

__all__ = ["fit_linear_start"]


#: penalties tried by :func:`fit_linear_start` without ``l2``, strong to weak
#: (on the mean loss: 1.0 is ``PoissonRegressor()``'s default, 1 / n that of
#: ``LogisticRegression(C=1)`` on n samples)
L2_PATH = (1.0, 0.1, 0.01, 1e-3, 1e-4)


def fit_linear_start(
    net: nn.Module,
    batches: Callable[[], Iterable[tuple[dict, torch.Tensor, float]]],
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    valid_batches: Callable[[], Iterable[tuple[dict, torch.Tensor, float]]]
    | None = None,
    l2_path: tuple[float, ...] = L2_PATH,
    max_iter: int = 100,
) -> dict:
    """Fit ``net``'s linear part to convergence, then freeze it.

    The numeric summaries are first standardized with the training
    sequences' mean and std (kept in the wide path's buffers).

    With ``valid_batches`` the penalty is chosen on them: the linear model
    is fitted for each penalty of ``l2_path`` (strong to weak, each fit
    starting from the previous solution, stopping once the validation loss
    rose twice) and the best is kept. Without, the wide path's own ``l2``
    is used.

    Parameters
    ----------
    net : SequenceNet or SequenceEnsemble
        A freshly initialized network. An ensemble's members share one
        solution (the problem is convex: they would all reach it).
    batches : callable
        Called once per evaluation of the objective; yields
        ``(inputs, target, fraction)``: the network's keyword inputs
        (``categorical``, ``numeric``, ``lengths``), the batch's targets and
        its share of the training sequences (the shares sum to 1).
    loss : callable
        ``loss(output, target)``, the mean loss of a batch.
    valid_batches : callable, default=None
        The validation sequences, as ``batches``.
    l2_path : tuple of float, default=L2_PATH
        Penalties (``l2 / 2 * ||w||**2`` on the mean loss) tried with
        ``valid_batches``.
    max_iter : int, default=100
        L-BFGS iterations at most, per penalty.

    Returns
    -------
    dict
        ``l2`` (the penalty kept), ``valid_loss`` (its validation loss, or
        None) and ``evaluations`` (objective evaluations in all); empty when
        the network has no wide path.

    Examples
    --------
    >>> import torch
    >>> from seqestimators.nn import SequenceNet
    >>> cat = torch.tensor([[[1], [1]], [[2], [2]]])
    >>> num, lengths = torch.zeros(2, 2, 0), torch.tensor([2, 2])
    >>> y = torch.tensor([0, 1])
    >>> net = SequenceNet(cardinalities=[3], embedding_dims=[2], n_numeric=0,
    ...                   numeric_dim=0, hidden_size=4, num_layers=1,
    ...                   dropout=0.0, pooling="last", n_outputs=2, wide=True,
    ...                   wide_l2=0.01)
    >>> inputs = {"categorical": cat, "numeric": num, "lengths": lengths}
    >>> data = lambda: [(inputs, y, 1.0)]
    >>> fit_linear_start(net, data, torch.nn.functional.cross_entropy)["l2"]
    0.01
    >>> net.eval()(cat, num, lengths).argmax(1).tolist()
    [0, 1]
    """
    members = list(getattr(net, "members", [net]))
    first = members[0]
    if first.wide is None:
        return {}
    if first.wide.numeric_weights is not None:
        first.wide.set_summary_scaling(torch.cat([
            numeric_summaries(inputs["numeric"].to(torch.float32), inputs["lengths"])
            for inputs, _, _ in batches()
        ]))
    own_l2 = first.wide.l2
    first.wide.l2 = 0.0  # the penalty is explicit while fitting
    try:
        if valid_batches is None:
            result = {"l2": own_l2, "valid_loss": None,
                      "evaluations": _minimize(first, own_l2, batches, loss, max_iter)}
        else:
            result = _path(first, l2_path, batches, valid_batches, loss, max_iter)
    finally:
        first.wide.l2 = own_l2
    _freeze(members)
    return result


def _path(module, l2_path, batches, valid_batches, loss, max_iter) -> dict:
    """Fit along ``l2_path``; leave the best fit (validation loss) in place."""
    best, evaluations, worse = None, 0, 0
    for l2 in l2_path:
        evaluations += _minimize(module, float(l2), batches, loss, max_iter)
        value = _mean_loss(module, valid_batches, loss)
        if best is None or value < best["valid_loss"]:
            state = {k: v.clone() for k, v in _linear_state(module).items()}
            best, worse = {"l2": float(l2), "valid_loss": value, "state": state}, 0
        else:
            worse += 1
            if worse == 2:
                break
    module.load_state_dict(best.pop("state"), strict=False)
    return {**best, "evaluations": evaluations}


def _linear_state(module) -> dict:
    return {k: v for k, v in module.state_dict().items()
            if k.startswith("wide.") or k == "head.bias"}


def _freeze(members) -> None:
    """Freeze the first member's linear part, copy it to the others, zero
    every head's weights (the network starts as the linear model)."""
    first = members[0]
    for p in first.linear_parameters():
        p.grad = None  # L-BFGS's last evaluation leaves its gradient
    with torch.no_grad():
        first.wide.frozen.fill_(1.0)
        state = _linear_state(first)
        for member in members:
            member.load_state_dict(state, strict=False)
            member.head.weight.zero_()


def _mean_loss(module, batches, loss) -> float:
    with torch.no_grad():
        return float(sum(float(loss(module.linear_output(**inputs), target)) * f
                         for inputs, target, f in batches()))


def _minimize(module, l2, batches, loss, max_iter) -> int:
    """Full-batch L-BFGS on the mean loss plus ``l2 / 2 * ||penalized||**2``."""
    params = module.linear_parameters()
    penalized = module.wide.penalized()
    optimizer = torch.optim.LBFGS(
        params, lr=1.0, max_iter=int(max_iter), history_size=20,
        tolerance_grad=1e-6, tolerance_change=1e-9,
        line_search_fn="strong_wolfe",
    )
    count = [0]

    def closure():
        optimizer.zero_grad()
        count[0] += 1
        total = torch.zeros(())
        for inputs, target, fraction in batches():
            value = loss(module.linear_output(**inputs), target) * float(fraction)
            value.backward()
            total = total + value.detach().cpu()
        if l2 > 0:
            penalty = 0.5 * l2 * sum(p.square().sum() for p in penalized)
            penalty.backward()
            total = total + penalty.detach().cpu()
        return total

    with torch.enable_grad():
        optimizer.step(closure)
    return count[0]
