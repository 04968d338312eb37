"""tune: groups reach the splitter, a resumed study keeps its objective, a
torn journal file gets a clear error and a recovery, threaded trials are
deterministic.

Real SQLite and journal storages under tmp_path; tiny data and networks.
"""

from __future__ import annotations

import os
import re

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GroupKFold, KFold

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    make_window_labels,
)
from seqestimators.datasets import make_event_log
from seqestimators.tuning import tune

from . import _tuning_worker as worker

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = {"lr": ("log-float", 1e-2, 1e-1)}


@pytest.fixture(scope="module")
def numeric():
    return worker.make_data()


def small_clf(**params) -> LSTMSequenceClassifier:
    defaults = dict(hidden_size=4, max_epochs=1, n_iter_no_change=20, random_state=0)
    return LSTMSequenceClassifier(**{**defaults, **params})


# ----------------------------------------------------------------- groups
class TrainEntities(ClassifierMixin, BaseEstimator):
    """Remembers the entities (first index level) it was fitted on."""

    def __init__(self, alpha=0.5):
        self.alpha = alpha

    def fit(self, X, y):
        self.entities_ = set(X.index.get_level_values(0))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def disjoint(estimator, X, y):
    """1.0 if no test entity was in the fold's training data, else 0.0."""
    return float(not estimator.entities_ & set(X.index.get_level_values(0)))


@pytest.fixture(scope="module")
def windows():
    """Two rolling windows per user: each user has rows in both."""
    events, _ = make_event_log(40, random_state=0)
    history, labels = make_window_labels(
        events, ["2024-01-20", "2024-02-10"], "14D", columns=["event_type"]
    )
    assert labels["group"].value_counts().max() == 2
    return history, labels


def test_groups_reach_the_splitter(windows):
    history, labels = windows
    kwargs = dict(n_trials=1, scoring=disjoint, search_space={"alpha": ("float", 0, 1)},
                  refit=False)
    result = tune(TrainEntities(), history, labels["any_event"],
                  groups=labels["group"], cv=GroupKFold(2), **kwargs)
    # no user on both sides of a fold
    assert result.best_trial_.user_attrs["fold_scores"] == [1.0, 1.0]
    # the same check sees the leak when the folds ignore the users ...
    leaky = tune(TrainEntities(), history, labels["any_event"], cv=KFold(2),
                 **kwargs)
    assert 0.0 in leaky.best_trial_.user_attrs["fold_scores"]
    # ... and a group splitter without groups is refused by scikit-learn
    with pytest.raises(ValueError, match="groups"):
        tune(TrainEntities(), history, labels["any_event"], cv=GroupKFold(2),
             **kwargs)


# -------------------------------------------------- resuming another objective
@pytest.fixture(scope="module")
def created(numeric, tmp_path_factory):
    """A SQLite study with one finished trial of ``small_clf`` under cv=2."""
    X, y = numeric
    url = f"sqlite:///{tmp_path_factory.mktemp('resume') / 'study.db'}"
    tune(small_clf(), X, y, n_trials=1, cv=2, storage=url, study_name="s",
         search_space=SPACE, refit=False)
    return url


@pytest.mark.parametrize(
    "change, what, detail",
    [
        (dict(scoring="roc_auc"), "scoring",
         "stored: None (the estimator's score)\n    now:    'roc_auc'"),
        (dict(cv=3), "cross-validation", "StratifiedKFold(n_splits=3"),
        (dict(estimator=small_clf(max_epochs=2)), "fixed parameters",
         "fixed parameter 'max_epochs': stored 1, now 2"),
        (dict(estimator=small_clf(pooling="mean")), "fixed parameters",
         "fixed parameter 'pooling': stored 'last+mean+max', now 'mean'"),
        (dict(estimator=LSTMSequenceRegressor(hidden_size=4, max_epochs=1,
                                              n_iter_no_change=20,
                                              random_state=0)),
         "cross-validation, estimator and fixed parameters",
         "LSTMSequenceRegressor"),
        (dict(search_space={"lr": ("log-float", 1e-3, 1e-1)}), "search space",
         "stored: {'lr': "),
    ],
)
def test_resuming_with_another_objective_is_refused(numeric, created, change,
                                                    what, detail):
    X, y = numeric
    kwargs = {**dict(estimator=small_clf(), cv=2, search_space=SPACE), **change}
    estimator = kwargs.pop("estimator")
    with pytest.raises(ValueError) as info:
        tune(estimator, X, y, n_trials=2, storage=created, study_name="s",
             refit=False, **kwargs)
    msg = str(info.value)
    assert f"Study 's' in this storage was created with another {what}" in msg
    assert detail in msg
    assert "Resume it with the same settings, or pass a new study_name" in msg
    # nothing was run, and the study still describes the first objective
    study = optuna.load_study(study_name="s", storage=created)
    assert len(study.trials) == 1
    assert study.user_attrs["seqestimators:scoring"] == (
        "None (the estimator's score)"
    )


def test_resuming_with_the_same_objective_or_a_new_study(numeric, created):
    X, y = numeric
    # verbosity does not define the objective; the study holds n_trials already
    study = tune(small_clf(verbose=0), X, y, n_trials=1, cv=2, storage=created,
                 study_name="s", search_space=SPACE, refit=False).study
    assert len(study.trials) == 1
    fixed = study.user_attrs["seqestimators:fixed_params"]
    assert fixed["max_epochs"] == "1" and "lr" not in fixed
    assert study.user_attrs["seqestimators:estimator"].endswith(
        ".LSTMSequenceClassifier"
    )
    # other settings are welcome in a new study
    other = tune(small_clf(), X, y, n_trials=1, cv=3, scoring="roc_auc",
                 storage=created, study_name="s-roc", search_space=SPACE,
                 refit=False).study
    assert other.user_attrs["seqestimators:scoring"] == "'roc_auc'"


# ------------------------------------------------------------ torn journals
TORN = b'{"op_code": 5, "worker_id": "0c1f'


def tune_journal(numeric, path, n_trials):
    X, y = numeric
    return tune(small_clf(), X, y, n_trials=n_trials, cv=2, storage=str(path),
                search_space=SPACE, refit=False)


def test_a_torn_last_line_is_refused_with_its_recovery(numeric, tmp_path):
    path = tmp_path / "torn.log"
    tune_journal(numeric, path, 1)
    complete = path.stat().st_size
    with open(path, "ab") as f:
        f.write(TORN)  # the write of a process cut short
    with pytest.raises(ValueError) as info:
        tune_journal(numeric, path, 2)
    msg = str(info.value)
    assert f"The journal file {str(path)!r} ends with an incomplete entry" in msg
    assert f"last {len(TORN)} bytes (from byte {complete} on)" in msg
    assert f"os.truncate({str(path)!r}, {complete})" in msg
    assert path.stat().st_size == complete + len(TORN)  # nothing was written
    # the recovery it names works: the study resumes with its trial
    os.truncate(path, complete)
    study = tune_journal(numeric, path, 2).study
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2


def test_a_journal_damaged_mid_file_names_the_line(numeric, tmp_path):
    path = tmp_path / "damaged.log"
    tune_journal(numeric, path, 1)
    complete = path.stat().st_size
    n_lines = path.read_bytes().count(b"\n")
    with open(path, "ab") as f:
        f.write(TORN)
    # a later writer appends its entry to the torn line, then writes on
    entry = b'{"op_code":2,"worker_id":"w-1","study_id":0,"user_attr":{"a":1}}\n'
    with open(path, "ab") as f:
        f.write(entry + entry)
    with pytest.raises(ValueError, match=re.escape(
        f"The journal file {str(path)!r} is damaged: line {n_lines + 1} (from "
        f"byte {complete} on) is not a valid entry"
    )) as info:
        tune_journal(numeric, path, 2)
    assert f"os.truncate({str(path)!r}, {complete})" in str(info.value)
    os.truncate(path, complete)
    assert len(tune_journal(numeric, path, 2).study.trials) == 2


# ------------------------------------------------------------ determinism
def test_threaded_trials_with_the_same_parameters_score_the_same(numeric,
                                                                 tmp_path):
    """Each trial's model is deterministic given its parameters and
    random_state, also when two trials train at the same time in threads."""
    X, y = numeric
    scores = {}
    for n_jobs in (1, 2):
        url = f"sqlite:///{tmp_path / f'threads{n_jobs}.db'}"
        # a one-value space gives both trials the same parameters (enqueued
        # trials popped by two threads of one process race in Optuna's RDB
        # storage: "Cannot tell a COMPLETE trial")
        result = tune(small_clf(max_epochs=2), X, y, n_trials=2, cv=2,
                      n_jobs=n_jobs, storage=url, study_name="t",
                      search_space={"lr": ("categorical", [0.05])},
                      pruner=optuna.pruners.NopPruner(), refit=False)
        scores[n_jobs] = [
            (t.user_attrs["fold_scores"], t.intermediate_values)
            for t in result.study.trials
        ]
    assert scores[2][0] == scores[2][1]
    assert scores[1] == scores[2]


def test_ctrl_c_inside_a_storage_write_is_deferred():
    """SIGINT landing in Optuna's storage code (a journal lock, a database
    transaction) is noted, not raised there; the run stops after it."""
    import signal
    import threading
    from types import SimpleNamespace

    from seqestimators.model_selection._parallel import _catch_sigint, _in_storage

    storage_frame = SimpleNamespace(
        f_globals={"__name__": "optuna.storages.journal._file"}, f_back=None
    )
    ours = SimpleNamespace(f_globals={"__name__": "seqestimators.x"},
                           f_back=storage_frame)
    assert _in_storage(ours)
    assert not _in_storage(SimpleNamespace(f_globals={"__name__": "skorch.net"},
                                           f_back=None))
    interrupted = threading.Event()
    with _catch_sigint(interrupted):
        handler = signal.getsignal(signal.SIGINT)
        handler(signal.SIGINT, ours)  # deferred: no exception
        assert interrupted.is_set()
        with pytest.raises(KeyboardInterrupt):
            handler(signal.SIGINT, SimpleNamespace(
                f_globals={"__name__": "skorch.net"}, f_back=None))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
