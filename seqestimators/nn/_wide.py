"""The "wide" path: one learned weight per (item, output), an unfactorized
logistic regression on the bag of events, straight into the logits."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._pooling import padding_mask

__all__ = ["WideEvents", "l2_gradient"]


class _L2Gradient(torch.autograd.Function):
    """Identity forward; backward adds ``l2 * weight`` to the gradient."""

    @staticmethod
    def forward(ctx, weight, l2):
        ctx.save_for_backward(weight)
        ctx.l2 = l2
        return weight.clone()

    @staticmethod
    def backward(ctx, grad):
        (weight,) = ctx.saved_tensors
        return grad + ctx.l2 * weight, None


def l2_gradient(weight: torch.Tensor, l2: float) -> torch.Tensor:
    """``weight`` unchanged, with the gradient of ``l2 / 2 * ||weight||**2``
    added in each backward pass through it.

    An explicit L2 penalty on the training objective that needs no change to
    the loss or the optimizer (and, unlike AdamW's decoupled weight decay,
    is the penalty of a ridge or L2-regularized logistic regression).

    Parameters
    ----------
    weight : torch.Tensor
        A parameter (or any tensor that requires grad).
    l2 : float
        Strength of the penalty; 0 (or no gradient recording) returns
        ``weight`` itself.

    Returns
    -------
    torch.Tensor
        Equal to ``weight``.

    Examples
    --------
    >>> import torch
    >>> w = torch.ones(3, requires_grad=True)
    >>> l2_gradient(w, 0.5).sum().backward()
    >>> w.grad.tolist()
    [1.5, 1.5, 1.5]
    """
    if l2 == 0 or not torch.is_grad_enabled():
        return weight
    return _L2Gradient.apply(weight, float(l2))


class WideEvents(nn.Module):
    """Sum of one weight vector per event, over the real steps, divided by
    ``sqrt(length)``.

    Each categorical channel gets a table of ``n_outputs`` weights per id
    (initialized at zero, id 0 is padding and stays zero): a linear model on
    the counts of the ids, scaled so that long and short sequences give
    logits of a similar size.

    Parameters
    ----------
    cardinalities : sequence of int
        Number of ids of each categorical channel.
    n_outputs : int
        Number of outputs (logits) the weights add to.
    l2 : float, default=0.0
        L2 penalty ``l2 / 2 * ||w||**2`` on the weights, added to the
        gradient of every training step (see :func:`l2_gradient`).
    ngrams : int, default=1
        Also weigh the runs of 2 to ``ngrams`` consecutive ids of each
        channel (k-mers, n-grams), hashed into ``buckets`` shared weights.
        1: single ids only.
    buckets : int, default=2**18
        Size of the hashed n-gram table (``ngrams > 1`` only).

    Examples
    --------
    >>> import torch
    >>> wide = WideEvents([5], n_outputs=2)
    >>> wide(torch.tensor([[[1], [2], [0]]]), torch.tensor([2])).shape
    torch.Size([1, 2])
    >>> WideEvents([5], n_outputs=2, ngrams=3, buckets=64).ngram_weights.shape
    torch.Size([64, 2])
    """

    def __init__(
        self,
        cardinalities: Sequence[int],
        n_outputs: int,
        *,
        l2=0.0,
        ngrams=1,
        buckets=2**18,
    ):
        super().__init__()
        self.weights = nn.ParameterList(
            nn.Parameter(torch.zeros(int(n), int(n_outputs))) for n in cardinalities
        )
        self.l2 = float(l2)
        self.ngrams = int(ngrams)
        self.ngram_weights = None
        if self.ngrams > 1:
            self.ngram_weights = nn.Parameter(torch.zeros(int(buckets), n_outputs))

    def init_parameters(self, generator=None) -> list[nn.Parameter]:
        """Set every wide weight to zero (the path starts as no model at
        all); returns the parameters set. ``generator`` is not needed."""
        params = list(self.parameters())
        with torch.no_grad():
            for p in params:
                p.zero_()
        return params

    def forward(self, categorical: torch.Tensor, lengths: torch.Tensor):
        mask = padding_mask(lengths, categorical.shape[1])
        ids = categorical.masked_fill(~mask.unsqueeze(-1), 0)
        out = 0.0
        for i, w in enumerate(self.weights):
            # the padding row is held at zero (read through a zeroed copy)
            w = l2_gradient(w, self.l2)
            w = torch.cat([torch.zeros_like(w[:1]), w[1:]])
            out = out + nn.functional.embedding(ids[..., i], w).sum(1)
        if self.ngram_weights is not None:
            out = out + self._ngrams(ids, lengths)
        scale = lengths.clamp(min=1).to(torch.float32).sqrt().unsqueeze(1)
        return out / scale

    def _ngrams(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Summed weights of the hashed runs of 2..ngrams ids (within length)."""
        w = l2_gradient(self.ngram_weights, self.l2)
        T, n_buckets = ids.shape[1], w.shape[0]
        out = 0.0
        for c in range(ids.shape[2]):
            for k in range(2, self.ngrams + 1):
                if k > T:
                    break
                # polynomial hash of the window, mod a prime: no overflow
                code = torch.full_like(ids[:, : T - k + 1, c], k * 7919 + c)
                for j in range(k):
                    code = (code * _BASE + ids[:, j : T - k + 1 + j, c]) % _PRIME
                starts = torch.arange(T - k + 1, device=ids.device).unsqueeze(0)
                valid = (starts + k <= lengths.unsqueeze(1)).unsqueeze(-1)
                rows = nn.functional.embedding(code % n_buckets, w)
                out = out + (rows * valid.to(rows.dtype)).sum(1)
        return out


_PRIME = 2_147_483_647  # 2**31 - 1
_BASE = 1_000_003
