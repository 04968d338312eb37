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
from ._wide import numeric_summaries

__all__ = ["gauss_legendre", "integrated_gradients", "wide_event_terms"]


#: nodes per panel of the composite Gauss-Legendre rule
PANEL_NODES = 8


def gauss_legendre(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights of a composite Gauss-Legendre rule on [0, 1].

    ``ceil(n / 8)`` equal panels of 8 nodes each (one panel of ``n`` nodes
    below 8): high order where the integrand is smooth, and more panels to
    follow the steep transitions of a saturating network. Each panel is
    exact for polynomials of degree up to 15 (Golub-Welsch: the eigenvalues
    of the Jacobi matrix, in float64).

    Parameters
    ----------
    n : int
        Number of nodes asked for (1 or more); rounded up to whole panels.

    Returns
    -------
    nodes, weights : torch.Tensor of shape (n_nodes,), float64
        The weights sum to 1.

    Examples
    --------
    >>> nodes, weights = gauss_legendre(3)
    >>> round(float((weights * nodes**5).sum()), 12)  # the integral of x**5
    0.166666666667
    >>> len(gauss_legendre(20)[0])  # 3 panels of 8
    24
    """
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n!r}.")
    q = min(int(n), PANEL_NODES)
    panels = -(-int(n) // q)
    k = torch.arange(1, q, dtype=torch.float64)
    beta = k / torch.sqrt(4 * k**2 - 1)
    jacobi = torch.diag(beta, 1) + torch.diag(beta, -1)
    nodes, vectors = torch.linalg.eigh(jacobi)
    weights = vectors[0] ** 2  # sums to 1 (the rule on [-1, 1] weighs 2)
    starts = torch.arange(panels, dtype=torch.float64).unsqueeze(1)
    nodes = (starts + (nodes + 1) / 2) / panels
    return nodes.flatten(), (weights / panels).repeat(panels)


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
        run of ``k`` ids (hashed n-gram) that holds the event, each times
        its share of its count (``WideEvents.event_factor``: 1, or
        ``log1p(c) / c`` for log1p counts), divided by ``sqrt(length)``;
        zero at padding. Summed over the events and
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
    >>> [round(v, 4) for v in terms[0, :, 0, 0].tolist()]  # 2 and 3 / sqrt(2)
    [1.4142, 2.1213, 0.0]
    >>> torch.allclose(terms.sum(dim=(1, 2)), wide(cat, lengths))
    True
    """
    T = categorical.shape[1]
    mask = padding_mask(lengths, T)
    ids = categorical.masked_fill(~mask.unsqueeze(-1), 0)
    parts = []
    for i, w in enumerate(wide.weights):
        w = torch.cat([torch.zeros_like(w[:1]), w[1:]])  # padding reads zero
        col = ids[..., i]
        parts.append(nn.functional.embedding(col, w) * wide.event_factor(col, col > 0))
    if not parts:  # a wide path of numeric summaries only
        n_outputs = wide.numeric_weights.shape[1]
        return categorical.new_zeros((*ids.shape, n_outputs), dtype=torch.float32)
    terms = torch.stack(parts, dim=2)
    runs = None if wide.ngram_weights is None else wide.ngram_runs(ids, lengths)
    if runs is not None:
        code, valid = runs
        shares = nn.functional.embedding(code, wide.ngram_weights)
        shares = shares * wide.event_factor(code, valid)
        start = 0
        for c in wide.ngram_channels:
            for k in range(2, min(wide.ngrams, T) + 1):
                share = shares[:, start : start + T - k + 1] / k
                start += T - k + 1
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
    z = numeric_summaries(numeric, lengths, std_eps=_STD_EPS)
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
    output: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    n_steps: int = 32,
    adaptive: bool = True,
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
        Nodes of the path integral (composite Gauss-Legendre, panels of 8);
        the network runs on ``(n_steps + 2) * batch`` rows at once with
        gradients (the input and the baseline are the two extra).
    adaptive : bool, default=True
        Place each sequence's panels where its explained value changes, as
        read on a grid of ``2 * n_steps + 1`` points of the path (one pass
        without gradients): a saturating network moves from the baseline's
        output to the input's over a short stretch of the path, which
        equally spaced nodes step over. False: equal panels.

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
    if adaptive:
        nodes, weights = _adaptive_rule(
            net, (categorical, numeric, lengths), output, n_steps
        )
    else:
        nodes, weights = (v.unsqueeze(1).expand(-1, batch)
                          for v in gauss_legendre(n_steps))
    ends = torch.tensor([[0.0], [1.0]], dtype=torch.float64).expand(-1, batch)
    nodes = torch.cat([nodes, ends]).to(numeric.device, torch.float32)
    weights = torch.cat([weights, torch.zeros_like(ends)])
    weights = weights.to(numeric.device, torch.float32)
    m = len(nodes)
    value, grads, hooks = _run_path(
        net, (categorical, numeric, lengths), output, nodes.flatten(),
        weights.flatten(),
    )
    return _collect(hooks, grads, numeric, categorical.shape[2], m, value)


def _run_path(net, batch_inputs, output, alpha, weights=None):
    """The explained value at the path points ``alpha`` (node-major: row
    ``s * batch + b`` is sequence ``b`` at ``alpha[s * batch + b]``), and,
    with ``weights``, the gradients of their weighted sum at the leaves."""
    categorical, numeric, lengths = batch_inputs
    batch = len(lengths)
    m = len(alpha) // batch
    cat = categorical.repeat(m, 1, 1)
    lens = lengths.repeat(m)
    num = (alpha.view(-1, 1, 1) * numeric.repeat(m, 1, 1)).requires_grad_()
    rows = torch.arange(batch, device=lengths.device).repeat(m)
    hooks = _PathHooks(net, cat, lens, alpha)
    try:
        grad_mode = torch.enable_grad() if weights is not None else torch.no_grad()
        with grad_mode, torch.backends.cudnn.flags(enabled=False):
            value = output(net(cat, num, lens), rows)
            if weights is None:
                return value.detach(), None, hooks
            leaves = [num] + [p for _, _, p in hooks.embeddings]
            leaves += [p for _, p in hooks.wide]
            grads = torch.autograd.grad(
                (value * weights).sum(), leaves, allow_unused=True
            )
    finally:
        hooks.remove()
    return value.detach(), grads, hooks


def _adaptive_rule(net, batch_inputs, output, n_steps: int):
    """Per sequence, composite Gauss-Legendre nodes and weights ``(m,
    batch)`` whose panels hold equal shares of the variation of the
    explained value along the path (plus a quarter of its mean, so that
    flat stretches keep some nodes). The variation is read without
    gradients on ``2 * n_steps`` equal intervals, the ``n_steps // 4``
    steepest of which are read again at 8 times the resolution."""
    lengths = batch_inputs[2]
    batch, grid = len(lengths), 2 * int(n_steps)
    coarse = torch.linspace(0.0, 1.0, grid + 1, dtype=torch.float64)
    coarse = coarse.unsqueeze(1).expand(-1, batch)
    values = _path_values(net, batch_inputs, output, coarse)
    steep = values.diff(dim=0).abs().topk(max(1, int(n_steps) // 4), dim=0).indices
    within = torch.arange(1, _REFINE, dtype=torch.float64) / (_REFINE * grid)
    fine = (coarse.gather(0, steep).unsqueeze(-1) + within)  # (k, batch, 7)
    fine = fine.permute(0, 2, 1).reshape(-1, batch)
    points = torch.cat([coarse, fine])
    values = torch.cat([values, _path_values(net, batch_inputs, output, fine)])
    points, order = points.sort(dim=0)
    values = values.gather(0, order)
    change = values.diff(dim=0).abs()
    change = change + 0.25 * change.mean(dim=0, keepdim=True) + 1e-12
    share = torch.cat([torch.zeros(1, batch, dtype=torch.float64),
                       change.cumsum(dim=0)])
    share = (share / share[-1]).T.contiguous()  # (batch, n_points), 0 to 1
    points = points.T.contiguous()
    base_nodes, base_weights = gauss_legendre(min(int(n_steps), PANEL_NODES))
    panels = -(-int(n_steps) // len(base_nodes))
    levels = torch.arange(1, panels, dtype=torch.float64) / panels
    levels = levels.expand(batch, -1).contiguous()
    hi = torch.searchsorted(share, levels).clamp(1, share.shape[1] - 1)
    lo_share, hi_share = share.gather(1, hi - 1), share.gather(1, hi)
    frac = (levels - lo_share) / (hi_share - lo_share).clamp_min(1e-300)
    lo_point, hi_point = points.gather(1, hi - 1), points.gather(1, hi)
    inner = lo_point + frac * (hi_point - lo_point)
    edges = torch.cat([torch.zeros(batch, 1, dtype=torch.float64), inner,
                       torch.ones(batch, 1, dtype=torch.float64)], dim=1)
    width = edges.diff(dim=1).unsqueeze(-1)  # (batch, panels, 1)
    nodes = edges[:, :-1].unsqueeze(-1) + width * base_nodes
    weights = width * base_weights
    return nodes.reshape(batch, -1).T, weights.reshape(batch, -1).T


#: resolution factor of the second reading of the steepest intervals
_REFINE = 8


def _path_values(net, batch_inputs, output, points: torch.Tensor) -> torch.Tensor:
    """The explained value at ``points`` ``(n_points, batch)`` of each
    sequence's path, float64 on the CPU (non-finite values read as 0)."""
    device = batch_inputs[2].device
    alpha = points.to(device, torch.float32).flatten()
    values, _, _ = _run_path(net, batch_inputs, output, alpha)
    values = values.double().cpu().reshape(points.shape)
    return torch.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)


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
