"""Heartbeats of running trials and failing the trials of dead workers.

An ``RDBStorage`` has Optuna's own heartbeat (``heartbeat_interval``,
``grace_period``): ``Study.optimize`` beats for every trial it runs and
``optuna.storages.fail_stale_trials`` fails the stale ones, with timestamps
from the database server. Optuna has no heartbeat for other storages
(journal files), so for those a thread records the time in a system attribute
of the running trial, and :func:`_fail_stale_trials` compares it with the
grace period (timestamps from the workers' clocks).
"""

from __future__ import annotations

import threading
import time
import warnings

import optuna
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import BaseStorage
from optuna.trial import TrialState

_HEARTBEAT_ATTR = "seqestimators:heartbeat"


def _native_heartbeat(storage: BaseStorage) -> bool:
    """Whether ``storage`` runs Optuna's own heartbeat."""
    get_interval = getattr(storage, "get_heartbeat_interval", None)
    return callable(get_interval) and get_interval() is not None


def _trial_id(storage: BaseStorage, study: optuna.Study, number: int) -> int:
    """The storage's id of trial ``number`` of ``study``, by public means."""
    study_id = storage.get_study_id_from_name(study.study_name)
    return storage.get_trial_id_from_study_id_trial_number(study_id, number)


class _Heartbeat:
    """Record a heartbeat of a running trial in its system attributes, for
    storages without Optuna's own heartbeat (journal files)."""

    def __init__(self, storage: BaseStorage, trial_id: int, interval: float) -> None:
        self._storage = storage
        self._trial_id = trial_id
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _beat(self) -> bool:
        try:
            self._storage.set_trial_system_attr(
                self._trial_id, _HEARTBEAT_ATTR, time.time()
            )
        except UpdateFinishedTrialError:
            return False
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            if not self._beat():
                return

    def __enter__(self) -> _Heartbeat:
        self._beat()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _fail_stale_trials(
    study: optuna.Study, storage: BaseStorage, grace_period: float
) -> None:
    """Mark FAIL the running trials whose worker stopped beating."""
    if _native_heartbeat(storage):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        return
    now = time.time()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        last = t.system_attrs.get(_HEARTBEAT_ATTR)
        if last is None:
            last = t.datetime_start.timestamp() if t.datetime_start else now
        if now - float(last) > grace_period:
            try:
                storage.set_trial_state_values(
                    _trial_id(storage, study, t.number), state=TrialState.FAIL
                )
            except UpdateFinishedTrialError:
                pass  # finished or failed by another worker meanwhile
