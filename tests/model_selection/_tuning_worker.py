"""A tuning worker process for the persistence tests of ``test_tuning.py``.

Runs :func:`seqestimators.tuning.tune` on small numeric sequences against a
storage, as a separate process that the tests can run in parallel or kill::

    python tests/model_selection/_tuning_worker.py STORAGE N_TRIALS \
        [--barrier DIR --workers K]

With ``--barrier`` the worker waits until ``K`` workers have started, so that
parallel workers really overlap. The tests import the same configuration
(:func:`make_data`, :func:`make_estimator`, :data:`SEARCH_SPACE`) to resume a
study in-process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

#: study name shared by the workers and the tests
STUDY_NAME = "worker-test"
#: seconds between heartbeats, and without one before a trial is orphaned
HEARTBEAT_INTERVAL = 1
GRACE_PERIOD = 2
#: epochs per fold; early stopping is effectively off (patience 20)
MAX_EPOCHS = 6
SEARCH_SPACE = {
    "lr": ("log-float", 1e-3, 1e-1),
    "hidden_size": ("int", 4, 8),
}


def make_data() -> tuple[np.ndarray, np.ndarray]:
    """120 univariate sequences of 8 steps; the label is the sign of the last."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 8, 1)).astype("float32")
    y = (X[:, -1, 0] > 0).astype(int)
    return X, y


def make_estimator(max_epochs: int = MAX_EPOCHS):
    from seqestimators import LSTMSequenceClassifier

    return LSTMSequenceClassifier(
        hidden_size=4, max_epochs=max_epochs, n_iter_no_change=20, random_state=0
    )


def tune_kwargs(storage: str, n_trials: int) -> dict:
    import optuna

    return dict(
        n_trials=n_trials,
        cv=2,
        search_space=SEARCH_SPACE,
        storage=storage,
        study_name=STUDY_NAME,
        pruner=optuna.pruners.NopPruner(),
        heartbeat_interval=HEARTBEAT_INTERVAL,
        grace_period=GRACE_PERIOD,
        random_state=0,
        refit=False,
    )


def _wait_for_peers(barrier: Path, workers: int, timeout: float = 120.0) -> None:
    barrier.mkdir(parents=True, exist_ok=True)
    (barrier / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + timeout
    while len(list(barrier.glob("ready-*"))) < workers:
        if time.monotonic() > deadline:
            sys.exit(f"worker {os.getpid()}: peers did not start within {timeout} s")
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("storage")
    parser.add_argument("n_trials", type=int)
    parser.add_argument("--barrier", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)

    # Two torch processes on a small machine slow each other down badly when
    # each spawns a thread per core.
    torch.set_num_threads(1)
    import optuna

    from seqestimators.tuning import tune

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = make_data()
    if args.barrier is not None:
        _wait_for_peers(args.barrier, args.workers)
    tune(make_estimator(), X, y, **tune_kwargs(args.storage, args.n_trials))
    print(f"worker {os.getpid()} done", flush=True)


if __name__ == "__main__":
    main()
