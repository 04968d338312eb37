"""Where a study lives: opening a storage from what the user passed, guarding
journal files against torn entries, creating or loading the study, and
seeding its sampler."""

from __future__ import annotations

import contextlib
import json
import os
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import BaseStorage, InMemoryStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

#: study name used when ``tune`` gets a storage but no ``study_name``
DEFAULT_STUDY_NAME = "seqestimators"
#: file endings that select a journal file storage
JOURNAL_SUFFIXES = (".log", ".journal")
#: looks at an incomplete last line of a journal before calling it torn: a
#: worker may be appending at that very moment
_TORN_CHECKS = 3
_TORN_CHECK_SECONDS = 0.1


def _make_storage(
    storage: str | os.PathLike | BaseStorage | None,
    heartbeat_interval: int,
    grace_period: int,
) -> BaseStorage:
    """The optuna storage for ``tune``'s ``storage`` argument."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, BaseStorage):
        return storage
    if not isinstance(storage, (str, os.PathLike)):
        raise TypeError(
            "storage must be None (in memory), a database URL such as "
            "'sqlite:///tuning.db' or 'postgresql://user:pass@host/db', a journal "
            f"file path ending in {' or '.join(JOURNAL_SUFFIXES)}, or an optuna "
            f"storage object. Got {type(storage).__name__} instead."
        )
    text = os.fspath(storage)
    if "://" in text:
        return _rdb_storage(text, heartbeat_interval, grace_period)
    if text.endswith(JOURNAL_SUFFIXES):
        _check_journal_tail(text)
        try:
            return JournalStorage(JournalFileBackend(text))
        except OSError as exc:
            raise ValueError(
                f"Could not open the journal file {text!r}: {exc}. Check that its "
                "folder exists and is writable."
            ) from exc
    raise ValueError(
        f"Cannot tell what kind of storage {text!r} is. Pass a database URL "
        f"(for a SQLite file: 'sqlite:///{text}'), a journal file path ending in "
        f"{' or '.join(JOURNAL_SUFFIXES)}, or an optuna storage object."
    )


def _rdb_storage(url: str, heartbeat_interval: int, grace_period: int) -> RDBStorage:
    """An ``RDBStorage`` with Optuna's heartbeat."""
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # parallel workers on one SQLite file wait for its lock
        engine_kwargs = {"connect_args": {"timeout": 60}}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            return RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
            )
    except Exception as exc:  # sqlalchemy and driver errors vary
        raise ValueError(
            f"Could not open the storage {url!r}: {type(exc).__name__}: {exc}. "
            "Check the URL, that its folder exists and is writable (SQLite: "
            "'sqlite:///relative/path.db' or 'sqlite:////absolute/path.db'), "
            "and that the database driver is installed and the server is "
            "reachable."
        ) from exc


# ------------------------------------------------------------ journal files


def _end_of_last_line(path: str, size: int, chunk: int = 1 << 16) -> int:
    """Byte offset just after the last newline of the file (0 if none)."""
    with open(path, "rb") as f:
        end = size
        while end > 0:
            start = max(0, end - chunk)
            f.seek(start)
            block = f.read(end - start)
            at = block.rfind(b"\n")
            if at >= 0:
                return start + at + 1
            end = start
    return 0


def _recovery(path: str, offset: int) -> str:
    return (
        f"To recover, keep a copy of the file, then truncate it to its first "
        f"{offset} bytes: os.truncate({path!r}, {offset}) in Python, or "
        f"`truncate -s {offset} {path}` in a shell; then run tune again."
    )


def _check_journal_tail(path: str) -> None:
    """Refuse a journal file whose last line is incomplete (a write torn by
    power loss or a full disk): the next entry would be appended to it and
    damage the file for good."""
    for attempt in range(_TORN_CHECKS):
        try:
            size = os.path.getsize(path)
        except OSError:
            return  # a new file, or an error that opening reports
        if size == 0:
            return
        with open(path, "rb") as f:
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
        if attempt < _TORN_CHECKS - 1:
            time.sleep(_TORN_CHECK_SECONDS)
    offset = _end_of_last_line(path, size)
    raise ValueError(
        f"The journal file {path!r} ends with an incomplete entry: its last "
        f"{size - offset} bytes (from byte {offset} on) are not a complete line, "
        "as left by a write cut short (power loss, full disk, killed process). "
        "Optuna would append to that line and damage the file for good. "
        f"{_recovery(path, offset)} Only that incomplete entry is lost."
    )


def _first_bad_line(path: str) -> tuple[int, int]:
    """Number (1-based) and byte offset of the first line that is not JSON."""
    offset = 0
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                json.loads(line)
            except ValueError:
                return number, offset
            offset += len(line)
    return 0, offset


@contextlib.contextmanager
def _journal_errors(storage: Any) -> Iterator[None]:
    """Turn the raw JSONDecodeError of a damaged journal file into an error
    that names the file, the damaged line and the recovery."""
    try:
        yield
    except json.JSONDecodeError as exc:
        if not isinstance(storage, (str, os.PathLike)):
            raise
        path = os.fspath(storage)
        number, offset = _first_bad_line(path)
        raise ValueError(
            f"The journal file {path!r} is damaged: line {number} (from byte "
            f"{offset} on) is not a valid entry ({exc}), typically an entry torn "
            "by a crash or a full disk that a later write continued. "
            f"{_recovery(path, offset)} The entries from that line on are lost."
        ) from exc


# ------------------------------------------------------------ the study


def _open_study(
    storage_: BaseStorage,
    study_name: str | None,
    pruner: optuna.pruners.BasePruner | None,
    *,
    shared: bool,
    storage: Any,
) -> optuna.Study:
    """Create the study, or load it when it exists; it must maximize."""
    name = study_name
    if shared and name is None:
        name = DEFAULT_STUDY_NAME
    if pruner is None:
        pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3)
    try:
        study = optuna.create_study(
            storage=storage_,
            study_name=name,
            pruner=pruner,
            direction="maximize",
            load_if_exists=True,
        )
    except Exception as exc:
        if not shared or isinstance(exc, (TypeError, ValueError)):
            raise
        raise ValueError(
            f"Could not open study {name!r} in storage {storage!r}: "
            f"{type(exc).__name__}: {exc}."
        ) from exc
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ValueError(
            f"Study {study.study_name!r} minimizes, but tune maximizes scikit-learn "
            "scores (greater is better). Use another study_name."
        )
    return study


def _sampler_seed(random_state: Any, n_existing: int, shared: bool) -> int | None:
    """Seed of the default sampler; see ``tune``'s ``random_state``."""
    if random_state is None:
        return None
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if not shared:
        return int(random_state)
    # Workers on one storage, and a resumed run, must not replay each other's
    # proposals: mix in the study's progress and the process.
    seq = np.random.SeedSequence([int(random_state), n_existing, os.getpid()])
    return int(seq.generate_state(1)[0] % (2**31 - 1))


def _make_sampler(
    sampler: optuna.samplers.BaseSampler | None,
    study: optuna.Study,
    random_state: Any,
    shared: bool,
) -> optuna.samplers.BaseSampler:
    if sampler is not None:
        return sampler
    n_existing = len(study.get_trials(deepcopy=False))
    return optuna.samplers.TPESampler(
        seed=_sampler_seed(random_state, n_existing, shared)
    )
