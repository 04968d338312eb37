"""Tuning workers on one PostgreSQL study: trials per minute with 1 and with
2 worker processes (same run), and how fast a killed worker's trial is
failed and run again.

Starts its own PostgreSQL server (``initdb`` + ``pg_ctl`` from Debian's
``postgresql`` package, as the ``postgres`` user when run as root) in a
temporary folder on a free port. Each worker is this script in a process of
its own, tuning an LSTM on 400 synthetic sequences (``n_trials`` 12,
``cv=2``, 8 epochs, pruning off). Trials per minute are counted from the
study's first trial start to its last trial end (interpreter start-up and
imports left out).

    python benchmarks/bench_tuning_postgres.py [--trials 12]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUDY = "bench"
HEARTBEAT, GRACE = 1, 2


# ------------------------------------------------------------------ worker
def worker(url: str, n_trials: int) -> None:
    import numpy as np
    import optuna
    import torch

    from seqestimators import LSTMSequenceClassifier
    from seqestimators.tuning import tune

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 20, 2)).astype("float32")
    y = (X[:, -3:, 0].sum(axis=1) > 0).astype(int)
    tune(LSTMSequenceClassifier(hidden_size=8, max_epochs=8, n_iter_no_change=20,
                                random_state=0),
         X, y, n_trials=n_trials, cv=2, storage=url, study_name=STUDY,
         search_space={"lr": ("log-float", 1e-3, 1e-1),
                       "hidden_size": ("int", 4, 16)},
         pruner=optuna.pruners.NopPruner(), heartbeat_interval=HEARTBEAT,
         grace_period=GRACE, random_state=0, refit=False)


# ------------------------------------------------------------------ server
class Server:
    """A throwaway PostgreSQL server: ``url(db)`` after ``start()``."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                       key=lambda p: int(Path(p).parts[-3]))
        if not found:
            sys.exit("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = Path(found[-1]).parent
        self.prefix: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        if os.geteuid() == 0:  # initdb refuses root
            self.prefix = ["runuser", "-u", "postgres", "--"]
            os.chown(self.root, pwd.getpwnam("postgres").pw_uid, -1)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self.prefix, *cmd], check=True, capture_output=True)

    def start(self) -> None:
        data = str(self.root / "data")
        self._run(str(self.bin / "initdb"), "-D", data, "-U", "bench",
                  "--auth=trust", "--no-sync")
        self._run(str(self.bin / "pg_ctl"), "-D", data, "-l",
                  str(self.root / "log"), "-w", "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1",
                  "start")

    def create(self, db: str) -> str:
        import psycopg

        url = f"postgresql://bench@127.0.0.1:{self.port}/"
        with psycopg.connect(url + "postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        return f"postgresql+psycopg://bench@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D",
                        str(self.root / "data"), "-m", "fast", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


# ------------------------------------------------------------------ runs
def _start(url: str, n_trials: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--worker", url,
                             str(n_trials)], stderr=subprocess.PIPE, text=True)


def _study(url: str):
    import optuna

    return optuna.load_study(study_name=STUDY, storage=url)


def throughput(url: str, n_workers: int, n_trials: int) -> dict:
    procs = [_start(url, n_trials) for _ in range(n_workers)]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise RuntimeError(err[-2000:])
    trials = [t for t in _study(url).trials if t.state.name == "COMPLETE"]
    span = (max(t.datetime_complete for t in trials)
            - min(t.datetime_start for t in trials)).total_seconds()
    return {"workers": n_workers, "trials": len(trials), "seconds": span,
            "trials_per_min": 60 * len(trials) / span}


def _running_trial(url: str, pid: int):
    import optuna

    tag = f"{socket.gethostname()}:{pid}"
    while True:
        try:
            trials = _study(url).trials
        except KeyError:
            trials = []
        done = [t for t in trials if t.state.name == "COMPLETE"]
        mine = [t for t in trials if t.state == optuna.trial.TrialState.RUNNING
                and t.user_attrs.get("worker") == tag and t.intermediate_values]
        if len(done) >= 2 and mine:
            return mine[0].number
        time.sleep(0.05)


def kill_and_recover(url: str, n_trials: int) -> dict:
    """Two workers; SIGKILL one mid-trial; time until its trial is failed
    (by the other worker) and until the study is complete."""
    victim, other = _start(url, n_trials), _start(url, n_trials)
    orphan = _running_trial(url, victim.pid)
    killed = time.time()
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    _, err = other.communicate()
    if other.returncode:
        raise RuntimeError(err[-2000:])
    done_at = time.time()
    trials = _study(url).trials
    failed = trials[orphan]
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    return {"orphan_state": failed.state.name,
            "orphan_failed_after_s": failed.datetime_complete.timestamp() - killed,
            "study_complete_after_s": done_at - killed,
            "finished_trials": len(finished), "n_trials": n_trials,
            "heartbeat_interval": HEARTBEAT, "grace_period": GRACE}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker[0], int(args.worker[1]))
    server = Server()
    server.start()
    try:
        one = throughput(server.create("one"), 1, args.trials)
        two = throughput(server.create("two"), 2, args.trials)
        kill = kill_and_recover(server.create("kill"), args.trials)
    finally:
        server.stop()
    speedup = two["trials_per_min"] / one["trials_per_min"]
    print(f"1 worker:  {one['trials_per_min']:.1f} trials/min "
          f"({one['trials']} trials in {one['seconds']:.1f} s)")
    print(f"2 workers: {two['trials_per_min']:.1f} trials/min "
          f"({two['trials']} trials in {two['seconds']:.1f} s); "
          f"{speedup:.2f}x (cores: {os.cpu_count()})")
    print(f"SIGKILLed worker: its trial {kill['orphan_state']} after "
          f"{kill['orphan_failed_after_s']:.1f} s (grace period {GRACE} s), study "
          f"complete ({kill['finished_trials']}/{kill['n_trials']}) after "
          f"{kill['study_complete_after_s']:.1f} s")
    payload = {"one_worker": one, "two_workers": two, "speedup": speedup,
               "kill": kill}
    if args.json is not None:
        args.json.write_text(json.dumps(payload, indent=1))
    else:
        from _common import write_result

        print(f"wrote {write_result('tuning_postgres', payload)}")


if __name__ == "__main__":
    main()
