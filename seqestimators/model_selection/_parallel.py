"""Running the trials: ``n_jobs`` worker threads in this process, each
starting one trial at a time until the study holds ``n_trials`` finished
trials, waiting while other workers run the missing ones; Ctrl-C ends the
run and fails the running trials."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from ._heartbeat import _fail_stale_trials
from ._objective import _SurplusTrial

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_POLL_SECONDS = 0.5
_WAIT_NOTE_SECONDS = 60.0
_logger = logging.getLogger(__name__)


def _count(study: optuna.Study) -> tuple[int, int]:
    """Finished and running trials of the study."""
    trials = study.get_trials(deepcopy=False, states=(*_FINISHED, TrialState.RUNNING))
    finished = sum(t.state in _FINISHED for t in trials)
    return finished, len(trials) - finished


@dataclass
class _WorkLoop:
    """One worker: run trials one at a time (``Study.optimize``, so that an
    ``RDBStorage`` gets Optuna's heartbeat) until the study is complete or
    the deadline passes."""

    study: optuna.Study
    storage: BaseStorage
    objective: Callable[[Any], float]
    n_trials: int | None
    deadline: float | None
    shared: bool
    grace_period: float
    interrupted: threading.Event

    def __call__(self) -> None:
        waiting_since = None
        while self.deadline is None or time.monotonic() < self.deadline:
            if self.interrupted.is_set():
                return
            if self.shared:
                _fail_stale_trials(self.study, self.storage, self.grace_period)
            if self.n_trials is not None:
                finished, running = _count(self.study)
                if finished >= self.n_trials:
                    return
                if finished + running >= self.n_trials:
                    # other workers hold the missing trials: wait for them
                    waiting_since = self._wait(waiting_since, finished, running)
                    continue
            waiting_since = None
            self.study.optimize(self.objective, n_trials=1, catch=(_SurplusTrial,))

    def _wait(self, since: float | None, finished: int, running: int) -> float:
        now = time.monotonic()
        since = since or now
        if now - since > _WAIT_NOTE_SECONDS:
            _logger.warning(
                "Study %r holds %d of %d trials; waiting for the %d running in "
                "other workers (a trial whose worker died is failed %d s after "
                "its last heartbeat).",
                self.study.study_name,
                finished,
                self.n_trials,
                running,
                self.grace_period,
            )
            since = now
        time.sleep(_POLL_SECONDS)
        return since


@contextlib.contextmanager
def _catch_sigint(interrupted: threading.Event) -> Iterator[None]:
    """Note Ctrl-C (SIGINT) in ``interrupted`` while tuning, then raise
    KeyboardInterrupt as usual. Only the main thread can install a handler,
    and only Python's default handler is replaced."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return

    def on_sigint(signum: int, frame: Any) -> None:
        interrupted.set()
        if _in_storage(frame):
            # a KeyboardInterrupt inside a storage write (a journal file's
            # lock, a database transaction) can leave it half done: the run
            # stops at the next epoch end or trial instead (see
            # _run_workers and the pruning callback's check)
            return
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _in_storage(frame: Any) -> bool:
    """Whether ``frame`` (or a caller of it) runs Optuna's storage code."""
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).startswith("optuna.storages"):
            return True
        frame = frame.f_back
    return False


def _run_workers(work: _WorkLoop, n_jobs: int) -> None:
    """Run ``work`` in ``n_jobs`` threads (in this thread for one); a Ctrl-C
    noted while a storage write ran is raised once the workers stopped."""
    with warnings.catch_warnings(), _catch_sigint(work.interrupted):
        warnings.simplefilter("ignore", ExperimentalWarning)
        if n_jobs == 1:
            work()
        else:
            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                for fut in [pool.submit(work) for _ in range(n_jobs)]:
                    fut.result()
        if work.interrupted.is_set():
            raise KeyboardInterrupt
