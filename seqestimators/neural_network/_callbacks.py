"""The training lifecycle as skorch callbacks, each owning its state.

- :class:`ValidationScore` records ``valid_score`` of each epoch;
- :class:`IdleEarlyStopping` is skorch's early stopping with restore-best,
  idle in epochs without validation data;
- :class:`TrainingGuard` stops on a non-finite loss, keeps the weights of the
  last good epoch, and after training tells why it ended
  (:meth:`TrainingGuard.outcome`): completed, early stopping, a non-finite
  loss or an interrupt (Ctrl-C), with the weights to restore;
- :class:`MemberGradientClipping` clips the gradient norm of each network of
  an ensemble on its own (of the whole network otherwise);
- :func:`progress_bar`, a text progress bar that works in any front end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping, ProgressBar

from ._seeding import effective_weight

__all__ = [
    "IdleEarlyStopping",
    "MemberGradientClipping",
    "Outcome",
    "TrainingGuard",
    "ValidationScore",
    "progress_bar",
]


class ValidationScore(Callback):
    """Record ``valid_score`` from the outputs of the validation pass.

    Validation batches with sample weights (``"sample_weight"`` among their
    inputs) are scored with ``score_fn(y_true, y_pred, sample_weight=w)``,
    and their ``valid_batch_size`` becomes the sum of their weights (times
    the class weights): skorch's ``valid_loss``, the mean of the batch
    losses weighted by batch size, is then the weighted mean loss of the
    whole validation set."""

    def __init__(self, score_fn):
        self.score_fn = score_fn

    def on_epoch_begin(self, net, **kwargs):
        self.y_pred_, self.y_true_, self.weight_ = [], [], []

    def on_batch_end(self, net, batch=None, training=None, y_pred=None, **kwargs):
        if training:
            return
        self.y_pred_.append(y_pred.detach().float().cpu())
        self.y_true_.append(batch[1].cpu())
        weight = batch[0].get("sample_weight") if isinstance(batch[0], dict) else None
        if weight is not None:
            self.weight_.append(weight.cpu())
            total = effective_weight(net.criterion_, batch[1], weight).sum()
            # a batch of zero weights (loss 0) must not make the sum zero
            net.history.record_batch("valid_batch_size", max(float(total), 1e-12))

    def on_epoch_end(self, net, **kwargs):
        if self.y_pred_:
            y_true = torch.cat(self.y_true_).numpy()
            y_pred = torch.cat(self.y_pred_).numpy().astype(np.float64)
            net.history.record("valid_score", self._score(y_true, y_pred))
        self.y_pred_, self.y_true_, self.weight_ = [], [], []

    def _score(self, y_true, y_pred) -> float:
        if not self.weight_:
            return float(self.score_fn(y_true, y_pred))
        weight = torch.cat(self.weight_).numpy().astype(np.float64)
        if weight.sum() <= 0:
            return float("nan")
        return float(self.score_fn(y_true, y_pred, sample_weight=weight))


class MemberGradientClipping(Callback):
    """Clip the gradient norm to ``max_norm`` after each backward pass, per
    member of an ensemble (``module_.members``), so that each member is
    clipped as it would be when fitted alone; the whole module otherwise."""

    def __init__(self, max_norm: float):
        self.max_norm = max_norm

    def on_grad_computed(self, net, named_parameters=None, **kwargs):
        members = getattr(net.module_, "members", None)
        groups = [net.module_] if members is None else list(members)
        for group in groups:
            torch.nn.utils.clip_grad_norm_(group.parameters(), self.max_norm)


class IdleEarlyStopping(EarlyStopping):
    """skorch's EarlyStopping, idle in epochs without validation data
    (``partial_fit``, warm starts without early stopping).

    skorch stops training by raising ``KeyboardInterrupt``, the same signal as
    a user's Ctrl-C; ``stopped_`` tells the two apart."""

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.stopped_ = False

    def on_epoch_end(self, net, **kwargs):
        if self.monitor in net.history[-1]:
            try:
                super().on_epoch_end(net, **kwargs)
            except KeyboardInterrupt:
                self.stopped_ = True
                raise


@dataclass
class Outcome:
    """Why training ended and which weights to keep.

    ``reason`` is "completed", "early_stopping", "non_finite_loss" or
    "interrupted". For the last two, ``weights`` (None: nothing to restore)
    from ``epoch`` (``which`` says which epoch that is); ``detail`` describes
    a non-finite loss."""

    reason: str
    weights: dict | None = None
    epoch: int = 0
    which: str = ""
    detail: str | None = None


class TrainingGuard(Callback):
    """Stop on a non-finite training loss; remember the last good weights.

    After every finished epoch whose weights are all finite, the weights are
    copied (``weights_``, from epoch ``weights_epoch_``); at the start of
    training they are the current ones. A non-finite batch loss, or non-finite
    weights at the end of an epoch, stop the loop (skorch's
    ``KeyboardInterrupt`` signal) and are described in ``non_finite_``.
    ``epochs_done_`` counts the epochs that finished. The copies are dropped
    by :meth:`release` and never pickled.
    """

    def on_train_begin(self, net, **kwargs):
        self.epochs_done_ = 0
        self.non_finite_ = None
        self.batch_ = 0
        self.weights_epoch_ = len(net.history)
        # a first fit has nothing worth restoring yet
        trained = self.weights_epoch_ > 0 and self._finite(net)
        self.weights_ = self._copy(net) if trained else None

    def on_epoch_begin(self, net, **kwargs):
        self.batch_ = 0

    def on_batch_end(self, net, training=None, **kwargs):
        if not training:
            return
        self.batch_ += 1
        value = net.history[-1, "batches", -1, "train_loss"]
        if not math.isfinite(value):
            self.non_finite_ = (
                f"the training loss became {value} in epoch {len(net.history)}, "
                f"batch {self.batch_}"
            )
            raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs):
        if not self._finite(net):
            self.non_finite_ = (
                f"the weights became NaN or infinite in epoch {len(net.history)}"
            )
            raise KeyboardInterrupt
        self.epochs_done_ += 1
        self.weights_epoch_ = len(net.history)
        self.weights_ = self._copy(net)

    def outcome(self, epochs: int, early_stopping, use_valid: bool) -> Outcome:
        """Why the ``epochs`` requested ended, and what to restore."""
        if self.non_finite_ is not None:
            reason = "non_finite_loss"
        elif getattr(early_stopping, "stopped_", False):
            reason = "early_stopping"
        elif self.epochs_done_ < epochs:
            reason = "interrupted"
        else:
            return Outcome("completed")
        if reason == "early_stopping":
            return Outcome(reason)
        if use_valid and early_stopping.best_model_weights_ is not None:
            return Outcome(
                reason,
                early_stopping.best_model_weights_,
                early_stopping.best_epoch_,
                "the best validation loss so far",
                self.non_finite_,
            )
        return Outcome(
            reason,
            self.weights_,
            self.weights_epoch_,
            "the last finished epoch",
            self.non_finite_,
        )

    def release(self):
        """Drop the copied weights (they are only needed during ``fit``)."""
        self.weights_ = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["weights_"] = None
        return state

    @staticmethod
    def _finite(net) -> bool:
        with torch.no_grad():
            return all(bool(torch.isfinite(p).all()) for p in net.module_.parameters())

    @staticmethod
    def _copy(net) -> dict:
        return {k: v.detach().clone() for k, v in net.module_.state_dict().items()}


def progress_bar() -> ProgressBar:
    """A progress bar over the batches of each epoch, as plain text.

    skorch's default detects notebooks and then draws an ipywidgets bar,
    which crashes a fit where ipywidgets is missing or not enabled. The text
    bar (``tqdm.tqdm`` on stderr) works in terminals and notebooks alike.
    """
    return ProgressBar(detect_notebook=False)
