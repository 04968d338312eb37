"""Integrated gradients of a SequenceNet (or SequenceEnsemble) over its
per-event inputs (pure torch).

The attributions of one sequence are integrated along the straight path from
a baseline to the input, in every per-event input at once:

- each categorical channel's **embedding vectors** (baseline: the zero
  vector, which is also the padding id's embedding);
- the (scaled) **numeric values** (baseline: 0, the training mean after the
  vectorizer's standardization);
- the **wide path's per-event terms**: the wide path adds one weight per id
  to the outputs (and per hashed run of ids, split equally among the run's
  events); along the path each event's term is scaled like its embedding
  (baseline: no term). Without this the linear part of the model, often
  most of it, would get no attribution at all.

The network itself runs unchanged (forward hooks scale what its embedding
tables and wide path return), so its pooling, padding masks and ensemble
combination are those of a prediction. The path integral uses Gauss-Legendre
nodes; the completeness of the result (attributions summing to
``f(input) - f(baseline)``) is checked by the tests within a tolerance.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ._pooling import padding_mask

__all__ = ["gauss_legendre", "integrated_gradients", "wide_event_terms"]


def gauss_legendre(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights of the ``n``-point Gauss-Legendre rule on [0, 1].

    Exact for polynomials of degree up to ``2n - 1`` (Golub-Welsch: the
    eigenvalues of the Jacobi matrix, in float64).

    Parameters
    ----------
    n : int
        Number of nodes (1 or more).

    Returns
    -------
    nodes, weights : torch.Tensor of shape (n,), float64
        The weights sum to 1.

    Examples
    --------
    >>> nodes, weights = gauss_legendre(3)
    >>> round(float((weights * nodes**5).sum()), 12)  # the integral of x**5
    0.166666666667
    """
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n!r}.")
    k = torch.arange(1, int(n), dtype=torch.float64)
    beta = k / torch.sqrt(4 * k**2 - 1)
    jacobi = torch.diag(beta, 1) + torch.diag(beta, -1)
    nodes, vectors = torch.linalg.eigh(jacobi)
    weights = vectors[0] ** 2  # sums to 1 (the rule on [-1, 1] weighs 2)
    return (nodes + 1) / 2, weights


def wide_event_terms(wide: nn.Module, categorical: torch.Tensor,
                     lengths: torch.Tensor) -> torch.Tensor:
    """Each event's share of a :class:`WideEvents` path's id terms.

    Parameters
    ----------
    wide : WideEvents
        The wide path.
    categorical : torch.Tensor of shape (batch, T, n_categorical)
        Right-padded ids.
    lengths : torch.Tensor of shape (batch,)
        True lengths.

    Returns
    -------
    torch.Tensor of shape (batch, T, n_categorical, n_outputs)
        The weight of each event's id, plus ``1/k`` of the weight of every
        run of ``k`` ids (hashed n-gram) that holds the event, divided by
        ``sqrt(length)``; zero at padding. Summed over the events and
        channels, the wide path's output without its numeric summaries.

    Examples
    --------
    >>> import torch
    >>> from seqestimators.nn import WideEvents
    >>> wide = WideEvents([4], n_outputs=1)
    >>> with torch.no_grad():
    ...     _ = wide.weights[0].copy_(torch.tensor([[0.0], [1.0], [2.0], [3.0]]))
    >>> cat, lengths = torch.tensor([[[2], [3], [0]]]), torch.tensor([2])
    >>> terms = wide_event_terms(wide, cat, lengths)
    >>> terms[0, :, 0, 0].tolist() == [2 / 2**0.5, 3 / 2**0.5, 0.0]
    True
    >>> torch.allclose(terms.sum(dim=(1, 2)), wide(cat, lengths))
    True
    """
    T = categorical.shape[1]
    mask = padding_mask(lengths, T)
    ids = categorical.masked_fill(~mask.unsqueeze(-1), 0)
    parts = []
    for i, w in enumerate(wide.weights):
        w = torch.cat([torch.zeros_like(w[:1]), w[1:]])  # padding reads zero
        parts.append(nn.functional.embedding(ids[..., i], w))
    terms = torch.stack(parts, dim=2)
    if wide.ngram_weights is not None:
        runs = [(c, k) for c in wide.ngram_channels
                for k in range(2, min(wide.ngrams, T) + 1)]
        for (c, k), (code, valid) in zip(runs, wide._ngram_codes(ids, lengths)):
            rows = nn.functional.embedding(code, wide.ngram_weights)
            share = rows * valid.unsqueeze(-1).to(rows.dtype) / k
            for j in range(k):
                terms[:, j : T - k + 1 + j, c] += share
    scale = lengths.clamp(min=1).to(terms.dtype).sqrt()
    return terms / scale.view(-1, 1, 1, 1)


#: variance added under the square root of the smooth std: a channel that is
#: constant within a sequence has a std of zero, where the std has no
#: derivative (and float32 rounding makes its gradient noise)
_STD_EPS = 1e-10


def _smooth_numeric_part(wide, numeric, lengths) -> torch.Tensor | None:
    """The wide path's numeric-summary term with ``std = sqrt(var + eps)``
    (two-pass variance), for its gradient; None without numeric weights, or
    when the summaries are not the ones this mirrors (mean, std, min, max,
    last of each channel, then the log length)."""
    weights = getattr(wide, "numeric_weights", None)
    if weights is None or numeric is None or numeric.shape[-1] == 0:
        return None
    if weights.shape[0] != 5 * numeric.shape[-1] + 1:
        return None
    T = numeric.shape[1]
    mask = padding_mask(lengths, T).unsqueeze(-1)
    n = lengths.clamp(min=1).to(numeric.dtype).view(-1, 1)
    x = numeric.masked_fill(~mask, 0.0)
    mean = x.sum(1) / n
    dev = (x - mean.unsqueeze(1)).masked_fill(~mask, 0.0)
    std = torch.sqrt(dev.square().sum(1) / n + _STD_EPS) - _STD_EPS**0.5
    empty = (lengths == 0).unsqueeze(1)
    low = numeric.masked_fill(~mask, float("inf")).amin(1).masked_fill(empty, 0.0)
    high = numeric.masked_fill(~mask, float("-inf")).amax(1).masked_fill(empty, 0.0)
    last_idx = (lengths.clamp(min=1) - 1).view(-1, 1, 1).expand(-1, 1, x.shape[2])
    last = x.gather(1, last_idx.to(torch.int64)).squeeze(1)
    size = torch.log1p(lengths.to(numeric.dtype)).unsqueeze(1)
    z = torch.cat([mean, std, low, high, last, size], dim=1)
    z = (z - wide.summary_center) / wide.summary_scale
    return (z.double() @ weights.double()).to(numeric.dtype)


class _PathHooks:
    """Forward hooks that put a network's per-event inputs on the path:
    every embedding table returns ``alpha * embedding`` and every wide path
    ``alpha * (its id terms)`` (plus its numeric part), as leaves whose
    gradients the integral reads."""

    def __init__(self, net: nn.Module, categorical, lengths, alpha):
        self.alpha = alpha
        self.embeddings = []  # (channel, input value, point) per table
        self.wide = []  # (input value, point) per wide path
        self.handles = []
        for member in getattr(net, "members", [net]):
            for i, table in enumerate(member.inputs.embeddings):
                self.handles.append(table.register_forward_hook(self._embedding(i)))
            if member.wide is not None:
                with torch.no_grad():
                    terms = wide_event_terms(member.wide, categorical, lengths)
                self.handles.append(member.wide.register_forward_hook(
                    self._wide(terms), with_kwargs=True
                ))

    def _embedding(self, channel: int):
        def hook(module, inputs, output):
            value = output.detach()
            point = (self.alpha.view(-1, 1, 1) * value).requires_grad_()
            self.embeddings.append((channel, value, point))
            return point

        return hook

    def _wide(self, terms: torch.Tensor):
        def hook(module, args, kwargs, output):
            point = (self.alpha.view(-1, 1, 1, 1) * terms).requires_grad_()
            self.wide.append((terms, point))
            numeric = args[2] if len(args) > 2 else kwargs.get("numeric")
            lengths = args[1] if len(args) > 1 else kwargs["lengths"]
            smooth = _smooth_numeric_part(module, numeric, lengths)
            if smooth is None:  # the numeric part's own gradient
                return output - terms.sum(dim=(1, 2)) + point.sum(dim=(1, 2))
            # the values of the wide path, the gradients of the id terms on
            # the path and of the numeric part with a smooth std
            rest = (output - terms.sum(dim=(1, 2)) - smooth).detach()
            return rest + point.sum(dim=(1, 2)) + smooth

        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def integrated_gradients(
    net: nn.Module,
    categorical: torch.Tensor,
    numeric: torch.Tensor,
    lengths: torch.Tensor,
    output: Callable[[torch.Tensor], torch.Tensor],
    *,
    n_steps: int = 32,
) -> dict[str, torch.Tensor]:
    """Per-event integrated gradients of one output of a sequence network.

    Parameters
    ----------
    net : SequenceNet or SequenceEnsemble
        The network, in evaluation mode.
    categorical : torch.Tensor of shape (batch, T, n_categorical)
        Right-padded ids.
    numeric : torch.Tensor of shape (batch, T, n_numeric)
        Right-padded numeric values.
    lengths : torch.Tensor of shape (batch,)
        True lengths.
    output : callable
        Maps the network's outputs ``(rows, n_outputs)`` and the index of
        each row's sequence in the batch ``(rows,)`` to the explained value
        ``(rows,)`` (e.g. one class's log-odds).
    n_steps : int, default=32
        Gauss-Legendre nodes of the path integral; the network runs on
        ``(n_steps + 2) * batch`` rows at once (the input and the baseline
        are the two extra).

    Returns
    -------
    dict of torch.Tensor
        ``"categorical"`` ``(batch, T, n_categorical)`` and ``"numeric"``
        ``(batch, T, n_numeric)``: the attribution of each event's value in
        each channel (zero at padding); ``"output"`` and ``"baseline"``
        ``(batch,)``: the explained value at the input and at the baseline.
        The attributions of a sequence sum to ``output - baseline`` up to
        the error of the integral.

    Examples
    --------
    >>> import torch
    >>> from seqestimators.nn import SequenceNet
    >>> _ = torch.manual_seed(0)
    >>> net = SequenceNet(cardinalities=[6], embedding_dims=[4], n_numeric=1,
    ...                   numeric_dim=2, hidden_size=8, num_layers=1,
    ...                   dropout=0.0, pooling="mean", n_outputs=1).eval()
    >>> cat, num = torch.randint(1, 6, (2, 5, 1)), torch.randn(2, 5, 1)
    >>> res = integrated_gradients(net, cat, num, torch.tensor([5, 3]),
    ...                            lambda out, row: out[:, 0])
    >>> res["categorical"].shape
    torch.Size([2, 5, 1])
    >>> total = res["categorical"].sum(dim=(1, 2)) + res["numeric"].sum(dim=(1, 2))
    >>> bool(torch.allclose(total, res["output"] - res["baseline"], atol=1e-4))
    True
    """
    batch = len(lengths)
    nodes, weights = gauss_legendre(n_steps)
    zero_one = torch.tensor([0.0, 1.0], dtype=torch.float64)
    nodes = torch.cat([nodes, zero_one]).to(numeric.device, torch.float32)
    weights = torch.cat([weights, torch.zeros(2, dtype=torch.float64)])
    weights = weights.to(numeric.device, torch.float32)
    m = len(nodes)
    alpha = nodes.repeat_interleave(batch)  # row s * batch + b: node s
    cat = categorical.repeat(m, 1, 1)
    lens = lengths.repeat(m)
    num = (alpha.view(-1, 1, 1) * numeric.repeat(m, 1, 1)).requires_grad_()
    rows = torch.arange(batch, device=lengths.device).repeat(m)
    hooks = _PathHooks(net, cat, lens, alpha)
    try:
        with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
            value = output(net(cat, num, lens), rows)
            leaves = [num] + [p for _, _, p in hooks.embeddings]
            leaves += [p for _, p in hooks.wide]
            grads = torch.autograd.grad(
                (value * weights.repeat_interleave(batch)).sum(), leaves,
                allow_unused=True,
            )
    finally:
        hooks.remove()
    return _collect(hooks, grads, numeric, categorical.shape[2], m, value.detach())


def _collect(hooks, grads, numeric, n_categorical, m, value) -> dict:
    """Sum ``input * integrated gradient`` per event and channel."""
    batch, T = numeric.shape[:2]

    def integral(grad, like):
        if grad is None:
            return torch.zeros_like(like)
        # a std of zero (a constant numeric channel in the wide path's
        # summaries) has no derivative: 0 along the path, where it stays 0
        grad = torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)
        return grad.reshape(m, *like.shape).sum(dim=0)

    num_attr = numeric * integral(grads[0], numeric)
    cat_attr = numeric.new_zeros(batch, T, n_categorical)
    for (channel, x, _), grad in zip(hooks.embeddings, grads[1:]):
        x = x[:batch]
        cat_attr[..., channel] += (x * integral(grad, x)).sum(dim=-1)
    for (terms, _), grad in zip(hooks.wide, grads[1 + len(hooks.embeddings):]):
        t = terms[:batch]
        cat_attr += (t * integral(grad, t)).sum(dim=-1)
    value = value.reshape(m, batch)
    return {
        "categorical": cat_attr.detach(),
        "numeric": num_attr.detach(),
        "output": value[-1],
        "baseline": value[-2],
    }
