"""Randomness of a fit that never goes through process-wide random state.

Two fits in two Python threads with fixed seeds give the models that the same
fits give one after the other, and neither changes the caller's global torch
random state:

- **weights**: the module is built on the ``meta`` device (no random numbers
  are drawn), then materialized and initialized from a ``torch.Generator`` of
  the fit, with torch's default schemes (:func:`init_parameters`);
- **dropout** (``nn.Dropout`` and the dropout inside multi-layer
  ``nn.LSTM``/``nn.GRU``) has no generator argument in torch: it draws from
  the global generator of the device. Each training step of a model with
  dropout therefore runs under one module-level lock, with the fit's own
  generator state swapped into the global generator and the previous state
  put back afterwards (:func:`own_random_state`). Steps of concurrent fits
  with dropout take turns; steps without dropout (``dropout=0``), validation
  and prediction draw nothing and never take the lock. A caller's thread that
  draws torch random numbers *during* such a step would draw from the fit's
  state; its own state is restored afterwards.
- batch order and the validation split use numpy generators of the fit.
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager

import torch
from skorch import NeuralNet
from skorch.utils import to_tensor
from torch import nn

__all__ = [
    "SeededNet",
    "effective_weight",
    "init_parameters",
    "own_random_state",
    "weighted_loss",
]

_RNG_LOCK = threading.Lock()


def init_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """Initialize every parameter of ``module`` from ``generator``, with the
    schemes of torch's ``reset_parameters`` (Linear, Embedding, LSTM, GRU,
    LayerNorm). A module of ours with parameters of its own defines
    ``init_parameters(generator)`` and returns the parameters it set (the wide
    weights start at zero, for instance); they are not touched again."""
    done: set[int] = set()
    with torch.no_grad():
        for sub in module.modules():
            if hasattr(sub, "init_parameters"):
                done.update(id(p) for p in sub.init_parameters(generator))
            own = [p for p in sub.parameters(recurse=False) if id(p) not in done]
            if own:
                _init_standard(sub, generator)


def _init_standard(sub: nn.Module, generator: torch.Generator) -> None:
    if isinstance(sub, nn.Linear):
        nn.init.kaiming_uniform_(sub.weight, a=math.sqrt(5), generator=generator)
        if sub.bias is not None:
            bound = 1 / math.sqrt(sub.in_features) if sub.in_features else 0
            nn.init.uniform_(sub.bias, -bound, bound, generator=generator)
    elif isinstance(sub, nn.Embedding):
        nn.init.normal_(sub.weight, generator=generator)
        if sub.padding_idx is not None:
            sub.weight[sub.padding_idx].fill_(0)
    elif isinstance(sub, nn.RNNBase):
        bound = 1 / math.sqrt(sub.hidden_size)
        for weight in sub.parameters():
            nn.init.uniform_(weight, -bound, bound, generator=generator)
    elif isinstance(sub, nn.LayerNorm):
        nn.init.ones_(sub.weight)
        nn.init.zeros_(sub.bias)
    else:
        raise TypeError(
            f"init_parameters does not know how to initialize {type(sub).__name__}."
        )


def _generator(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


@contextmanager
def own_random_state(net: SeededNet):
    """Run a block with the net's dropout random state in the global
    generator of its device, under the module-level lock (see the module
    docstring)."""
    device = torch.device(net.device)
    cuda = device.type == "cuda"
    with _RNG_LOCK:
        if cuda:
            saved = torch.cuda.get_rng_state(device)
            torch.cuda.set_rng_state(net.dropout_rng_state_, device)
        else:
            saved = torch.get_rng_state()
            torch.set_rng_state(net.dropout_rng_state_)
        try:
            yield
        finally:
            if cuda:
                net.dropout_rng_state_ = torch.cuda.get_rng_state(device)
                torch.cuda.set_rng_state(saved, device)
            else:
                net.dropout_rng_state_ = torch.get_rng_state()
                torch.set_rng_state(saved)


class SeededNet(NeuralNet):
    """skorch's NeuralNet whose randomness comes from ``seed`` only.

    ``seed`` (set before ``initialize`` and by :meth:`reseed`) seeds the
    weights at initialization and the dropout of the following training
    steps. No global random state is read or changed."""

    def __init__(self, *args, seed=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.seed = seed

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        with torch.device("meta"):
            module = self.module(**kwargs)
        device = torch.device(self.device)
        module.to_empty(device=device)
        init_parameters(module, _generator(device, self.seed))
        self.module_ = module
        self.reseed(self.seed)
        return self

    def reseed(self, seed: int) -> None:
        """Start the dropout random stream of the next steps from ``seed``."""
        device = torch.device(self.device)
        self.dropout_rng_state_ = _generator(device, seed).get_state()
        self.uses_dropout_ = any(
            (isinstance(m, nn.Dropout) and m.p > 0)
            or (isinstance(m, nn.RNNBase) and m.dropout > 0)
            for m in self.module_.modules()
        )

    def train_step(self, batch, **fit_params):
        if not self.uses_dropout_:
            step = super().train_step(batch, **fit_params)
        else:
            with own_random_state(self):
                step = super().train_step(batch, **fit_params)
        members = n_members(self.module_)
        if members > 1:
            # the backward pass used the members' summed loss; the history
            # records their mean, comparable with one network's loss
            step = {**step, "loss": step["loss"] / members}
        return step

    def infer(self, x, **fit_params):
        """skorch's forward pass, without the batch's ``sample_weight``
        (an input of the loss, not of the module)."""
        if isinstance(x, dict) and "sample_weight" in x:
            x = {k: v for k, v in x.items() if k != "sample_weight"}
        data_parallel = getattr(self, "data_parallel_", None)
        if data_parallel is not None and self.module_.training:
            # a data-parallel fit's training step: through DDP (_distributed)
            return data_parallel(to_tensor(x, device=self.device), **fit_params)
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """skorch's loss; for an ensemble in training mode (outputs
        ``(n_members, batch, ...)``) the sum of the members' losses. A batch
        with ``sample_weight`` among its inputs ``X`` gets the weighted mean
        of :func:`weighted_loss`."""
        weight = X.get("sample_weight") if isinstance(X, dict) else None
        members = n_members(self.module_)
        if members > 1 and training:
            flat = y_pred.reshape(members * y_pred.shape[1], *y_pred.shape[2:])
            y_true = torch.as_tensor(y_true, device=flat.device)
            repeated = y_true.repeat(members, *([1] * (y_true.dim() - 1)))
            if weight is not None:
                weight = torch.as_tensor(weight).repeat(members)
            return members * self._loss(flat, repeated, weight, X, training)
        return self._loss(y_pred, y_true, weight, X, training)

    def _loss(self, y_pred, y_true, weight, X, training):
        if weight is None:
            return super().get_loss(y_pred, y_true, X, training)
        y_true = torch.as_tensor(y_true, device=y_pred.device)
        return weighted_loss(self.criterion_, y_pred, y_true, weight)


def weighted_loss(criterion, y_pred, y_true, weight) -> torch.Tensor:
    """The mean of ``criterion``'s per-sample losses weighted by ``weight``.

    ``sum(w_i * c_i * l_i) / sum(w_i * c_i)`` over the batch, with ``c_i``
    the class weight of row ``i`` (1 without class weights or for
    regression) and ``l_i`` its loss (averaged over a regressor's outputs):
    torch's ``reduction="mean"`` with weights ``w_i * c_i``, so that
    constant weights give the unweighted loss. A batch whose weights sum to
    zero has loss 0."""
    weight = torch.as_tensor(weight, device=y_pred.device, dtype=y_pred.dtype)
    per_sample = per_sample_loss(criterion, y_pred, y_true)  # includes c_i
    total = effective_weight(criterion, y_true, weight).sum()
    return (weight * per_sample).sum() / total.clamp_min(torch.finfo(total.dtype).tiny)


def per_sample_loss(criterion, y_pred, y_true) -> torch.Tensor:
    """``criterion``'s loss of each row, ``(batch,)``: its
    ``reduction="none"`` output (class weight included), averaged over a
    regressor's outputs."""
    saved = criterion.reduction
    criterion.reduction = "none"
    try:
        per_sample = criterion(y_pred, y_true)
    finally:
        criterion.reduction = saved
    return per_sample.reshape(len(per_sample), -1).mean(1)


def effective_weight(criterion, y_true, weight) -> torch.Tensor:
    """``weight`` times the class weight of each row (``criterion.weight``
    of a classification loss), the weights the loss is averaged with."""
    class_weight = getattr(criterion, "weight", None)
    if class_weight is None or y_true.is_floating_point():
        return weight
    return weight * class_weight.to(weight)[y_true.long()]


def n_members(module: nn.Module) -> int:
    """Number of networks of ``module`` (1 unless it is an ensemble)."""
    return int(getattr(module, "n_members", 1))
