"""Hyperparameter tuning with Optuna: search spaces, per-epoch pruning, studies
that resume and run on several workers.

Optuna drives the estimators from outside (docs/design.md, decision 5): a trial is
handed to a fit through a context (:func:`report_to_trial`) that a stateless
skorch callback (:class:`PruningCallback`) reads, never through a constructor
parameter, so a configured estimator stays cloneable and picklable.

:func:`tune` is the one-call entry point: it cross-validates an estimator or a
:class:`~sklearn.pipeline.Pipeline` per trial, reports the validation score of
every epoch of every fold to the trial, prunes hopeless trials, keeps its study
in a real storage (SQLite, a journal file, PostgreSQL) and resumes it after a
crash. See ``docs/tuning.md``. The steps live in the sibling modules:
``_arguments`` (validation), ``_spaces`` (search spaces), ``_storage``
(storages and the study), ``_resume`` (what defines the objective),
``_objective`` (the cross-validation of a trial), ``_pruning`` (per-epoch
reports), ``_heartbeat`` (orphaned trials) and ``_parallel`` (workers).
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.model_selection import check_cv

from ._arguments import (
    _check_estimator,
    _check_n_jobs,
    _check_optuna_objects,
    _check_scorer,
    _check_stopping,
    _warn_if_unprunable,
)
from ._objective import _CrossValObjective, _own_heartbeat_interval
from ._parallel import _run_workers, _WorkLoop
from ._resume import _check_resume, _describe_objective
from ._spaces import _check_space
from ._storage import _journal_errors, _make_sampler, _make_storage, _open_study

__all__ = ["TuningResult", "tune"]


@dataclass
class TuningResult:
    """What :func:`tune` returns (a dataclass; its fields are its parameters).

    Parameters
    ----------
    study : optuna.Study
        The study, with every trial (also those of earlier runs and other
        workers). Each trial's ``user_attrs`` hold ``fold_scores`` (score of
        each finished fold), ``fold_epochs`` (epochs trained per fold, the
        interrupted fold included for a pruned trial) and ``worker``
        (``host:pid``).
    best_params_ : dict
        Parameters of the best completed trial, named as in the search space
        (``"clf__lr"`` for a Pipeline); ``{}`` if no trial completed.
    best_score_ : float
        Mean cross-validated score of the best trial; NaN if none completed.
    best_estimator_ : estimator or None
        A clone of the estimator with ``best_params_``, refit on all the data
        (None with ``refit=False``).
    best_trial_ : optuna.trial.FrozenTrial or None
        The best completed trial.
    search_space_ : dict of str to optuna BaseDistribution
        The search space used.

    Examples
    --------
    >>> import dataclasses
    >>> from seqestimators.tuning import TuningResult
    >>> [f.name for f in dataclasses.fields(TuningResult)][:3]
    ['study', 'best_params_', 'best_score_']
    """

    study: optuna.Study
    best_params_: dict[str, Any]
    best_score_: float
    best_estimator_: BaseEstimator | None
    best_trial_: FrozenTrial | None
    search_space_: dict[str, BaseDistribution]


def _result(
    study: optuna.Study,
    estimator: BaseEstimator,
    X: Any,
    y: Any,
    dists: dict[str, BaseDistribution],
    refit: bool,
) -> TuningResult:
    """The best trial of the study, and the best estimator refit on X, y."""
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not completed:
        counts = {s.name.lower(): 0 for s in TrialState}
        for t in study.get_trials(deepcopy=False):
            counts[t.state.name.lower()] += 1
        msg = (
            f"No trial of study {study.study_name!r} completed ({counts['pruned']} "
            f"pruned, {counts['fail']} failed, {counts['running']} running)."
        )
        if refit:
            raise ValueError(
                f"{msg} There is no best estimator to refit: widen the search "
                "space, use a milder pruner, or run more trials."
            )
        warnings.warn(msg, UserWarning, stacklevel=3)
        return TuningResult(study, {}, float("nan"), None, None, dists)
    best = study.best_trial
    best_params = dict(best.params)
    best_estimator = None
    if refit:
        best_estimator = clone(estimator).set_params(**best_params).fit(X, y)
    return TuningResult(
        study=study,
        best_params_=best_params,
        best_score_=float(best.value),
        best_estimator_=best_estimator,
        best_trial_=best,
        search_space_=dists,
    )


def tune(
    estimator: BaseEstimator,
    X: Any,
    y: Any,
    *,
    groups: Any = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    cv: Any = 3,
    scoring: Any = None,
    search_space: Mapping[str, Any] | None = None,
    storage: str | os.PathLike | BaseStorage | None = None,
    study_name: str | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    sampler: optuna.samplers.BaseSampler | None = None,
    n_jobs: int = 1,
    random_state: int | np.random.RandomState | None = None,
    refit: bool = True,
    heartbeat_interval: int = 10,
    grace_period: int | None = None,
) -> TuningResult:
    """Tune an estimator or a Pipeline with Optuna, pruning per epoch.

    Each trial samples parameters from ``search_space``, cross-validates a
    clone of ``estimator`` with them and returns the mean score. During every
    fold the validation score of each epoch is reported to the trial at step
    ``fold * max_epochs + epoch``, and the pruner may stop the trial there.

    Parameters
    ----------
    estimator : estimator or Pipeline
        The configured estimator; it is cloned, never modified. Parameters not
        in ``search_space`` keep its values.
    X : sequence frame, RaggedSequences, array, ...
        Training data, as the estimator's ``fit`` takes it.
    y : array-like of shape (n_samples,)
        Targets.
    groups : array-like of shape (n_samples,), default=None
        Group labels handed to the splitter's ``split``, for group-aware
        splitters such as :class:`~sklearn.model_selection.GroupKFold` (e.g.
        the ``group`` column of :func:`~seqestimators.make_window_labels`'s
        labels, so that an entity's windows stay on one side of each fold).
    n_trials : int, default=None
        Total number of finished (completed or pruned) trials the study
        should hold. With a storage this counts trials of earlier runs and of
        other workers: a resumed run only runs the missing ones, and a study
        that holds ``n_trials`` already runs none. None: run until
        ``timeout``.
    timeout : float, default=None
        Seconds after which no new trial starts (running ones finish). At
        least one of ``n_trials`` and ``timeout`` is required.
    cv : int, cross-validation generator or iterable, default=3
        As in scikit-learn (stratified for classifiers). The splits are made
        once, so every trial sees the same folds.
    scoring : str or callable, default=None
        A single scikit-learn scorer (greater is better); None uses the
        estimator's ``score``. The study maximizes the mean fold score.
    search_space : dict, default=None
        ``{parameter: spec}`` with specs as documented in
        :func:`to_distributions`, e.g. ``{"clf__lr": ("log-float", 1e-4,
        1e-2)}``. None: :func:`default_search_space` of the estimator.
    storage : str, path, optuna storage or None, default=None
        Where the study lives. None: in memory. A database URL
        (``"sqlite:///tuning.db"``, ``"postgresql://user:pw@host/db"``) opens
        an ``RDBStorage`` with Optuna's heartbeat; a path ending in ``.log``
        or ``.journal`` opens a journal file (``JournalStorage``); an optuna
        storage object is used as given.
    study_name : str, default=None
        Name of the study in the storage; it is created if missing and
        resumed if present. None: ``"seqestimators"``. A study is resumed
        only with the objective it was created with (same ``scoring``,
        ``cv``, estimator class, non-searched parameters and search space,
        stored in its user attributes); anything else raises ValueError.
    pruner : optuna pruner, default=None
        None: ``MedianPruner(n_startup_trials=5, n_warmup_steps=3)``. Pass
        ``optuna.pruners.NopPruner()`` to switch pruning off.
    sampler : optuna sampler, default=None
        None: ``TPESampler`` seeded from ``random_state``.
    n_jobs : int, default=1
        Trials run at the same time in this process (threads); -1 uses
        every CPU. For several processes or machines, start ``tune`` in each
        with the same storage and study name.
    random_state : int, RandomState or None, default=None
        Seeds the default sampler. With a storage the seed is mixed with the
        number of trials already in the study and the process id, so that
        parallel workers and resumed runs do not repeat proposals; only an
        in-memory run with ``n_jobs=1`` (and a seeded estimator) is
        reproducible.
    refit : bool, default=True
        Refit a clone of the estimator with the best parameters on all of
        ``X, y``.
    heartbeat_interval : int, default=10
        Seconds between heartbeats of a running trial (storage only).
    grace_period : int, default=None
        Seconds without a heartbeat after which a running trial counts as
        orphaned (its worker died) and is marked FAIL, so its slot is run
        again. None: ``2 * heartbeat_interval``.

    Returns
    -------
    TuningResult
        ``study``, ``best_params_``, ``best_score_``, ``best_estimator_``,
        ``best_trial_``, ``search_space_``.

    Notes
    -----
    ``tune`` returns when the study holds ``n_trials`` finished trials (or at
    ``timeout``). While every missing trial is being run by another worker it
    waits for them, failing trials whose worker stopped beating. A trial
    started in a race after the last slot was taken is marked FAIL before it
    samples anything (user attribute ``surplus``), so completed plus pruned
    trials never exceed ``n_trials``.

    A journal file whose last entry was torn by a crash is refused with a
    ValueError that names the byte offset to truncate the file to.

    Examples
    --------
    >>> import numpy as np
    >>> from seqestimators import LSTMSequenceClassifier
    >>> from seqestimators.tuning import tune
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(80, 6, 1)).astype("float32")
    >>> y = (X[:, -1, 0] > 0).astype(int)
    >>> clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=2, random_state=0)
    >>> result = tune(clf, X, y, n_trials=2, cv=2, random_state=0,
    ...               search_space={"lr": ("log-float", 1e-3, 1e-1)})
    >>> sorted(result.best_params_), len(result.study.trials)
    (['lr'], 2)
    >>> len(result.best_trial_.user_attrs["fold_scores"])
    2
    """
    _check_estimator(estimator)
    grace = _check_stopping(n_trials, timeout, heartbeat_interval, grace_period)
    n_jobs = _check_n_jobs(n_jobs)
    dists = _check_space(estimator, search_space)
    scorer = _check_scorer(estimator, scoring)
    _check_optuna_objects(pruner, sampler)
    cv_ = check_cv(cv, y, classifier=is_classifier(estimator))
    splits = list(cv_.split(X, y, groups))
    _warn_if_unprunable(estimator, dists)

    shared = storage is not None
    with _journal_errors(storage):
        storage_ = _make_storage(storage, heartbeat_interval, grace)
        study = _open_study(
            storage_, study_name, pruner, shared=shared, storage=storage
        )
        _check_resume(
            study, _describe_objective(estimator, dists, scoring, cv, cv_, splits)
        )
        study.sampler = _make_sampler(sampler, study, random_state, shared)
        interrupted = threading.Event()
        objective = _CrossValObjective(
            estimator=estimator,
            X=X,
            y=y,
            splits=splits,
            scorer=scorer,
            dists=dists,
            study=study,
            storage=storage_,
            n_trials=n_trials,
            heartbeat_interval=_own_heartbeat_interval(
                storage_, shared, heartbeat_interval
            ),
            interrupted=interrupted,
        )
        work = _WorkLoop(
            study=study,
            storage=storage_,
            objective=objective,
            n_trials=n_trials,
            deadline=None if timeout is None else time.monotonic() + timeout,
            shared=shared,
            grace_period=grace,
            interrupted=interrupted,
        )
        _run_workers(work, n_jobs)
        return _result(study, estimator, X, y, dists, refit)
