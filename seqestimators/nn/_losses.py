"""Training losses that torch does not ship in the form the estimators need."""

from __future__ import annotations

import torch

__all__ = ["HalfPoissonDeviance"]


class HalfPoissonDeviance(torch.nn.Module):
    """Half the mean Poisson deviance of rates ``exp(log_rate)`` for counts
    ``y``: ``mean(exp(f) - y f + y log y - y)``, 0 for a perfect fit.

    Its gradient is that of ``torch.nn.PoissonNLLLoss(log_input=True)``; the
    ``y log y - y`` term makes the loss half of
    ``sklearn.metrics.mean_poisson_deviance``.

    Parameters
    ----------
    reduction : {"mean", "none"}, default="mean"
        "none": the half deviance of each value (the estimators weigh them
        with sample weights).

    Examples
    --------
    >>> import torch
    >>> y = torch.tensor([2.0, 0.0])
    >>> float(HalfPoissonDeviance()(torch.log(torch.tensor([2.0, 1e-9])), y)) < 1e-6
    True
    """

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, log_rate: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = torch.exp(log_rate) - y * log_rate + torch.xlogy(y, y) - y
        # models saved before ``reduction`` existed have no such attribute
        return loss if getattr(self, "reduction", "mean") == "none" else loss.mean()
