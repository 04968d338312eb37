"""The "wide" path: a generalized linear model inside the network.

One learned weight per (item, output) -- an unfactorized logistic
regression on the bag of events -- plus, for the numeric channels, weights
on each sequence's summaries (mean, std, min, max, last, log length), added
straight to the logits. :func:`fit_linear_start` fits this linear model
alone, to convergence, before the network trains on what it misses."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._pooling import padding_mask

__all__ = [
    "COUNT_TRANSFORMS",
    "NUMERIC_SUMMARIES",
    "WideEvents",
    "l2_gradient",
    "numeric_summaries",
    "repeat_counts",
]

#: the per-channel summaries of the numeric channels, in this order
NUMERIC_SUMMARIES = ("mean", "std", "min", "max", "last")
#: how the wide path enters an id's (or n-gram's) count c in a sequence
COUNT_TRANSFORMS = ("linear", "log1p")


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


def numeric_summaries(numeric: torch.Tensor, lengths: torch.Tensor,
                      std_eps: float = 0.0) -> torch.Tensor:
    """Per sequence, the mean, std, min, max and last value of each numeric
    channel over its real steps, then ``log1p(length)``.

    Parameters
    ----------
    numeric : torch.Tensor of shape (batch, T, n_numeric)
        Right-padded numeric channels.
    lengths : torch.Tensor of shape (batch,)
        True lengths (an empty sequence summarizes to zeros).
    std_eps : float, default=0.0
        Above 0 the std is ``sqrt(var + std_eps) - sqrt(std_eps)``: smooth
        where the variance is 0 (for gradients, e.g. attributions).

    Returns
    -------
    torch.Tensor of shape (batch, 5 * n_numeric + 1)
        The summaries grouped by kind (every channel's mean, then every
        channel's std, ...), as :data:`NUMERIC_SUMMARIES`.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[[1.0], [3.0], [0.0]]])
    >>> numeric_summaries(x, torch.tensor([2]))[0, :5].tolist()
    [2.0, 1.0, 1.0, 3.0, 3.0]
    """
    T = numeric.shape[1]
    mask = padding_mask(lengths, T).unsqueeze(-1)
    n = lengths.clamp(min=1).to(numeric.dtype).unsqueeze(1)
    x = numeric.masked_fill(~mask, 0.0)
    mean = x.sum(1) / n
    # two passes, shifted by the first value: E[x**2] - mean**2 leaves
    # float32 rounding noise where a channel is constant within a sequence
    # (standardizing amplifies it); the shift makes that std exactly 0
    d = (x - x[:, :1]).masked_fill(~mask, 0.0)
    d = (d - (d.sum(1) / n).unsqueeze(1)).masked_fill(~mask, 0.0)
    std = (d.square().sum(1) / n + std_eps).sqrt() - std_eps**0.5
    empty = (lengths == 0).unsqueeze(1)
    low = numeric.masked_fill(~mask, float("inf")).amin(1).masked_fill(empty, 0.0)
    high = numeric.masked_fill(~mask, float("-inf")).amax(1).masked_fill(empty, 0.0)
    last_idx = (lengths.clamp(min=1) - 1).view(-1, 1, 1).expand(-1, 1, x.shape[2])
    last = x.gather(1, last_idx.to(torch.int64)).squeeze(1)
    size = torch.log1p(lengths.to(numeric.dtype)).unsqueeze(1)
    return torch.cat([mean, std, low, high, last, size], dim=1)


def repeat_counts(code: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """How often each entry's code occurs among the valid entries of its row.

    Sort-based (``O(L log L)`` per row, no ``L x L`` comparison) and made of
    operations that trace to ONNX (sort, cumulative sum, scatter, gather).

    Parameters
    ----------
    code : torch.Tensor of shape (batch, L)
        Integer codes (ids, hashed n-grams), non-negative where valid.
    valid : torch.Tensor of shape (batch, L)
        Which entries count.

    Returns
    -------
    torch.Tensor of shape (batch, L)
        float32 counts at the valid entries, 1 elsewhere.

    Examples
    --------
    >>> import torch
    >>> code = torch.tensor([[5, 3, 5, 5, 3, 0]])
    >>> repeat_counts(code, code > 0).tolist()
    [[3.0, 2.0, 3.0, 3.0, 2.0, 1.0]]
    """
    L = code.shape[1]
    # invalid entries get distinct negative codes: runs of one of their own
    distinct = -1 - torch.arange(L, device=code.device).unsqueeze(0)
    key = torch.where(valid, code.to(torch.int64), distinct)
    ordered, perm = torch.sort(key, dim=1)
    starts = torch.ones_like(ordered, dtype=torch.int64)
    starts[:, 1:] = (ordered[:, 1:] != ordered[:, :-1]).to(torch.int64)
    run = torch.cumsum(starts, dim=1) - 1
    ones = torch.ones_like(ordered, dtype=torch.float32)
    sizes = torch.zeros_like(ones).scatter_add(1, run, ones)
    return torch.zeros_like(ones).scatter(1, perm, sizes.gather(1, run))


def count_factor(code: torch.Tensor, valid: torch.Tensor,
                 counts: str) -> torch.Tensor:
    """Each entry's share of its code's feature value: 1 at the valid
    entries for ``"linear"`` (c entries make c), ``log1p(c) / c`` for
    ``"log1p"`` (c entries make log1p(c)); 0 at the invalid entries."""
    keep = valid.to(torch.float32)
    if counts == "linear":
        return keep
    c = repeat_counts(code, valid)
    return torch.log1p(c) / c * keep


class WideEvents(nn.Module):
    """Sum of one weight vector per event, over the real steps, divided by
    ``sqrt(length)``.

    Each categorical channel gets a table of ``n_outputs`` weights per id
    (initialized at zero, id 0 is padding and stays zero): a linear model on
    the counts of the ids, scaled so that long and short sequences give
    logits of a similar size. With ``counts="log1p"`` an id (or n-gram) seen
    c times in a sequence enters as ``log1p(c)`` instead of c (each of its
    events weighs ``log1p(c) / c``), the sublinear counts of a bag-of-words
    model: a k-mer seen 50 times does not outweigh one seen twice 50 to 1.

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
    ngram_channels : sequence of int or None, default=None
        The categorical channels whose n-grams are weighed (None: all).
    n_numeric : int, default=0
        Numeric channels; above 0 the model also weighs their
        :func:`numeric_summaries` (and the log length).
    counts : {"linear", "log1p"}, default="linear"
        How a count c of an id or n-gram in a sequence enters the model:
        as c, or as ``log1p(c)`` (see :func:`repeat_counts`).

    Attributes
    ----------
    frozen : torch.Tensor
        A 0/1 buffer (saved with the weights): at 1 the weights get no
        gradient, as after :func:`fit_linear_start`.

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
        ngram_channels=None,
        n_numeric=0,
        counts="linear",
    ):
        super().__init__()
        if counts not in COUNT_TRANSFORMS:
            raise ValueError(
                f"counts must be one of {COUNT_TRANSFORMS}; got {counts!r}."
            )
        self.counts = counts
        self.weights = nn.ParameterList(
            nn.Parameter(torch.zeros(int(n), int(n_outputs))) for n in cardinalities
        )
        self.l2 = float(l2)
        self.ngrams = int(ngrams)
        self.ngram_channels = (
            list(range(len(cardinalities))) if ngram_channels is None
            else [int(c) for c in ngram_channels]
        )
        if not self.ngram_channels:
            self.ngrams = 1
        self.ngram_weights = None
        if self.ngrams > 1:
            self.ngram_weights = nn.Parameter(torch.zeros(int(buckets), n_outputs))
        self.numeric_weights = None
        if int(n_numeric) > 0:
            n_features = len(NUMERIC_SUMMARIES) * int(n_numeric) + 1
            self.numeric_weights = nn.Parameter(torch.zeros(n_features, n_outputs))
            # the summaries are standardized with the training data's center
            # and scale (set by fit_linear_start; 0 and 1 until then)
            self.register_buffer("summary_center", torch.zeros(n_features))
            self.register_buffer("summary_scale", torch.ones(n_features))
        self.register_buffer("frozen", torch.zeros(()))

    def init_parameters(self, generator=None) -> list[nn.Parameter]:
        """Set every wide weight to zero (the path starts as no model at
        all); returns the parameters set. ``generator`` is not needed."""
        params = list(self.parameters())
        with torch.no_grad():
            for p in params:
                p.zero_()
            self.frozen.zero_()
            if self.numeric_weights is not None:
                self.summary_center.zero_()
                self.summary_scale.fill_(1.0)
        return params

    def summaries(self, numeric: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The standardized :func:`numeric_summaries` the weights apply to."""
        z = numeric_summaries(numeric.to(torch.float32), lengths)
        return (z - self.summary_center) / self.summary_scale

    def set_summary_scaling(self, summaries: torch.Tensor) -> None:
        """Standardize with the mean and std of ``summaries`` (the raw
        :func:`numeric_summaries` of the training sequences); constant
        features keep scale 1."""
        with torch.no_grad():
            std = summaries.std(dim=0, unbiased=False)
            self.summary_center.copy_(summaries.mean(dim=0))
            self.summary_scale.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))

    def _weight(self, w: torch.Tensor) -> torch.Tensor:
        """``w`` as the forward pass reads it: detached when frozen, else
        with the L2 penalty's gradient."""
        if bool(self.frozen > 0.5):
            return w.detach()
        return l2_gradient(w, self.l2)

    def penalty_groups(self) -> dict[str, list[nn.Parameter]]:
        """The weights by group, each of which :func:`fit_linear_start` may
        penalize differently: ``"ids_<i>"`` (categorical channel ``i``),
        ``"ngrams"`` and ``"numeric"``."""
        groups = {f"ids_{i}": [w] for i, w in enumerate(self.weights)}
        if self.ngram_weights is not None:
            groups["ngrams"] = [self.ngram_weights]
        if self.numeric_weights is not None:
            groups["numeric"] = [self.numeric_weights]
        return groups

    def forward(self, categorical: torch.Tensor, lengths: torch.Tensor,
                numeric: torch.Tensor | None = None):
        mask = padding_mask(lengths, categorical.shape[1])
        ids = categorical.masked_fill(~mask.unsqueeze(-1), 0)
        out = 0.0
        for i, w in enumerate(self.weights):
            # the padding row is held at zero (read through a zeroed copy)
            w = self._weight(w)
            w = torch.cat([torch.zeros_like(w[:1]), w[1:]])
            col = ids[..., i]
            rows = nn.functional.embedding(col, w)
            out = out + (rows * self.event_factor(col, col > 0)).sum(1)
        if self.ngram_weights is not None:
            out = out + self._ngrams(ids, lengths)
        scale = lengths.clamp(min=1).to(torch.float32).sqrt().unsqueeze(1)
        out = out / scale
        if self.numeric_weights is not None and numeric is not None:
            z, w = self.summaries(numeric, lengths), self._weight(self.numeric_weights)
            if self.training:
                out = out + z @ w
            else:
                # as SequenceNet's head: a sequence predicts the same in any
                # batch (float32 matrix products round by batch shape)
                out = out + (z.double() @ w.double()).to(z.dtype)
        return out

    def event_factor(self, code: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """``(batch, L, 1)``: each entry's share of its code's feature value
        under :attr:`counts` (0 where not valid); the one rule the forward
        pass, :meth:`design` and the per-event attributions share."""
        return count_factor(code, valid, self.counts).unsqueeze(-1)

    def _ngram_codes(self, ids: torch.Tensor, lengths: torch.Tensor):
        """Per channel and run length k in 2..ngrams: the bucket of each
        window ``(batch, T - k + 1)`` and whether it lies within the length."""
        T, n_buckets = ids.shape[1], self.ngram_weights.shape[0]
        for c in self.ngram_channels:
            for k in range(2, min(self.ngrams, T) + 1):
                # polynomial hash of the window, mod a prime: no overflow
                code = torch.full_like(ids[:, : T - k + 1, c], k * 7919 + c)
                for j in range(k):
                    code = (code * _BASE + ids[:, j : T - k + 1 + j, c]) % _PRIME
                starts = torch.arange(T - k + 1, device=ids.device).unsqueeze(0)
                yield code % n_buckets, starts + k <= lengths.unsqueeze(1)

    def ngram_runs(self, ids: torch.Tensor, lengths: torch.Tensor):
        """Every channel's and run length's bucket codes side by side,
        ``(batch, L)``, with whether each lies within the length (None when
        the sequences are too short for any run)."""
        parts = list(self._ngram_codes(ids, lengths))
        if not parts:
            return None
        code = torch.cat([c for c, _ in parts], dim=1)
        return code, torch.cat([v for _, v in parts], dim=1)

    def _ngrams(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Summed weights of the hashed runs of 2..ngrams ids (within length);
        the runs share one table, so their counts are taken together."""
        runs = self.ngram_runs(ids, lengths)
        if runs is None:
            return 0.0
        code, valid = runs
        rows = nn.functional.embedding(code, self._weight(self.ngram_weights))
        return (rows * self.event_factor(code, valid)).sum(1)

    # ------------------------------------------------ the design matrix
    def design(self, categorical, lengths, numeric=None) -> dict[str, torch.Tensor]:
        """The linear model's features of a batch, by group: a sparse
        ``(batch, n_ids)`` matrix of id counts (as :attr:`counts` enters
        them) / sqrt(length) per categorical channel (the padding id left
        out), the same for the n-gram buckets,
        and the raw numeric summaries. :meth:`design_output` of it equals
        :meth:`forward` of the batch (up to float rounding); fitting on it
        reads each event once, not once per evaluation."""
        mask = padding_mask(lengths, categorical.shape[1])
        ids = categorical.masked_fill(~mask.unsqueeze(-1), 0)
        inv = 1.0 / lengths.clamp(min=1).to(torch.float32).sqrt()
        out = {}
        for i, w in enumerate(self.weights):
            col = ids[..., i]
            out[f"ids_{i}"] = self._design_counts(col, col > 0, inv, w.shape[0])
        runs = None if self.ngram_weights is None else self.ngram_runs(ids, lengths)
        if runs is not None:
            code, valid = runs
            out["ngrams"] = self._design_counts(
                code, valid, inv, self.ngram_weights.shape[0]
            )
        if self.numeric_weights is not None and numeric is not None:
            out["numeric"] = numeric_summaries(numeric.to(torch.float32), lengths)
        return out

    def _design_counts(self, code, valid, inv, n_cols) -> torch.Tensor:
        """Sparse ``(batch, n_cols)``: per row, the summed
        :meth:`event_factor` of each code's entries, / sqrt(length)."""
        values = self.event_factor(code, valid)[..., 0] * inv.unsqueeze(1)
        return _counts(code, valid, values, n_cols)

    def design_output(self, design: dict[str, torch.Tensor]) -> torch.Tensor:
        """The wide path's output for a :meth:`design` (weights as trained,
        summaries standardized as now)."""
        weights = {f"ids_{i}": w for i, w in enumerate(self.weights)}
        weights["ngrams"] = self.ngram_weights
        out = 0.0
        for name, x in design.items():
            if name == "numeric":
                z = (x - self.summary_center) / self.summary_scale
                out = out + z @ self.numeric_weights
            else:
                out = out + torch.sparse.mm(x, weights[name])
        return out


def _counts(cols, keep, values, n_cols) -> torch.Tensor:
    """Sparse ``(batch, n_cols)`` sums of ``values`` at ``(row, col)`` for
    the kept entries of the ``(batch, T)`` arrays."""
    rows = torch.arange(len(cols), device=cols.device).unsqueeze(1).expand_as(cols)
    matrix = torch.sparse_coo_tensor(
        torch.stack([rows[keep], cols[keep].to(rows.dtype)]), values[keep],
        size=(len(cols), int(n_cols)), check_invariants=False,
    )
    return matrix.coalesce()


_PRIME = 2_147_483_647  # 2**31 - 1
_BASE = 1_000_003
