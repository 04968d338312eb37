"""Per-epoch pruning: a trial is handed to a fit through a context
(:func:`report_to_trial`) that a stateless skorch callback
(:class:`PruningCallback`) reads, never through a constructor parameter, so a
configured estimator stays cloneable and picklable (docs/design.md, decision 5)."""

from __future__ import annotations

import contextlib
import contextvars
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import Trial
from sklearn.base import BaseEstimator
from skorch.callbacks import Callback

from ._spaces import _final_step

__all__ = ["PruningCallback", "report_to_trial"]

#: name of the pruning callback that ``tune`` adds to the final estimator
PRUNING_CALLBACK_NAME = "tuning_pruning"


@dataclass
class _Reporting:
    """What :class:`PruningCallback` reports to, set by :func:`report_to_trial`."""

    trial: Trial
    step_offset: int
    last_epoch: int = 0
    reported: list[int] = field(default_factory=list)
    #: set by tune on Ctrl-C: end the fit and let KeyboardInterrupt through
    interrupted: threading.Event | None = None


_ACTIVE: contextvars.ContextVar[_Reporting | None] = contextvars.ContextVar(
    "seqestimators_tuning_trial", default=None
)


@contextlib.contextmanager
def report_to_trial(trial: Trial, *, step_offset: int = 0) -> Iterator[_Reporting]:
    """Let :class:`PruningCallback` report to ``trial`` during the fits inside.

    The trial is held in a context variable, so it is visible to fits run in
    the same thread (and task) only, and never stored in an estimator.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The running trial.
    step_offset : int, default=0
        Added to the (1-based) epoch number to give the step reported to the
        trial; :func:`tune` passes ``fold * max_epochs`` (see
        ``docs/tuning.md``).

    Yields
    ------
    reporting
        An object whose ``last_epoch`` is the last epoch reported and
        ``reported`` the steps reported, updated during the fit.

    Examples
    --------
    Inside your own Optuna objective (here one trial asked by hand):

    >>> import numpy as np, optuna
    >>> from seqestimators import LSTMSequenceClassifier
    >>> from seqestimators.tuning import PruningCallback, report_to_trial
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.integers(2, 6, size=(60, 4)), rng.integers(0, 2, size=60)
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study(direction="maximize")
    >>> trial = study.ask()
    >>> model = LSTMSequenceClassifier(hidden_size=4, max_epochs=3,
    ...                                callbacks=[PruningCallback()],
    ...                                random_state=0)
    >>> with report_to_trial(trial) as rep:
    ...     _ = model.fit(X, y)   # may raise optuna.TrialPruned
    >>> rep.last_epoch
    3
    """
    with _reporting(trial, step_offset, None) as rep:
        yield rep


@contextlib.contextmanager
def _reporting(
    trial: Trial, step_offset: int, interrupted: threading.Event | None
) -> Iterator[_Reporting]:
    rep = _Reporting(trial, int(step_offset), interrupted=interrupted)
    token = _ACTIVE.set(rep)
    try:
        yield rep
    finally:
        _ACTIVE.reset(token)


class PruningCallback(Callback):
    """skorch callback: report the validation score per epoch to an Optuna
    trial and stop a hopeless trial.

    The callback holds no trial: it reads the trial set by
    :func:`report_to_trial` around the fit (which :func:`tune` does for every
    fold). Outside such a context it does nothing, so an estimator configured
    with it still clones, pickles and fits normally.

    After each epoch it reports ``monitor`` at step ``step_offset + epoch``,
    then asks the trial's pruner; if the trial should be pruned it raises
    :class:`optuna.TrialPruned`, which propagates out of ``fit`` (skorch only
    swallows ``KeyboardInterrupt``, the signal of early stopping). When early
    stopping ends training, the final epoch is reported at the end of
    training.

    Parameters
    ----------
    monitor : {"valid_score", "valid_loss"} or str, default="valid_score"
        Column of the net's history to report. Values are oriented like the
        study's objective (higher is better): columns ending in ``_loss`` are
        reported negated. ``valid_score`` is the accuracy (classifier) or R²
        (regressor) on the early-stopping validation split, so the estimator
        needs ``early_stopping=True``. Epochs without the column, and
        non-finite values, are not reported.

    Examples
    --------
    >>> from sklearn.base import clone
    >>> from seqestimators import LSTMSequenceClassifier
    >>> from seqestimators.tuning import PruningCallback
    >>> clf = LSTMSequenceClassifier(callbacks=[PruningCallback()])
    >>> clone(clf).callbacks[0].monitor
    'valid_score'
    """

    def __init__(self, monitor: str = "valid_score") -> None:
        self.monitor = monitor

    def on_train_begin(self, net: Any, **kwargs: Any) -> None:
        self.last_reported_epoch_ = 0

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        self._report(net)
        self._check_interrupted()

    def on_train_end(self, net: Any, **kwargs: Any) -> None:
        # Early stopping ends the loop from its own on_epoch_end, which runs
        # before ours: report that last epoch here.
        self._report(net)
        self._check_interrupted()

    @staticmethod
    def _check_interrupted() -> None:
        # skorch takes KeyboardInterrupt for "stop training" and returns from
        # fit normally. Under tune, Ctrl-C must end the trial (FAIL) instead of
        # scoring a truncated fit: raise again, from on_train_end past skorch.
        rep = _ACTIVE.get()
        if rep is not None and rep.interrupted is not None and rep.interrupted.is_set():
            raise KeyboardInterrupt

    def _report(self, net: Any) -> None:
        rep = _ACTIVE.get()
        if rep is None or not len(net.history):
            return
        row = net.history[-1]
        epoch = int(row["epoch"])
        if epoch <= getattr(self, "last_reported_epoch_", 0):
            return
        self.last_reported_epoch_ = epoch
        rep.last_epoch = epoch
        value = row.get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        value = float(value)
        oriented = -value if self.monitor.endswith("_loss") else value
        step = rep.step_offset + epoch
        rep.trial.report(oriented, step)
        rep.reported.append(step)
        if rep.trial.should_prune():
            raise optuna.TrialPruned(
                f"Pruned at epoch {epoch} (step {step}): {self.monitor}={value:.4g}."
            )


def _has_pruning_callback(callbacks: list | None) -> bool:
    for cb in callbacks or []:
        obj = cb[1] if isinstance(cb, tuple) else cb
        if isinstance(obj, PruningCallback):
            return True
    return False


def _with_pruning_callback(model: BaseEstimator) -> BaseEstimator:
    """Add a :class:`PruningCallback` to the final step of ``model`` (in
    place), unless the user configured one."""
    _, final = _final_step(model)
    callbacks = list(final.callbacks or [])
    if not _has_pruning_callback(callbacks):
        callbacks.append((PRUNING_CALLBACK_NAME, PruningCallback()))
        final.set_params(callbacks=callbacks)
    return model
