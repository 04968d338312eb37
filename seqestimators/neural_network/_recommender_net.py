"""The skorch side of the next-event recommenders: a :class:`SeededNet` whose
loss reads its targets from the batch itself (the target channel shifted by
one step), and the initialization of :class:`~seqestimators.nn.NextEventNet`.
"""

from __future__ import annotations

import torch

from ._seeding import SeededNet

__all__ = ["NextEventSkorchNet", "next_targets"]


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
    negatives each epoch, so that losses compare), drawn uniformly or from
    ``sampling_probs``. With ``full_validation`` the validation loss is the
    full softmax (exact, and cheap without a backward pass).
    """

    def __init__(self, *args, n_negatives=None, full_validation=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.n_negatives = n_negatives
        self.full_validation = full_validation
        #: ``(n_items,)`` probabilities the negatives are drawn from (None:
        #: uniform); set by the estimator from the training targets
        self.sampling_probs = None

    def reseed(self, seed: int) -> None:
        super().reseed(seed)
        self.negatives_rng_ = torch.Generator().manual_seed(int(seed) + 1)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        ids = X["categorical"][..., self.module_.target].to(y_pred.device)
        n_negatives = self.n_negatives
        if n_negatives is None or (self.full_validation and not training):
            n_negatives, generator = None, None
        elif training:
            generator = self.negatives_rng_
        else:
            generator = torch.Generator().manual_seed(int(self.seed))
        return self.module_.loss(
            y_pred, next_targets(ids), n_negatives=n_negatives,
            generator=generator, sampling_probs=self.sampling_probs,
        )
