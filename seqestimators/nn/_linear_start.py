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

import math
import warnings
from collections.abc import Callable, Iterable

import torch
from torch import nn

__all__ = ["fit_linear_start"]


#: penalties tried by :func:`fit_linear_start` without ``l2``, strong to weak
#: (on the mean loss: 1.0 is ``PoissonRegressor()``'s default, 1 / n that of
#: ``LogisticRegression(C=1)`` on n samples). The first, ``inf``, leaves the
#: group out (its weights held at exactly 0): where no group helps on
#: held-out rows, the start is the intercept alone. A finite penalty, however
#: strong, leaves weights that still rank the sequences, and on data without
#: signal the ranking learned on some rows is reversed on the others (their
#: class means differ in opposite directions): ROC AUC below 0.5.
L2_PATH = (math.inf, 1.0, 0.1, 0.01, 1e-3, 1e-4)


def fit_linear_start(
    net: nn.Module,
    batches: Callable[[], Iterable[tuple[dict, torch.Tensor, float]]],
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    valid_batches: Callable[[], Iterable[tuple[dict, torch.Tensor, float]]]
    | None = None,
    l2_path: tuple[float, ...] = L2_PATH,
    max_iter: int = 100,
    per_group: bool = True,
    cv: int = 0,
    l2: dict | None = None,
    seed: int = 0,
    row_loss: Callable | None = None,
) -> dict:
    """Fit ``net``'s linear part to convergence, then freeze it.

    The numeric summaries are first standardized with the training
    sequences' mean and std (kept in the wide path's buffers).

    With ``valid_batches`` the penalty is chosen on them: the linear model
    is fitted for each penalty of ``l2_path`` (strong to weak, each fit
    starting from the previous solution, stopping once the validation loss
    rose twice) and the best is kept; then, with ``per_group``, each group
    of weights (a categorical channel's ids, the n-grams, the numeric
    summaries; :meth:`WideEvents.penalty_groups`) in turn tries the
    neighbouring penalties of the path (and further in a direction while
    that lowers the validation loss), the others held: 13,000 product ids
    on 400 users want a strong penalty, their numeric summaries a weak one.
    Last, when ``l2_path`` holds ``inf`` (as :data:`L2_PATH`), each group in
    turn is left out (weights exactly 0) unless that makes the validation
    loss worse by more than one standard error of the paired per-row
    differences: a group whose help is within noise is no help, and where
    none helps the start is the intercept alone.
    With ``cv`` folds the penalties are chosen the same way on the summed
    held-out loss of ``cv`` fits, each on the other folds of the training
    sequences (their rows assigned at random with ``seed``), and the model
    is then fitted on all of them (with the penalty on the summed loss that
    was chosen, as ``LogisticRegressionCV``'s ``C``): a few dozen
    validation sequences choose a penalty by noise, every training
    sequence less so. ``valid_batches`` then only give the returned
    validation loss. Given ``l2`` (by group) is used as is; otherwise,
    with neither ``cv`` nor ``valid_batches``, the wide path's own ``l2``
    for every group.

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
        Penalties (``l2 / 2 * ||w||**2`` on the mean loss) tried, strong to
        weak; ``inf`` leaves a group out.
    max_iter : int, default=100
        L-BFGS iterations at most, per penalty.
    per_group : bool, default=True
        Refine the penalty group by group (when choosing penalties).
    cv : int, default=0
        Choose the penalties by ``cv``-fold cross-validation on the
        training sequences (0: on ``valid_batches``, if any).
    l2 : dict or None, default=None
        The penalty of each group (``l2 / 2 * ||w||**2`` on the mean loss),
        e.g. the ``"l2"`` an earlier call returned: no choice is made.
    seed : int, default=0
        Seed of the cross-validation folds.
    row_loss : callable, default=None
        ``row_loss(output, target)``: each row's loss and its weight in the
        mean loss, ``(losses, weights)``, for the one-standard-error rule
        that leaves groups out; None: ``loss`` of each row alone (slow on
        many rows).

    Returns
    -------
    dict
        ``l2`` (the penalty of each group, by group name), ``valid_loss``
        (the validation loss, or None) and ``evaluations`` (objective
        evaluations in all); empty when the network has no wide path.

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
    {'ids_0': 0.01}
    >>> net.eval()(cat, num, lengths).argmax(1).tolist()
    [0, 1]
    """
    members = list(getattr(net, "members", [net]))
    first = members[0]
    if first.wide is None:
        return {}
    train = _designs(first.wide, batches)
    valid = None if valid_batches is None else _designs(first.wide, valid_batches)
    if first.wide.numeric_weights is not None:
        first.wide.set_summary_scaling(torch.cat([d["numeric"] for d, _, _ in train]))
    fit = _Fit(first, train, valid, loss, max_iter)
    fit.row_loss = row_loss or _single_row_losses(loss)
    path = tuple(float(v) for v in l2_path)
    if l2 is not None:
        result = fit.fixed(l2)
    elif int(cv) > 1:
        result = _cross_validated(fit, int(cv), seed, path, per_group)
    elif valid is None:
        result = fit.fixed(dict.fromkeys(fit.groups, first.wide.l2))
    else:
        result = fit.path(path, per_group)
    result["evaluations"] = fit.evaluations
    fit.write(first)
    _freeze(members)
    return result


def _designs(wide, batches) -> list:
    """``(design, target, share)`` of each batch: every event is read once."""
    with torch.no_grad():
        return [(wide.design(inputs["categorical"], inputs["lengths"],
                             inputs["numeric"]), target, share)
                for inputs, target, share in batches()]


def _compact(train: list, valid: list | None, group: str):
    """The columns of the sparse ``group`` used in the training designs,
    and the designs with their columns renumbered to those (entries of
    validation columns unseen in training dropped: their weights are 0).

    A hashed n-gram table of 2**18 rows, of which a few thousand occur,
    is fitted as a few thousand weights."""
    used = torch.unique(torch.cat([d[group].indices()[1] for d, _, _ in train]))
    index = torch.full((int(train[0][0][group].shape[1]),), -1, dtype=torch.int64)
    index[used] = torch.arange(len(used))
    for designs in (train, valid or []):
        for design, _, _ in designs:
            x = design[group]
            rows, cols = x.indices()
            keep = index[cols] >= 0
            design[group] = torch.sparse_coo_tensor(
                torch.stack([rows[keep], index[cols[keep]]]), x.values()[keep],
                size=(x.shape[0], len(used)), check_invariants=False,
            ).coalesce()
    return used


class _Fit:
    """The linear part of ``module`` fitted for penalties by group, on the
    batches' designs (lists of ``(design, target, share)``), with weights
    of its own (compact columns), written into the module at the end."""

    def __init__(self, module, train, valid, loss, max_iter):
        self.train, self.valid, self.loss, self.max_iter = train, valid, loss, max_iter
        self._csr = {}  # see _sparse_matmul
        if module is None:  # a fold of another _Fit: see folds()
            return
        wide = module.wide
        self.groups = list(wide.penalty_groups())
        n_out = module.head.bias.shape[0]
        self.columns, self.weights = {}, {}
        for group in self.groups:
            if group == "numeric":
                for design, _, _ in [*train, *(valid or [])]:
                    design[group] = (
                        (design[group] - wide.summary_center) / wide.summary_scale
                    )
                n = wide.numeric_weights.shape[0]
            else:
                self.columns[group] = _compact(train, valid, group)
                n = len(self.columns[group])
            self.weights[group] = torch.zeros(n, n_out, requires_grad=True)
        self.bias = module.head.bias.detach().clone().requires_grad_(True)
        self.evaluations = 0

    def folds(self, k: int, seed: int) -> list[_Fit]:
        """``k`` fits on the training designs' rows split at random into
        ``k`` folds, each on the others, held out on its own (same columns,
        weights starting at this fit's)."""
        generator = torch.Generator().manual_seed(int(seed))
        parts = [([], []) for _ in range(k)]
        for design, target, share in self.train:
            n = _n_rows(design)
            fold = torch.randperm(n, generator=generator) % k
            for i, (fit_on, held_out) in enumerate(parts):
                for rows, into in ((fold != i, fit_on), (fold == i, held_out)):
                    rows = torch.nonzero(rows).squeeze(1)
                    if len(rows):
                        into.append(_rows(design, target, share * len(rows) / n, rows))
        fits = []
        for fit_on, held_out in parts:
            fold = _Fit(None, _normalized(fit_on), _normalized(held_out),
                        self.loss, self.max_iter)
            fold.groups, fold.evaluations = self.groups, 0
            fold.row_loss = self.row_loss
            fold.bias = self.bias.detach().clone().requires_grad_(True)
            fold.weights = {g: w.detach().clone().requires_grad_(True)
                            for g, w in self.weights.items()}
            fits.append(fold)
        return fits

    def fixed(self, l2s: dict) -> dict:
        """Fit with the given penalties; their validation loss (or None)."""
        self.minimize(l2s)
        value = None if self.valid is None else self.mean_loss(self.valid)
        return {"l2": dict(l2s), "valid_loss": value}

    def output(self, design) -> torch.Tensor:
        out = self.bias
        for group, x in design.items():
            w = self.weights[group]
            out = out + (x @ w if group == "numeric" else self._sparse_matmul(x, w))
        return out

    def _sparse_matmul(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """``x @ w`` for a sparse COO design block ``x``, through CSR copies
        of ``x`` and of its transpose made once per block (kept with the
        block, so that its ``id`` is not reused): the gradient of
        ``torch.sparse.mm`` with a COO matrix was 13x slower than a CSR
        product with the transpose, and most of the linear start's time."""
        pair = self._csr.get(id(x))
        if pair is None:
            with warnings.catch_warnings():  # "CSR support is in beta state"
                warnings.filterwarnings("ignore", message="Sparse CSR tensor")
                pair = (x, x.to_sparse_csr(), x.t().coalesce().to_sparse_csr())
            self._csr[id(x)] = pair
        return _CSRMatmul.apply(w, pair[1], pair[2])

    def state(self) -> dict:
        return {"bias": self.bias.detach().clone(),
                **{g: w.detach().clone() for g, w in self.weights.items()}}

    def load(self, state: dict) -> None:
        with torch.no_grad():
            self.bias.copy_(state["bias"])
            for g, w in self.weights.items():
                w.copy_(state[g])

    def mean_loss(self, designs) -> float:
        with torch.no_grad():
            return float(sum(float(self.loss(self.output(d), target)) * f
                             for d, target, f in designs))

    def row_losses(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per validation row: its loss and its weight in the mean loss."""
        losses, weights = [], []
        with torch.no_grad():
            for design, target, share in self.valid:
                loss, weight = self.row_loss(self.output(design), target)
                losses.append(loss.double())
                weights.append(weight.double() * share / weight.sum().clamp_min(1e-300))
        return torch.cat(losses), torch.cat(weights)

    def minimize(self, l2s: dict) -> None:
        self.evaluations += _minimize(self, l2s)

    def try_penalties(self, l2s: dict, best: dict | None) -> dict:
        """Fit for ``l2s`` from the current weights; the better of that and
        ``best`` (validation loss), the weights left at the better one."""
        self.minimize(l2s)
        value = self.mean_loss(self.valid)
        if best is None or value < best["valid_loss"]:
            return {"l2": dict(l2s), "valid_loss": value, "state": self.state()}
        self.load(best["state"])
        return best

    def path(self, l2_path: tuple, per_group: bool) -> dict:
        """One penalty for all along ``l2_path`` (strong to weak, stopping
        once it got worse twice), then each group in turn along the path."""
        best, worse = None, 0
        for l2 in l2_path:
            previous = best
            best = self.try_penalties(dict.fromkeys(self.groups, l2), best)
            worse = worse + 1 if best is previous else 0
            if worse == 2:
                break
        for group in self.groups if per_group and len(self.groups) > 1 else ():
            # a step stronger and a step weaker on the path, further while
            # it helps
            at = l2_path.index(best["l2"][group])
            for step in (-1, 1):
                i = at + step
                while 0 <= i < len(l2_path):
                    previous = best
                    best = self.try_penalties({**best["l2"], group: l2_path[i]}, best)
                    if best is previous:
                        break
                    i += step
        if math.inf in l2_path:
            best = self.leave_out(best)
        best.pop("state")
        return best

    def leave_out(self, best: dict) -> dict:
        """Each group in turn left out (penalty ``inf``) unless that loses
        to ``best`` by more than one standard error of the paired
        per-row validation losses (the one-standard-error rule: a group
        whose help is within noise is no help; on data without signal its
        weights, however small, still rank the rows, on held-out rows by
        chance and often the wrong way round: ROC AUC below 0.5)."""
        for group in self.groups:
            if math.isinf(best["l2"][group]):
                continue
            kept = self.row_losses()
            self.minimize({**best["l2"], group: math.inf})
            if better_by_one_se(kept, self.row_losses()):
                self.load(best["state"])
            else:
                best = {"l2": {**best["l2"], group: math.inf},
                        "valid_loss": self.mean_loss(self.valid),
                        "state": self.state()}
        return best

    def write(self, module) -> None:
        """Copy the fitted weights into ``module``'s wide path and bias."""
        wide = module.wide
        tables = {f"ids_{i}": w for i, w in enumerate(wide.weights)}
        tables["ngrams"] = wide.ngram_weights
        tables["numeric"] = wide.numeric_weights
        with torch.no_grad():
            module.head.bias.copy_(self.bias)
            for group, w in self.weights.items():
                table = tables[group]
                if group == "numeric":
                    table.copy_(w)
                else:
                    table.zero_()
                    table[self.columns[group]] = w


class _CSRMatmul(torch.autograd.Function):
    """``x @ w`` with the gradient ``x.T @ grad`` (``x`` and ``x.T`` CSR
    matrices given; only ``w`` gets a gradient)."""

    @staticmethod
    def forward(ctx, w, x, x_t):
        ctx.x_t = x_t
        return x @ w

    @staticmethod
    def backward(ctx, grad):
        return ctx.x_t @ grad, None, None


class _Folds(_Fit):
    """``k`` fold fits chosen between as one: the validation loss is the
    sum of their held-out losses, the state that of every fold."""

    def __init__(self, folds: list[_Fit]):
        self.members, self.groups, self.valid = folds, folds[0].groups, True

    @property
    def evaluations(self) -> int:
        return sum(f.evaluations for f in self.members)

    def minimize(self, l2s: dict) -> None:
        for fold in self.members:
            fold.minimize(l2s)

    def mean_loss(self, designs) -> float:
        # shares of a fold's held-out rows sum to 1: weigh by its rows
        total = sum(_rows_of(f.valid) for f in self.members)
        return sum(f.mean_loss(f.valid) * _rows_of(f.valid) / total
                   for f in self.members)

    def row_losses(self) -> tuple[torch.Tensor, torch.Tensor]:
        total = sum(_rows_of(f.valid) for f in self.members)
        parts = [(f.row_losses(), _rows_of(f.valid) / total) for f in self.members]
        return (torch.cat([loss for (loss, _), _ in parts]),
                torch.cat([weight * share for (_, weight), share in parts]))

    def state(self) -> list:
        return [f.state() for f in self.members]

    def load(self, state: list) -> None:
        for fold, s in zip(self.members, state, strict=True):
            fold.load(s)


def _cross_validated(fit: _Fit, k: int, seed: int, path: tuple,
                     per_group: bool) -> dict:
    """Penalties chosen on ``k`` folds of ``fit``'s training designs, then
    ``fit`` fitted with them (the same penalty on the summed loss: the
    folds fit ``(k - 1) / k`` of the rows)."""
    folds = _Folds(fit.folds(k, seed))
    chosen = folds.path(path, per_group)
    scale = (k - 1) / k
    result = fit.fixed({g: v * scale for g, v in chosen["l2"].items()})
    fit.evaluations += folds.evaluations
    result["cv_loss"] = chosen["valid_loss"]
    return result


def better_by_one_se(first, second) -> bool:
    """Whether the per-row losses ``first`` are lower than ``second`` by
    more than one standard error of their weighted paired differences
    (each ``(losses, weights)`` over the same rows, tensors or arrays).

    Examples
    --------
    >>> import torch
    >>> w = torch.ones(4)
    >>> better_by_one_se((torch.tensor([0.0, 0.1, 0.0, 0.1]), w),
    ...                  (torch.tensor([1.0, 1.0, 1.2, 0.9]), w))
    True
    """
    (a, weight), (b, _) = first, second
    a, b, weight = (torch.as_tensor(v, dtype=torch.float64) for v in (a, b, weight))
    total = weight.sum()
    if total <= 0 or len(a) < 2:
        return False
    d = a - b
    mean = (weight * d).sum() / total
    var = (weight * (d - mean) ** 2).sum() / total
    n_eff = total**2 / weight.square().sum()
    return bool(mean < -(var / n_eff).sqrt())


def _single_row_losses(loss):
    """A ``row_loss`` from a mean ``loss``: each row's loss on its own
    (weight 1, or its sample weight for a ``(targets, weights)`` target)."""

    def row_loss(output, target):
        weight = (target[1] if isinstance(target, tuple)
                  else torch.ones(len(output), device=output.device))
        losses = [loss(output[i : i + 1], _rows_target(target, i))
                  for i in range(len(output))]
        return torch.stack([torch.as_tensor(v) for v in losses]), weight.double()

    return row_loss


def _rows_target(target, i):
    if isinstance(target, tuple):
        return tuple(t[i : i + 1] for t in target)
    return target[i : i + 1]


def _n_rows(design: dict) -> int:
    return int(next(iter(design.values())).shape[0])


def _rows_of(designs: list) -> int:
    return sum(_n_rows(d) for d, _, _ in designs)


def _rows(design: dict, target, share: float, rows: torch.Tensor) -> tuple:
    """``(design, target, share)`` of the given rows of a batch."""
    part = {}
    for name, x in design.items():
        part[name] = (x.index_select(0, rows).coalesce() if x.is_sparse
                      else x[rows])
    if isinstance(target, tuple):  # (targets, sample weights)
        target = tuple(t[rows] for t in target)
    else:
        target = target[rows]
    return part, target, share


def _normalized(designs: list) -> list:
    """The designs with their shares rescaled to sum to 1 (a mean loss)."""
    total = sum(share for _, _, share in designs) or 1.0
    return [(d, t, share / total) for d, t, share in designs]


def _freeze(members) -> None:
    """Freeze the first member's linear part, copy it to the others, zero
    every head's weights (the network starts as the linear model)."""
    first = members[0]
    with torch.no_grad():
        first.wide.frozen.fill_(1.0)
        state = {k: v for k, v in first.state_dict().items()
                 if k.startswith("wide.") or k == "head.bias"}
        for member in members:
            member.load_state_dict(state, strict=False)
            member.head.weight.zero_()


#: floats L-BFGS may keep in its history (two vectors per step): 1 GiB
LBFGS_HISTORY_FLOATS = 2**28


def lbfgs_history(n_weights: int) -> int:
    """L-BFGS steps remembered for ``n_weights`` weights: 20, fewer where
    20 would hold more than ``LBFGS_HISTORY_FLOATS`` floats (9,000 ids x
    9,000 classes would need 13 GB), at least 3.

    Examples
    --------
    >>> lbfgs_history(10_000), lbfgs_history(81_000_000)
    (20, 3)
    """
    return int(min(20, max(3, LBFGS_HISTORY_FLOATS // max(1, 2 * int(n_weights)))))


def _minimize(fit: _Fit, l2s: dict) -> int:
    """Full-batch L-BFGS on the mean loss plus, for each group of weights,
    ``l2 / 2 * ||weights||**2`` with the group's ``l2``; a group whose
    ``l2`` is ``inf`` is left out (its weights set to 0 and not fitted)."""
    with torch.no_grad():
        for g, w in fit.weights.items():
            if math.isinf(l2s[g]):
                w.zero_()
    params = [fit.bias, *(w for g, w in fit.weights.items() if not math.isinf(l2s[g]))]
    optimizer = torch.optim.LBFGS(
        params, lr=1.0, max_iter=int(fit.max_iter),
        history_size=lbfgs_history(sum(p.numel() for p in params)),
        tolerance_grad=1e-5, tolerance_change=1e-8, line_search_fn="strong_wolfe",
    )
    count = [0]

    def closure():
        optimizer.zero_grad()
        count[0] += 1
        total = torch.zeros(())
        for design, target, fraction in fit.train:
            value = fit.loss(fit.output(design), target) * float(fraction)
            value.backward()
            total = total + value.detach().cpu()
        penalty = sum(0.5 * l2s[g] * w.square().sum()
                      for g, w in fit.weights.items() if 0 < l2s[g] < math.inf)
        if torch.is_tensor(penalty):
            penalty.backward()
            total = total + penalty.detach().cpu()
        return total

    with torch.enable_grad():
        optimizer.step(closure)
    return count[0]
