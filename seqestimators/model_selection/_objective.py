"""The objective of a ``tune`` study: cross-validate a clone of the estimator
with the parameters a trial samples, reporting every epoch of every fold."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    IntDistribution,
)
from optuna.storages import BaseStorage
from optuna.trial import Trial, TrialState
from sklearn.base import BaseEstimator, clone

from ..neural_network._base import _BaseSequenceEstimator
from ..utils._compat import _safe_indexing
from ._heartbeat import _Heartbeat, _native_heartbeat, _trial_id
from ._pruning import _reporting, _with_pruning_callback
from ._spaces import _final_step, _suggest

#: states of trials that hold one of the ``n_trials`` slots
_CLAIMING = (
    TrialState.COMPLETE,
    TrialState.PRUNED,
    TrialState.RUNNING,
    TrialState.WAITING,
)


class _SurplusTrial(Exception):
    """A trial started after other workers had taken every remaining slot."""


def _n_epochs_bound(
    final: BaseEstimator, prefix: str, dists: Mapping[str, BaseDistribution]
) -> int:
    """Largest ``max_epochs`` a fold can train: the stride between folds."""
    dist = dists.get(prefix + "max_epochs")
    if isinstance(dist, IntDistribution):
        return int(dist.high)
    if isinstance(dist, CategoricalDistribution):
        return int(max(c for c in dist.choices if isinstance(c, Integral)))
    return int(final.get_params()["max_epochs"])


def _epochs_trained(model: BaseEstimator) -> int | None:
    _, final = _final_step(model)
    n = getattr(final, "n_iter_", None)
    return int(n) if n is not None else None


def _own_heartbeat_interval(
    storage: BaseStorage, shared: bool, interval: float
) -> float | None:
    """The interval of the hand-made heartbeat; None where none is needed
    (in memory, or Optuna's own heartbeat)."""
    return interval if shared and not _native_heartbeat(storage) else None


class _CrossValObjective:
    """Callable objective: the mean score over fixed folds of a clone of
    ``estimator`` with the trial's parameters.

    Each fold is fitted inside :func:`report_to_trial` at step offset
    ``fold * stride`` (``stride``: the largest ``max_epochs``), so the
    pruning callback reports every epoch of every fold to the trial.
    """

    def __init__(
        self,
        *,
        estimator: BaseEstimator,
        X: Any,
        y: Any,
        splits: Sequence[tuple[np.ndarray, np.ndarray]],
        scorer: Any,
        dists: Mapping[str, BaseDistribution],
        study: optuna.Study,
        storage: BaseStorage,
        n_trials: int | None,
        heartbeat_interval: float | None,
        interrupted: threading.Event,
    ) -> None:
        self.estimator = estimator
        self.X = X
        self.y = y
        self.splits = splits
        self.scorer = scorer
        self.dists = dists
        self.study = study
        self.storage = storage
        self.n_trials = n_trials
        #: None: no hand-made heartbeat (in memory, or Optuna's own)
        self.heartbeat_interval = heartbeat_interval
        self.interrupted = interrupted
        prefix, final = _final_step(estimator)
        self.prunable = isinstance(final, _BaseSequenceEstimator)
        self.stride = _n_epochs_bound(final, prefix, dists) if self.prunable else 0
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, trial: Trial) -> float:
        self._claim_slot(trial)
        with self._heartbeat(trial):
            trial.set_user_attr("worker", self.worker)
            return self.cross_validate(trial, self.model(trial))

    def _claim_slot(self, trial: Trial) -> None:
        """Fail a trial started in a race after the last slot was taken.

        Trial numbers are assigned atomically by the storage, so a trial
        holds a slot if fewer than ``n_trials`` lower-numbered trials do.
        """
        if self.n_trials is None:
            return
        before = self.study.get_trials(deepcopy=False, states=_CLAIMING)
        if sum(t.number < trial.number for t in before) >= self.n_trials:
            trial.set_user_attr("surplus", True)
            raise _SurplusTrial(
                f"not needed: the study already had {self.n_trials} trials "
                "finished or running when it started (another worker took the "
                "last one)"
            )

    def _heartbeat(self, trial: Trial) -> contextlib.AbstractContextManager:
        if self.heartbeat_interval is None:
            return contextlib.nullcontext()
        trial_id = _trial_id(self.storage, self.study, trial.number)
        return _Heartbeat(self.storage, trial_id, self.heartbeat_interval)

    def model(self, trial: Trial) -> BaseEstimator:
        """A clone of the estimator with the trial's parameters (and the
        pruning callback)."""
        params = {p: _suggest(trial, p, d) for p, d in self.dists.items()}
        model = clone(self.estimator).set_params(**params)
        return _with_pruning_callback(model) if self.prunable else model

    def cross_validate(self, trial: Trial, model: BaseEstimator) -> float:
        """Fit and score ``model`` on every fold; record them in the trial."""
        fold_scores: list[float] = []
        fold_epochs: list[int | None] = []
        for k, (train, test) in enumerate(self.splits):
            fitted = self._fit_fold(trial, model, k, train, fold_epochs)
            X_test = _safe_indexing(self.X, test)
            fold_scores.append(float(self.scorer(fitted, X_test, self._y(test))))
            fold_epochs.append(_epochs_trained(fitted))
            trial.set_user_attr("fold_scores", fold_scores)
            trial.set_user_attr("fold_epochs", fold_epochs)
        return float(np.mean(fold_scores))

    def _fit_fold(
        self,
        trial: Trial,
        model: BaseEstimator,
        k: int,
        train: np.ndarray,
        fold_epochs: list[int | None],
    ) -> BaseEstimator:
        fold_model = clone(model)
        with _reporting(trial, k * self.stride, self.interrupted) as rep:
            try:
                fold_model.fit(_safe_indexing(self.X, train), self._y(train))
            except optuna.TrialPruned:
                fold_epochs.append(rep.last_epoch)
                trial.set_user_attr("fold_epochs", fold_epochs)
                trial.set_user_attr("pruned_in_fold", k)
                raise
        return fold_model

    def _y(self, rows: np.ndarray) -> Any:
        return _safe_indexing(self.y, rows)
