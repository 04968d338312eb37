"""seqestimators.tuning on a real PostgreSQL server: several worker processes
share one study, and a worker killed mid-trial loses nothing.

The module starts its own server (``initdb`` + ``pg_ctl`` in a temporary
folder, on a free local port) from Debian's ``postgresql`` package, which
``.ci/run`` installs; it skips with the reason when the binaries or the
driver are missing. ``initdb`` refuses to run as root, so as root the server
runs as the ``postgres`` user that the package creates. The workers are real
processes (``_tuning_worker.py``), as in ``test_tuning.py``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("optuna")
psycopg = pytest.importorskip(
    "psycopg", reason="the PostgreSQL driver (psycopg[binary], extra 'postgres')"
)

import optuna  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from seqestimators.tuning import tune  # noqa: E402

from . import _tuning_worker as worker  # noqa: E402
from .test_tuning import FINISHED, start_worker  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


# ------------------------------------------------------------- the server
def _bin_dir() -> Path | None:
    """Folder of ``initdb`` and ``pg_ctl``: Debian's newest, else PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _as_server_user() -> tuple[list[str], int | None]:
    """Command prefix that runs the server's tools, and the uid owning its
    files (None: this user). Root runs them as ``postgres``."""
    if os.geteuid() != 0:
        return [], None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user for initdb")
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root and runuser is missing (initdb refuses root)")
    return [runuser, "-u", "postgres", "--"], user.pw_uid


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise RuntimeError(f"{cmd[-1]} failed: {done.stdout}{done.stderr}")


@pytest.fixture(scope="module")
def postgres_server():
    """URL prefix ``postgresql+psycopg://test@127.0.0.1:PORT/`` of a fresh
    server (the driver named, as SQLAlchemy's default driver differs between
    its versions)."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    prefix, owner = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="seqestimators-pg-"))
    if owner is not None:
        os.chown(root, owner, -1)
    data, port = root / "data", _free_port()
    try:
        _run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "test",
              "--auth=trust", "-E", "UTF8", "--no-sync"])
        options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=200")
        _run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
              "-l", str(root / "server.log"), "-w", "-t", "60", "start"])
    except RuntimeError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc}")
    try:
        yield f"postgresql+psycopg://test@127.0.0.1:{port}/"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data),
                        "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database(postgres_server, request):
    """URL of a new, empty database for one test."""
    name = request.node.name.replace("[", "_").replace("]", "").lower()[:60]
    url = postgres_server.replace("+psycopg", "") + "postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_server + name


# ------------------------------------------------------------------ tests
def _storage(url: str) -> optuna.storages.RDBStorage:
    """One storage (one connection pool) for all the test's reads: a new
    one per poll would leave a pool of connections behind each time."""
    return optuna.storages.RDBStorage(url)


def _load(storage) -> optuna.Study | None:
    try:
        return optuna.load_study(study_name=worker.STUDY_NAME, storage=storage)
    except KeyError:
        return None


def _trial_of(storage, pid: int, deadline: float) -> int:
    """Number of the trial that worker ``pid`` is training (it has reported
    an epoch of fold 0), once another trial has finished."""
    tag = f"{socket.gethostname()}:{pid}"
    while True:
        assert time.monotonic() < deadline, "the workers made no progress"
        study = _load(storage)
        if study is not None:
            trials = study.get_trials()
            done = [t for t in trials if t.state in FINISHED]
            mine = [
                t.number for t in trials
                if t.state == TrialState.RUNNING and t.user_attrs.get("worker") == tag
                and t.intermediate_values
                and max(t.intermediate_values) < worker.MAX_EPOCHS
            ]
            if done and mine:
                return mine[0]
        time.sleep(0.05)


def test_workers_share_a_study_and_a_killed_one_loses_nothing(database, tmp_path):
    """Two worker processes on one PostgreSQL study; one is killed (SIGKILL)
    in the middle of a trial. The other fails its orphan once its heartbeat
    stops, runs the slot again and completes exactly n_trials."""
    n_trials = 4
    barrier = tmp_path / "barrier"
    procs = [start_worker(database, n_trials, "--barrier", str(barrier),
                          "--workers", "2") for _ in range(2)]
    victim, survivors = procs[0], procs[1:]
    store = _storage(database)
    try:
        orphan = _trial_of(store, victim.pid, time.monotonic() + 120)
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
        before = {t.number: (t.state, t.value, t.params)
                  for t in _load(store).trials}
        for proc in survivors:
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
            assert "done" in out
    finally:
        for proc in procs:
            proc.kill()
    assert victim.returncode == -signal.SIGKILL
    trials = _load(store).get_trials()
    done = [t for t in trials if t.state in FINISHED]
    assert len(done) == n_trials
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    # the orphan was failed, not scored, and its slot was run again
    assert trials[orphan].state == TrialState.FAIL
    assert "fold_scores" not in trials[orphan].user_attrs
    # nothing lost: trials finished before the kill are kept as they were
    for number, (state, value, params) in before.items():
        if state in FINISHED:
            assert (trials[number].state, trials[number].value,
                    trials[number].params) == (state, value, params)
    # every other failure is an empty surplus trial of a race for the last slot
    for t in trials:
        if t.state == TrialState.FAIL and t.number != orphan:
            assert t.user_attrs.get("surplus") and not t.params
    assert len({tuple(sorted(t.params.items())) for t in done}) == n_trials
    tags = {f"{socket.gethostname()}:{p.pid}" for p in survivors}
    assert tags <= {t.user_attrs["worker"] for t in done}


def test_a_finished_study_is_resumed_in_process(database):
    """The study lives in the server: a later ``tune`` call with the same
    settings runs only the missing trials, and the stored objective refuses
    other settings."""
    X, y = worker.make_data()
    result = tune(worker.make_estimator(), X, y, **worker.tune_kwargs(database, 1))
    assert [t.state for t in result.study.trials] == [TrialState.COMPLETE]
    again = tune(worker.make_estimator(), X, y, **worker.tune_kwargs(database, 2))
    assert again.study.trials[0].value == result.study.trials[0].value
    numbers = [t.number for t in again.study.trials if t.state in FINISHED]
    assert numbers == [0, 1]
    assert again.study.user_attrs["seqestimators:cv"].startswith("StratifiedKFold")
    with pytest.raises(ValueError, match="another fixed parameters"):
        tune(worker.make_estimator(max_epochs=3), X, y,
             **worker.tune_kwargs(database, 3))
