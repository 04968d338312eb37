"""seqestimators.tuning: search spaces, per-epoch pruning, persistent and
parallel studies, OptunaSearchCV interop, errors.

Real Optuna storages (SQLite and journal files under tmp_path) and real worker
processes (``tests/model_selection/_tuning_worker.py``); tiny data and networks
throughout.
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from optuna_integration import OptunaSearchCV
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceVectorizer,
    to_sequences,
)
from seqestimators.datasets import make_event_log
from seqestimators.tuning import (
    PruningCallback,
    TuningResult,
    default_search_space,
    report_to_trial,
    to_distributions,
    tune,
)

from . import _tuning_worker as worker

WORKER = Path(worker.__file__)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)

optuna.logging.set_verbosity(optuna.logging.WARNING)


# ------------------------------------------------------------------ data
@pytest.fixture(scope="module")
def numeric():
    """120 univariate sequences of 8 steps; the label is the sign of the last."""
    return worker.make_data()


@pytest.fixture(scope="module")
def event_data():
    """150 users of the synthetic event log as a sequence frame + will_buy."""
    events, targets = make_event_log(150, random_state=0)
    X = to_sequences(events, columns=["timestamp", "event_type", "category", "price"])
    return X, targets.loc[X.index, "will_buy"].to_numpy()


def small_clf(**params) -> LSTMSequenceClassifier:
    defaults = dict(hidden_size=4, max_epochs=3, n_iter_no_change=20, random_state=0)
    return LSTMSequenceClassifier(**{**defaults, **params})


def small_pipe(**params) -> Pipeline:
    return Pipeline(
        [("vec", SequenceVectorizer(max_len=20)), ("clf", small_clf(**params))]
    )


def finished(study: optuna.Study) -> list:
    return study.get_trials(deepcopy=False, states=FINISHED)


def load(storage: str | Path) -> optuna.Study | None:
    """The workers' study in ``storage``, or None while it does not exist."""
    store = (
        JournalStorage(JournalFileBackend(str(storage)))
        if str(storage).endswith(".log")
        else str(storage)
    )
    try:
        return optuna.load_study(study_name=worker.STUDY_NAME, storage=store)
    except KeyError:
        return None


# ---------------------------------------------------------- search spaces
def test_default_search_space_of_estimators_and_pipelines():
    space = default_search_space(small_clf())
    assert set(space) >= {
        "hidden_size", "num_layers", "dropout", "lr", "weight_decay",
        "embedding_dim", "batch_size", "pooling",
    }
    assert space["lr"] == ("log-float", 1e-4, 3e-2)
    assert default_search_space(LSTMSequenceRegressor()) == space
    # every default parameter exists, and every spec converts
    assert set(space) <= set(small_clf().get_params())
    assert set(to_distributions(space)) == set(space)
    # a Pipeline gets its final step's space, prefixed
    pipe_space = default_search_space(small_pipe())
    assert pipe_space == {f"clf__{k}": v for k, v in space.items()}
    # a fresh dict each time: editing one does not change the defaults
    space["pooling"][1].append("bogus")
    del space["lr"]
    assert default_search_space(small_clf())["pooling"][1] == [
        "last", "mean", "max", "attention",
    ]


def test_to_distributions_accepts_the_documented_forms():
    dists = to_distributions({
        "a": ("int", 1, 5),
        "b": ("int", 0, 10, 2),
        "c": ("log-int", 4, 64),
        "d": ("float", 0.0, 0.5),
        "e": ("float", 0.0, 1.0, 0.25),
        "f": ("log-float", 1e-4, 1e-1),
        "g": ("categorical", ["last", "mean"]),
        "h": FloatDistribution(0.1, 0.2),
    })
    assert dists["a"] == IntDistribution(1, 5)
    assert dists["b"] == IntDistribution(0, 10, step=2)
    assert dists["c"] == IntDistribution(4, 64, log=True)
    assert dists["d"] == FloatDistribution(0.0, 0.5)
    assert dists["e"] == FloatDistribution(0.0, 1.0, step=0.25)
    assert dists["f"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert dists["g"] == CategoricalDistribution(["last", "mean"])
    assert dists["h"] == FloatDistribution(0.1, 0.2)


# ------------------------------------------------------------ bad input
def test_unknown_parameter_lists_the_valid_ones(numeric):
    X, y = numeric
    with pytest.raises(ValueError, match=r"parameters \['hiden_size'\] that "
                       r"LSTMSequenceClassifier does not have") as info:
        tune(small_clf(), X, y, n_trials=1, search_space={"hiden_size": ("int", 4, 8)})
    msg = str(info.value)
    assert "Did you mean: 'hiden_size' -> 'hidden_size'" in msg
    assert "Valid parameters are: [" in msg and "'hidden_size'" in msg


def test_pipeline_parameter_without_prefix_suggests_the_prefixed_name(event_data):
    X, y = event_data
    with pytest.raises(ValueError, match=re.escape("'lr' -> 'clf__lr'")) as info:
        tune(small_pipe(), X, y, n_trials=1, search_space={"lr": ("float", 0, 1)})
    assert "named '<step>__<param>'" in str(info.value)


@pytest.mark.parametrize(
    "kwargs, exc, msg",
    [
        (dict(search_space={}), ValueError, "search_space is empty"),
        (dict(search_space={"lr": (1e-4, 1e-2)}), TypeError,
         "search_space['lr'] must be one of"),
        (dict(search_space={"lr": ("log-float", 0.0, 1e-2)}), ValueError,
         "search_space['lr'] = ('log-float', 0.0, 0.01) is not a valid range"),
        (dict(search_space={"lr": ("uniform", 0.1, 0.2)}), ValueError,
         "search_space['lr'] must be one of"),
        (dict(search_space=[("lr", ("float", 0.1, 0.2))]), TypeError,
         "search_space must be a dict"),
        (dict(n_trials=None), ValueError,
         "tune needs a stopping rule: pass n_trials"),
        (dict(n_trials=0), ValueError,
         "The 'n_trials' parameter of tune must be an int > 0 or None. Got 0"),
        (dict(storage="sqlite:////nonexistent-dir/sub/x.db"), ValueError,
         "Could not open the storage 'sqlite:////nonexistent-dir/sub/x.db'"),
        (dict(storage="tuning.db"), ValueError,
         "(for a SQLite file: 'sqlite:///tuning.db')"),
        (dict(storage="/nonexistent-dir/sub/x.log"), ValueError,
         "Could not open the journal file '/nonexistent-dir/sub/x.log'"),
        (dict(storage=3), TypeError, "storage must be None (in memory), a database"),
        (dict(scoring=["accuracy", "roc_auc"]), TypeError,
         "tune optimizes one score"),
    ],
)
def test_bad_input_gets_clear_errors(numeric, kwargs, exc, msg):
    X, y = numeric
    kwargs = {"n_trials": 1, "search_space": {"lr": ("float", 0.01, 0.1)}, **kwargs}
    with pytest.raises(exc, match=re.escape(msg)):
        tune(small_clf(), X, y, **kwargs)


def test_no_default_space_for_foreign_estimators(numeric):
    X, y = numeric
    with pytest.raises(TypeError, match="no default search space for "
                       "LogisticRegression.*Pass search_space="):
        tune(LogisticRegression(), X[:, :, 0], y, n_trials=1)


def test_resuming_with_another_search_space_is_refused(numeric, tmp_path):
    X, y = numeric
    url = f"sqlite:///{tmp_path / 'space.db'}"
    space = {"lr": ("log-float", 1e-2, 1e-1)}
    tune(small_clf(max_epochs=1), X, y, n_trials=1, cv=2, storage=url,
         search_space=space, refit=False)
    with pytest.raises(ValueError, match="was created with another search space"):
        tune(small_clf(max_epochs=1), X, y, n_trials=2, cv=2, storage=url,
             search_space={"lr": ("log-float", 1e-3, 1e-1)}, refit=False)


# ------------------------------------------------------------------ tune
def test_tune_bare_estimator(numeric):
    X, y = numeric
    clf = small_clf()
    before = clf.get_params()
    result = tune(clf, X, y, n_trials=3, cv=2, random_state=0,
                  search_space={"lr": ("log-float", 1e-2, 1e-1),
                                "pooling": ("categorical", ["last", "mean"])})
    assert isinstance(result, TuningResult)
    assert clf.get_params() == before  # the configured estimator is untouched
    assert len(finished(result.study)) == 3
    assert set(result.best_params_) == {"lr", "pooling"}
    best = result.best_trial_
    assert len(best.user_attrs["fold_scores"]) == 2
    assert result.best_score_ == pytest.approx(np.mean(best.user_attrs["fold_scores"]))
    assert best.user_attrs["fold_epochs"] == [3, 3]
    assert best.user_attrs["worker"].endswith(f":{os.getpid()}")
    # refit on all data with the best parameters, without a pruning callback
    est = result.best_estimator_
    assert est.lr == result.best_params_["lr"]
    assert est.callbacks is None
    assert est.predict(X[:5]).shape == (5,)
    # balanced labels: chance is 0.5 (3 epochs of a 4-unit net on 60 rows)
    assert result.best_score_ > 0.6
    # in memory, with a seeded sampler and estimator, a run is reproducible
    again = tune(clf, X, y, n_trials=3, cv=2, random_state=0, refit=False,
                 search_space={"lr": ("log-float", 1e-2, 1e-1),
                               "pooling": ("categorical", ["last", "mean"])})
    assert [(t.params, t.value) for t in again.study.trials] == [
        (t.params, t.value) for t in result.study.trials
    ]


def test_tune_pipeline_with_the_default_space(event_data):
    X, y = event_data
    result = tune(small_pipe(max_epochs=2), X, y, n_trials=2, cv=2,
                  random_state=0, refit=False)
    assert result.best_estimator_ is None
    assert set(result.best_params_) == set(default_search_space(small_pipe()))
    assert all(k.startswith("clf__") for k in result.best_params_)
    assert set(result.search_space_) == set(result.best_params_)


def test_n_trials_is_the_total_of_the_study(numeric, tmp_path):
    X, y = numeric
    kwargs = dict(cv=2, storage=f"sqlite:///{tmp_path / 'total.db'}",
                  search_space={"lr": ("log-float", 1e-2, 1e-1)}, refit=False)
    tune(small_clf(max_epochs=1), X, y, n_trials=2, **kwargs)
    study = tune(small_clf(max_epochs=1), X, y, n_trials=4, **kwargs).study
    assert [t.number for t in finished(study)] == [0, 1, 2, 3]
    # a study that holds n_trials already runs none
    study = tune(small_clf(max_epochs=1), X, y, n_trials=3, **kwargs).study
    assert len(study.trials) == 4


def test_n_jobs_threads_and_timeout(numeric):
    X, y = numeric
    space = {"lr": ("log-float", 1e-2, 1e-1)}
    result = tune(small_clf(max_epochs=1), X, y, n_trials=4, cv=2, n_jobs=2,
                  search_space=space, refit=False)
    assert len(finished(result.study)) == 4
    assert len(result.study.trials) == 4
    t0 = time.monotonic()
    result = tune(small_clf(max_epochs=1), X, y, timeout=0.5, cv=2,
                  search_space=space, refit=False)
    assert len(finished(result.study)) >= 1
    assert time.monotonic() - t0 < 10


# --------------------------------------------------------------- pruning
def test_pruning_callback_keeps_the_estimator_cloneable(numeric):
    X, y = numeric
    clf = small_clf(callbacks=[PruningCallback(monitor="valid_loss")])
    twin = clone(clf)
    assert twin.callbacks[0] is not clf.callbacks[0]
    assert twin.callbacks[0].get_params() == {"monitor": "valid_loss"}
    # outside a trial it reports nothing and changes nothing
    fitted = clone(clf).fit(X, y)
    assert fitted.n_iter_ == 3
    pickle.loads(pickle.dumps(fitted))

    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    fitted = clone(clf)
    with report_to_trial(trial, step_offset=10) as rep:
        fitted.fit(X, y)
    losses = fitted.history_["valid_loss"].tolist()
    assert rep.reported == [11, 12, 13] and rep.last_epoch == 3
    # losses are reported negated: higher is better, like the objective
    values = study.trials[0].intermediate_values
    assert values == {11 + i: pytest.approx(-v) for i, v in enumerate(losses)}
    # the fitted estimator holds no trial: it pickles, and clones cleanly
    pickle.loads(pickle.dumps(fitted))
    assert clone(fitted).get_params()["callbacks"][0].monitor == "valid_loss"


def test_pruned_raises_out_of_fit(numeric):
    """TrialPruned raised in a skorch callback propagates out of fit."""
    X, y = numeric
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.ThresholdPruner(lower=2.0))
    trial = study.ask()
    clf = small_clf(callbacks=[PruningCallback()])
    with report_to_trial(trial) as rep, pytest.raises(optuna.TrialPruned,
                                                      match="epoch 1 .step 1."):
        clf.fit(X, y)
    assert rep.last_epoch == 1


def test_steps_run_on_across_folds(numeric):
    """Fold k's epoch e is reported at step k * max_epochs + e."""
    X, y = numeric
    # no decrease counts as improvement (tol=10): early stopping always ends
    # a fold after its 2nd epoch, whatever the sampled lr
    result = tune(small_clf(max_epochs=4, n_iter_no_change=1, tol=10.0), X, y,
                  n_trials=2, cv=2, pruner=optuna.pruners.NopPruner(),
                  search_space={"lr": ("log-float", 1e-2, 1e-1)}, refit=False)
    for trial in result.study.trials:
        epochs = trial.user_attrs["fold_epochs"]
        assert epochs == [2, 2]  # early stopping after the 2nd epoch
        expected = [k * 4 + e for k, n in enumerate(epochs) for e in range(1, n + 1)]
        assert sorted(trial.intermediate_values) == expected == [1, 2, 5, 6]


def test_tune_uses_the_estimators_own_pruning_callback(numeric):
    """A PruningCallback configured by the user is used, not doubled."""
    X, y = numeric
    clf = small_clf(max_epochs=2, callbacks=[PruningCallback(monitor="valid_loss")])
    result = tune(clf, X, y, n_trials=1, cv=2, pruner=optuna.pruners.NopPruner(),
                  search_space={"lr": ("log-float", 1e-2, 1e-1)})
    values = result.study.trials[0].intermediate_values
    assert sorted(values) == [1, 2, 3, 4]
    # negated losses only (the linear start alone separates this data: 0 is
    # reached)
    assert all(v <= 0 for v in values.values()), values
    assert len(result.best_estimator_.callbacks) == 1


def test_pruning_needs_early_stopping(numeric):
    X, y = numeric
    with pytest.warns(UserWarning, match="early_stopping=False, so its fits have "
                      "no validation score"):
        result = tune(small_clf(max_epochs=1, early_stopping=False), X, y,
                      n_trials=1, cv=2, search_space={"lr": ("float", 0.01, 0.1)})
    assert result.study.trials[0].intermediate_values == {}


def test_median_pruner_prunes_the_bad_region(numeric, tmp_path):
    """lr=1e-7 cannot learn in 4 epochs; lr=3e-2 learns the task.

    The first trial is enqueued in the storage with the good lr, so that the
    median pruner has a reference from the start; the rest are sampled.
    """
    X, y = numeric
    url = f"sqlite:///{tmp_path / 'prune.db'}"
    optuna.create_study(storage=url, study_name="prune", direction="maximize")\
        .enqueue_trial({"lr": 3e-2})
    # wide=False: the linear start alone solves this task at any lr
    result = tune(
        small_clf(max_epochs=4, wide=False), X, y, n_trials=6, cv=2, storage=url,
        study_name="prune", search_space={"lr": ("categorical", [1e-7, 3e-2])},
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=1),
    )
    trials = result.study.trials
    states = [(t.params["lr"], t.state.name) for t in trials]
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned, states
    # every trial in the bad region is pruned, none in the good one
    assert all(t.params["lr"] == 1e-7 for t in pruned), states
    assert all(t.state == TrialState.PRUNED for t in trials
               if t.params["lr"] == 1e-7), states
    # a pruned trial stops within its first fold, before max_epochs
    for t in pruned:
        assert t.user_attrs["pruned_in_fold"] == 0
        assert t.user_attrs["fold_epochs"][0] < 4
        assert "fold_scores" not in t.user_attrs
    assert result.best_params_ == {"lr": 3e-2}
    assert result.best_estimator_.callbacks is None


def test_no_completed_trial(numeric):
    X, y = numeric
    kwargs = dict(n_trials=2, cv=2, search_space={"lr": ("float", 0.01, 0.1)},
                  pruner=optuna.pruners.ThresholdPruner(lower=2.0))
    with pytest.raises(ValueError, match=r"No trial of study .* completed "
                       r"\(2 pruned, 0 failed, 0 running\)\. There is no best"):
        tune(small_clf(), X, y, **kwargs)
    with pytest.warns(UserWarning, match="No trial"):
        result = tune(small_clf(), X, y, refit=False, **kwargs)
    assert result.best_params_ == {} and np.isnan(result.best_score_)


# ------------------------------------------------------- optuna-integration
# optuna-integration 5.0.0 still calls optuna.terminator, deprecated in optuna 5
@pytest.mark.filterwarnings("ignore:`optuna.terminator` module:FutureWarning")
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_optuna_search_cv_on_a_pipeline(event_data):
    X, y = event_data
    space = {"clf__lr": ("log-float", 1e-3, 1e-1), "clf__hidden_size": ("int", 4, 8)}
    search = OptunaSearchCV(small_pipe(max_epochs=2), to_distributions(space),
                            n_trials=2, cv=2, random_state=0)
    search.fit(X, y)
    assert set(search.best_params_) == set(space)
    assert search.predict(X.iloc[:5]).shape == (5,)
    assert len(search.study_.trials) == 2


# -------------------------------------------- persistence and parallel workers
def start_worker(storage: str, n_trials: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), storage, str(n_trials), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_mid_trial(proc: subprocess.Popen, storage: str, n_done: int) -> int:
    """Wait until ``n_done`` trials are finished and the next one is training
    its first fold (it has reported an epoch of fold 0); return its number."""
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the worker made no progress"
        study = load(storage)
        if study is not None:
            trials = study.get_trials()
            done = [t for t in trials if t.state in FINISHED]
            training = [
                t.number for t in trials
                if t.state == TrialState.RUNNING and t.intermediate_values
                and max(t.intermediate_values) < worker.MAX_EPOCHS
            ]
            if len(done) >= n_done and training:
                return training[0]
        time.sleep(0.02)


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_killed_run_resumes(numeric, tmp_path, kind):
    """SIGKILL a worker mid-trial; a second run finishes the study."""
    X, y = numeric
    n_trials = 5
    storage = (f"sqlite:///{tmp_path / 'study.db'}" if kind == "sqlite"
               else str(tmp_path / "study.log"))
    proc = start_worker(storage, n_trials)
    try:
        orphan = wait_mid_trial(proc, storage, 2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    before = {t.number: (t.state, t.value, t.params) for t in load(storage).trials}
    orphans = [n for n, (s, _, _) in before.items() if s == TrialState.RUNNING]
    assert orphans == [orphan]

    result = tune(worker.make_estimator(), X, y,
                  **worker.tune_kwargs(storage, n_trials))
    trials = result.study.get_trials()
    done = [t for t in trials if t.state in FINISHED]
    assert len(done) == n_trials
    # nothing lost: trials finished before the kill are kept as they were
    for number, (state, value, params) in before.items():
        if state in FINISHED:
            t = trials[number]
            assert (t.state, t.value, t.params) == (state, value, params)
    # the orphan was failed (its heartbeat stopped) and its slot run again
    assert [t.state for t in trials if t.number in orphans] == [TrialState.FAIL]
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    # nothing duplicated: distinct numbers and parameters
    assert len({t.number for t in trials}) == len(trials)
    assert len({tuple(sorted(t.params.items())) for t in done}) == n_trials
    workers = {t.user_attrs["worker"] for t in done}
    assert len(workers) == 2 and f"{os.uname().nodename}:{os.getpid()}" in workers


def test_ctrl_c_fails_the_running_trial(tmp_path):
    """skorch takes Ctrl-C inside fit for "stop training"; under tune it ends
    the run and fails the trial instead of scoring a truncated fit."""
    storage = str(tmp_path / "interrupted.log")
    proc = start_worker(storage, 50)
    try:
        running = wait_mid_trial(proc, storage, 1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGINT and "KeyboardInterrupt" in err, err
    trials = load(storage).get_trials()
    assert trials[running].state == TrialState.FAIL  # not scored as complete
    assert "fold_scores" not in trials[running].user_attrs
    assert [t.state for t in trials if t.number != running] == [
        TrialState.COMPLETE
    ] * (len(trials) - 1)


def test_parallel_workers_share_a_study(tmp_path):
    """Two processes on one journal file complete exactly n_trials together."""
    n_trials = 8
    storage = str(tmp_path / "parallel.log")
    barrier = tmp_path / "barrier"
    procs = [start_worker(storage, n_trials, "--barrier", str(barrier),
                          "--workers", "2") for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "done" in out
    trials = load(storage).get_trials()
    done = [t for t in trials if t.state in FINISHED]
    assert len(done) == n_trials
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    # a trial started in a race after the last slot was taken is failed empty
    for t in trials:
        if t.state == TrialState.FAIL:
            assert t.user_attrs.get("surplus") and not t.params
    assert len({t.number for t in trials}) == len(trials)
    assert len({tuple(sorted(t.params.items())) for t in done}) == n_trials
    assert len({t.user_attrs["worker"] for t in done}) == 2
