"""Masked pooling of per-step outputs into one vector per sequence."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["POOLINGS", "SequencePooling", "padding_mask"]

#: the pooling names every encoder accepts
POOLINGS = ("last", "mean", "max", "attention")


def padding_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """``(batch, T)`` boolean mask, True at the real (non-padding) steps."""
    steps = torch.arange(T, device=lengths.device).unsqueeze(0)
    return steps < lengths.unsqueeze(1)


class SequencePooling(nn.Module):
    """Pool ``(batch, T, size)`` outputs of right-padded sequences.

    Parameters
    ----------
    pooling : {"last", "mean", "max", "attention"}
        ``last`` reads each sequence at its true last step; ``mean``/``max``
        reduce over the real steps only; ``attention`` learns a softmax weight
        per step (padding gets weight 0).
    size : int
        Feature size of the outputs.
    backward_from : int, default=None
        For a bidirectional recurrence, the feature index where the backward
        direction starts: ``last`` then takes the forward half at the last
        step and the backward half at the first step (where the backward
        direction has read the whole sequence).

    Examples
    --------
    >>> import torch
    >>> pool = SequencePooling("mean", 2)
    >>> out = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]])
    >>> pool(out, torch.tensor([2])).tolist()
    [[2.0, 3.0]]
    """

    def __init__(self, pooling: str, size: int, *, backward_from: int | None = None):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}.")
        self.pooling = pooling
        self.backward_from = backward_from
        self.attention = nn.Linear(size, 1) if pooling == "attention" else None

    def forward(self, out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.pooling == "last":
            rows = torch.arange(out.shape[0], device=out.device)
            last = out[rows, lengths - 1]
            h = self.backward_from
            if h is None:
                return last
            return torch.cat([last[:, :h], out[:, 0, h:]], dim=-1)
        mask = padding_mask(lengths, out.shape[1])
        if self.pooling == "mean":
            m = mask.unsqueeze(-1).to(out.dtype)
            return (out * m).sum(1) / lengths.unsqueeze(1).to(out.dtype)
        if self.pooling == "max":
            return out.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
        scores = self.attention(out).squeeze(-1).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1).unsqueeze(-1)
        return (out * weights).sum(1)
