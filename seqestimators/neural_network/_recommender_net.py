"""The skorch side of the next-event recommenders: a :class:`SeededNet` whose
loss reads its targets from the batch itself (the target channel shifted by
one step), and the initialization of :class:`~seqestimators.nn.NextEventNet`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..nn._next_event import NextEventNet
from ._seeding import SeededNet, init_parameters

__all__ = ["NextEventSkorchNet", "init_next_event", "next_targets"]


def init_next_event(module: nn.Module, generator: torch.Generator) -> None:
    """Initialize a :class:`NextEventNet` from ``generator``: torch's schemes
    for linear, embedding and recurrent layers (:func:`init_parameters`),
    unit layer norms, zero item biases. Embeddings are drawn with standard
    deviation ``dim ** -0.5``, so that the first scores (dot products with
    the item table) are of order one."""
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, nn.LayerNorm):
                sub.weight.fill_(1.0)
                sub.bias.zero_()
            elif isinstance(sub, nn.Embedding):
                init_parameters(sub, generator)
                sub.weight.mul_(sub.embedding_dim**-0.5)
            elif isinstance(sub, nn.Linear | nn.RNNBase):
                init_parameters(sub, generator)
            elif isinstance(sub, NextEventNet):
                sub.item_bias.zero_()
            elif any(True for _ in sub.parameters(recurse=False)):
                raise TypeError(
                    f"init_next_event does not know how to initialize "
                    f"{type(sub).__name__}."
                )


def next_targets(ids: torch.Tensor) -> torch.Tensor:
    """``(batch, T)`` ids of the next event at each step; 0 (ignored) after
    the last event of a sequence, where padding follows."""
    targets = torch.zeros_like(ids)
    targets[:, :-1] = ids[:, 1:]
    return targets


class NextEventSkorchNet(SeededNet):
    """A :class:`SeededNet` around :class:`NextEventNet`.

    The loss is ``module_.loss`` of the per-step queries against the next id
    of the target channel at every step (no ``y``): a full softmax, or with
    ``n_negatives`` a sampled softmax whose negatives come from a generator
    of the fit (training) or from the seed alone (validation: the same
    negatives each epoch, so that losses compare).
    """

    def __init__(self, *args, n_negatives=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.n_negatives = n_negatives

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        with torch.device("meta"):
            module = self.module(**kwargs)
        device = torch.device(self.device)
        module.to_empty(device=device)
        init_next_event(module, torch.Generator(device=device).manual_seed(self.seed))
        self.module_ = module
        self.reseed(self.seed)
        return self

    def reseed(self, seed: int) -> None:
        super().reseed(seed)
        self.negatives_rng_ = torch.Generator().manual_seed(int(seed) + 1)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        ids = X["categorical"][..., self.module_.target].to(y_pred.device)
        if self.n_negatives is None:
            generator = None
        elif training:
            generator = self.negatives_rng_
        else:
            generator = torch.Generator().manual_seed(int(self.seed))
        return self.module_.loss(
            y_pred, next_targets(ids), n_negatives=self.n_negatives,
            generator=generator,
        )
