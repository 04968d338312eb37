"""Hyperparameter tuning with Optuna: search spaces, per-epoch pruning, studies
that resume and run on several workers.

Optuna drives the estimators from outside (DESIGN.md, decision 5): a trial is
handed to a fit through a context (:func:`report_to_trial`) that a stateless
skorch callback (:class:`PruningCallback`) reads, never through a constructor
parameter, so a configured estimator stays cloneable and picklable.

:func:`tune` is the one-call entry point: it cross-validates an estimator or a
:class:`~sklearn.pipeline.Pipeline` per trial, reports the validation score of
every epoch of every fold to the trial, prunes hopeless trials, keeps its study
in a real storage (SQLite, a journal file, PostgreSQL) and resumes it after a
crash. See ``docs/tuning.md``.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import logging
import math
import os
import signal
import socket
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, Trial, TrialState
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from skorch.callbacks import Callback

from ..neural_network._estimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    _BaseSequenceEstimator,
)
from ..utils._compat import _safe_indexing

__all__ = [
    "PruningCallback",
    "TuningResult",
    "default_search_space",
    "report_to_trial",
    "to_distributions",
    "tune",
]

#: study name used when ``tune`` gets a storage but no ``study_name``
DEFAULT_STUDY_NAME = "seqestimators"
#: file endings that select a journal file storage
JOURNAL_SUFFIXES = (".log", ".journal")
#: name of the pruning callback that ``tune`` adds to the final estimator
PRUNING_CALLBACK_NAME = "tuning_pruning"

_HEARTBEAT_ATTR = "seqestimators:heartbeat"
_SPACE_ATTR = "seqestimators:search_space"
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
#: states of trials that hold one of the ``n_trials`` slots
_CLAIMING = (
    TrialState.COMPLETE,
    TrialState.PRUNED,
    TrialState.RUNNING,
    TrialState.WAITING,
)
_POLL_SECONDS = 0.5
_WAIT_NOTE_SECONDS = 60.0
_logger = logging.getLogger(__name__)

_SPACE_FORMS = (
    '("int", low, high), ("int", low, high, step), ("log-int", low, high), '
    '("float", low, high), ("float", low, high, step), ("log-float", low, high), '
    '("categorical", [choice, ...]) or an optuna distribution '
    "(FloatDistribution, IntDistribution, CategoricalDistribution)"
)

# --------------------------------------------------------------------------
# search spaces
# --------------------------------------------------------------------------

_LSTM_SPACE: dict[str, tuple] = {
    "hidden_size": ("log-int", 16, 128),
    "num_layers": ("int", 1, 2),
    "dropout": ("float", 0.0, 0.5),
    "lr": ("log-float", 1e-4, 3e-2),
    "weight_decay": ("log-float", 1e-6, 1e-2),
    "embedding_dim": ("categorical", ["auto", 8, 16, 32]),
    "batch_size": ("categorical", ["auto", 32, 64, 128]),
    "pooling": ("categorical", ["last", "mean", "max", "attention"]),
    "cell": ("categorical", ["lstm", "gru"]),
}

#: default search space per estimator class, in the tuple form of
#: :func:`to_distributions`
DEFAULT_SEARCH_SPACES: dict[type, dict[str, tuple]] = {
    LSTMSequenceClassifier: _LSTM_SPACE,
    LSTMSequenceRegressor: _LSTM_SPACE,
}


def _final_step(estimator: BaseEstimator) -> tuple[str, BaseEstimator]:
    """Parameter prefix and object of the estimator that a (nested) Pipeline
    ends with; ``("", estimator)`` for anything else."""
    prefix = ""
    while isinstance(estimator, Pipeline):
        name, step = estimator.steps[-1]
        prefix += f"{name}__"
        estimator = step
    return prefix, estimator


def default_search_space(estimator: BaseEstimator) -> dict[str, tuple]:
    """The search space :func:`tune` uses when none is given.

    Parameters
    ----------
    estimator : estimator or Pipeline
        An :class:`~seqestimators.LSTMSequenceClassifier`, an
        :class:`~seqestimators.LSTMSequenceRegressor`, or a Pipeline ending
        with one. For a Pipeline the names carry the final step's prefix
        (``"clf__lr"``).

    Returns
    -------
    dict
        A new dict ``{parameter name: spec}`` in the tuple form documented in
        :func:`to_distributions`; edit it freely.

    Raises
    ------
    TypeError
        If there is no default space for the (final) estimator.

    Examples
    --------
    >>> from seqestimators import LSTMSequenceClassifier
    >>> from seqestimators.tuning import default_search_space
    >>> default_search_space(LSTMSequenceClassifier())["lr"]
    ('log-float', 0.0001, 0.03)
    """
    prefix, final = _final_step(estimator)
    for cls, space in DEFAULT_SEARCH_SPACES.items():
        if isinstance(final, cls):
            return {
                prefix + name: (spec[0], list(spec[1]))
                if spec[0] == "categorical"
                else spec
                for name, spec in space.items()
            }
    known = ", ".join(cls.__name__ for cls in DEFAULT_SEARCH_SPACES)
    raise TypeError(
        f"There is no default search space for {type(final).__name__}; defaults "
        f"exist for {known} (alone or as the last step of a Pipeline). Pass "
        "search_space={'param': spec, ...} with specs of the form "
        f"{_SPACE_FORMS}."
    )


def _to_distribution(name: str, spec: Any) -> BaseDistribution:
    if isinstance(spec, BaseDistribution):
        if not isinstance(
            spec, (FloatDistribution, IntDistribution, CategoricalDistribution)
        ):
            raise TypeError(
                f"search_space[{name!r}] is a {type(spec).__name__}, a deprecated "
                "optuna distribution. Use FloatDistribution, IntDistribution or "
                "CategoricalDistribution, or a tuple spec."
            )
        return spec
    if not isinstance(spec, (tuple, list)) or not spec or not isinstance(spec[0], str):
        raise TypeError(
            f"search_space[{name!r}] must be one of {_SPACE_FORMS}. "
            f"Got {spec!r} instead."
        )
    kind, *args = spec
    try:
        if kind == "categorical" and len(args) == 1:
            choices = args[0]
            if isinstance(choices, (str, bytes)) or not hasattr(choices, "__iter__"):
                raise TypeError("the choices must be a list")
            return CategoricalDistribution(list(choices))
        if kind in ("int", "log-int") and len(args) in (2, 3 if kind == "int" else 2):
            low, high, *step = args
            if not all(isinstance(v, Integral) for v in (low, high, *step)):
                raise TypeError("low, high and step must be integers")
            return IntDistribution(
                int(low),
                int(high),
                log=kind == "log-int",
                step=int(step[0]) if step else 1,
            )
        if kind in ("float", "log-float") and len(args) in (
            2,
            3 if kind == "float" else 2,
        ):
            low, high, *step = args
            if not all(isinstance(v, Real) for v in (low, high, *step)):
                raise TypeError("low, high and step must be numbers")
            return FloatDistribution(
                float(low),
                float(high),
                log=kind == "log-float",
                step=float(step[0]) if step else None,
            )
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"search_space[{name!r}] = {spec!r} is not a valid range: {exc}. "
            f"Specs have the form {_SPACE_FORMS}."
        ) from None
    raise ValueError(
        f"search_space[{name!r}] must be one of {_SPACE_FORMS}. Got {spec!r} instead."
    )


def to_distributions(
    search_space: Mapping[str, Any],
) -> dict[str, BaseDistribution]:
    """Convert a search space to optuna distributions.

    This is the one form of search space that :func:`tune` accepts: a mapping
    from parameter name (with step prefixes for a Pipeline, ``"clf__lr"``) to
    either a tuple

    - ``("int", low, high)`` or ``("int", low, high, step)``: integers in
      ``[low, high]``;
    - ``("log-int", low, high)``: integers, sampled on a log scale;
    - ``("float", low, high)`` or ``("float", low, high, step)``: floats;
    - ``("log-float", low, high)``: floats on a log scale (``low > 0``);
    - ``("categorical", [choice, ...])``: one of the choices (None, bool, int,
      float or str);

    or an optuna ``FloatDistribution``, ``IntDistribution`` or
    ``CategoricalDistribution``. Bounds are inclusive.

    The result can be handed to optuna-integration's ``OptunaSearchCV`` as
    ``param_distributions``.

    Parameters
    ----------
    search_space : mapping of str to tuple or optuna distribution
        The search space.

    Returns
    -------
    dict of str to optuna BaseDistribution

    Examples
    --------
    >>> from seqestimators.tuning import to_distributions
    >>> dists = to_distributions({"lr": ("log-float", 1e-4, 1e-2),
    ...                           "pooling": ("categorical", ["last", "mean"])})
    >>> type(dists["lr"]).__name__, dists["lr"].log
    ('FloatDistribution', True)
    """
    if not isinstance(search_space, Mapping):
        raise TypeError(
            "search_space must be a dict mapping parameter names to specs of the "
            f"form {_SPACE_FORMS}, or None for the default space. Got "
            f"{type(search_space).__name__} instead."
        )
    return {
        str(name): _to_distribution(name, spec) for name, spec in search_space.items()
    }


def _check_space(
    estimator: BaseEstimator, search_space: Mapping[str, Any] | None
) -> dict[str, BaseDistribution]:
    name = type(estimator).__name__
    if search_space is None:
        search_space = default_search_space(estimator)
    dists = to_distributions(search_space)
    if not dists:
        raise ValueError(
            "search_space is empty: there is nothing to tune. Pass at least one "
            f"parameter of {name} (e.g. {{'lr': ('log-float', 1e-4, 1e-2)}}), or "
            "search_space=None for the default space (see "
            "seqestimators.tuning.default_search_space)."
        )
    valid = sorted(estimator.get_params(deep=True))
    unknown = [p for p in dists if p not in valid]
    if unknown:
        hints = []
        for p in unknown:
            close = (
                difflib.get_close_matches(p, valid, n=1)
                or [v for v in valid if v.endswith(f"__{p}")][:1]
            )
            if close:
                hints.append(f"{p!r} -> {close[0]!r}")
        hint = f" Did you mean: {', '.join(hints)}?" if hints else ""
        prefix_note = (
            " Parameters of a Pipeline step are named '<step>__<param>'."
            if isinstance(estimator, Pipeline)
            else ""
        )
        raise ValueError(
            f"search_space has parameters {unknown} that {name} does not have."
            f"{hint}{prefix_note} Valid parameters are: {valid}."
        )
    return dists


def _suggest(trial: Trial, name: str, dist: BaseDistribution) -> Any:
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(
            name, dist.low, dist.high, log=dist.log, step=dist.step
        )
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(
            name, dist.low, dist.high, log=dist.log, step=dist.step
        )
    return trial.suggest_categorical(name, dist.choices)


# --------------------------------------------------------------------------
# handing the trial to a fit: context + stateless callback
# --------------------------------------------------------------------------


@dataclass
class _Reporting:
    """What :class:`PruningCallback` reports to, set by :func:`report_to_trial`."""

    trial: Trial
    step_offset: int
    last_epoch: int = 0
    reported: list[int] = field(default_factory=list)
    #: set by tune on Ctrl-C: end the fit and let KeyboardInterrupt through
    interrupted: threading.Event | None = None


_ACTIVE: contextvars.ContextVar[_Reporting | None] = contextvars.ContextVar(
    "seqestimators_tuning_trial", default=None
)


@contextlib.contextmanager
def report_to_trial(trial: Trial, *, step_offset: int = 0) -> Iterator[_Reporting]:
    """Let :class:`PruningCallback` report to ``trial`` during the fits inside.

    The trial is held in a context variable, so it is visible to fits run in
    the same thread (and task) only, and never stored in an estimator.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The running trial.
    step_offset : int, default=0
        Added to the (1-based) epoch number to give the step reported to the
        trial; :func:`tune` passes ``fold * max_epochs`` (see
        ``docs/tuning.md``).

    Yields
    ------
    reporting
        An object whose ``last_epoch`` is the last epoch reported and
        ``reported`` the steps reported, updated during the fit.

    Examples
    --------
    Inside your own Optuna objective::

        model = clone(pipe).set_params(clf__callbacks=[PruningCallback()],
                                       clf__lr=trial.suggest_float("lr", 1e-4, 1e-2))
        with report_to_trial(trial):
            model.fit(X_train, y_train)      # may raise optuna.TrialPruned
        return model.score(X_valid, y_valid)
    """
    with _reporting(trial, step_offset, None) as rep:
        yield rep


@contextlib.contextmanager
def _reporting(
    trial: Trial, step_offset: int, interrupted: threading.Event | None
) -> Iterator[_Reporting]:
    rep = _Reporting(trial, int(step_offset), interrupted=interrupted)
    token = _ACTIVE.set(rep)
    try:
        yield rep
    finally:
        _ACTIVE.reset(token)


class PruningCallback(Callback):
    """skorch callback: report the validation score per epoch to an Optuna
    trial and stop a hopeless trial.

    The callback holds no trial: it reads the trial set by
    :func:`report_to_trial` around the fit (which :func:`tune` does for every
    fold). Outside such a context it does nothing, so an estimator configured
    with it still clones, pickles and fits normally.

    After each epoch it reports ``monitor`` at step ``step_offset + epoch``,
    then asks the trial's pruner; if the trial should be pruned it raises
    :class:`optuna.TrialPruned`, which propagates out of ``fit`` (skorch only
    swallows ``KeyboardInterrupt``, the signal of early stopping). When early
    stopping ends training, the final epoch is reported at the end of
    training.

    Parameters
    ----------
    monitor : {"valid_score", "valid_loss"} or str, default="valid_score"
        Column of the net's history to report. Values are oriented like the
        study's objective (higher is better): columns ending in ``_loss`` are
        reported negated. ``valid_score`` is the accuracy (classifier) or R²
        (regressor) on the early-stopping validation split, so the estimator
        needs ``early_stopping=True``. Epochs without the column, and
        non-finite values, are not reported.

    Examples
    --------
    >>> from sklearn.base import clone
    >>> from seqestimators import LSTMSequenceClassifier
    >>> from seqestimators.tuning import PruningCallback
    >>> clf = LSTMSequenceClassifier(callbacks=[PruningCallback()])
    >>> clone(clf).callbacks[0].monitor
    'valid_score'
    """

    def __init__(self, monitor: str = "valid_score") -> None:
        self.monitor = monitor

    def on_train_begin(self, net: Any, **kwargs: Any) -> None:
        self.last_reported_epoch_ = 0

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        self._report(net)
        self._check_interrupted()

    def on_train_end(self, net: Any, **kwargs: Any) -> None:
        # Early stopping ends the loop from its own on_epoch_end, which runs
        # before ours: report that last epoch here.
        self._report(net)
        self._check_interrupted()

    @staticmethod
    def _check_interrupted() -> None:
        # skorch takes KeyboardInterrupt for "stop training" and returns from
        # fit normally. Under tune, Ctrl-C must end the trial (FAIL) instead of
        # scoring a truncated fit: raise again, from on_train_end past skorch.
        rep = _ACTIVE.get()
        if rep is not None and rep.interrupted is not None and rep.interrupted.is_set():
            raise KeyboardInterrupt

    def _report(self, net: Any) -> None:
        rep = _ACTIVE.get()
        if rep is None or not len(net.history):
            return
        row = net.history[-1]
        epoch = int(row["epoch"])
        if epoch <= getattr(self, "last_reported_epoch_", 0):
            return
        self.last_reported_epoch_ = epoch
        rep.last_epoch = epoch
        value = row.get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        value = float(value)
        oriented = -value if self.monitor.endswith("_loss") else value
        step = rep.step_offset + epoch
        rep.trial.report(oriented, step)
        rep.reported.append(step)
        if rep.trial.should_prune():
            raise optuna.TrialPruned(
                f"Pruned at epoch {epoch} (step {step}): {self.monitor}={value:.4g}."
            )


def _has_pruning_callback(callbacks: list | None) -> bool:
    for cb in callbacks or []:
        obj = cb[1] if isinstance(cb, tuple) else cb
        if isinstance(obj, PruningCallback):
            return True
    return False


# --------------------------------------------------------------------------
# storages, heartbeats, stale trials
# --------------------------------------------------------------------------


def _make_storage(
    storage: str | os.PathLike | BaseStorage | None,
    heartbeat_interval: int,
    grace_period: int,
) -> BaseStorage | None:
    if storage is None or isinstance(storage, BaseStorage):
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
        engine_kwargs: dict[str, Any] = {}
        if text.startswith("sqlite"):
            # parallel workers on one SQLite file wait for its lock
            engine_kwargs = {"connect_args": {"timeout": 60}}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                return RDBStorage(
                    text,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period,
                )
        except Exception as exc:  # sqlalchemy and driver errors vary
            raise ValueError(
                f"Could not open the storage {text!r}: {type(exc).__name__}: {exc}. "
                "Check the URL, that its folder exists and is writable (SQLite: "
                "'sqlite:///relative/path.db' or 'sqlite:////absolute/path.db'), "
                "and that the database driver is installed and the server is "
                "reachable."
            ) from exc
    if text.endswith(JOURNAL_SUFFIXES):
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


def _study_storage(study: optuna.Study) -> BaseStorage:
    return study._storage


def _native_heartbeat(study: optuna.Study) -> bool:
    get_interval = getattr(_study_storage(study), "get_heartbeat_interval", None)
    return callable(get_interval) and get_interval() is not None


class _Heartbeat:
    """Record a heartbeat of a running trial in its system attributes, for
    storages without Optuna's own heartbeat (journal files)."""

    def __init__(self, trial: Trial, interval: float) -> None:
        self._storage = trial.storage
        self._trial_id = trial._trial_id
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


def _fail_stale_trials(study: optuna.Study, grace_period: float) -> None:
    """Mark FAIL the running trials whose worker stopped beating."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        if _native_heartbeat(study):
            optuna.storages.fail_stale_trials(study)
            return
    storage = _study_storage(study)
    now = time.time()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        last = t.system_attrs.get(_HEARTBEAT_ATTR)
        if last is None:
            last = t.datetime_start.timestamp() if t.datetime_start else now
        if now - float(last) > grace_period:
            try:
                storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
            except UpdateFinishedTrialError:
                pass  # finished or failed by another worker meanwhile


# --------------------------------------------------------------------------
# tune
# --------------------------------------------------------------------------


@dataclass
class TuningResult:
    """What :func:`tune` returns.

    Attributes
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
    """

    study: optuna.Study
    best_params_: dict[str, Any]
    best_score_: float
    best_estimator_: BaseEstimator | None
    best_trial_: FrozenTrial | None
    search_space_: dict[str, BaseDistribution]


class _SurplusTrial(Exception):
    """A trial started after other workers had taken every remaining slot."""


def _check_positive(name: str, value: Any, kind: type, *, none_ok: bool) -> None:
    if value is None and none_ok:
        return
    ok = isinstance(value, kind) and not isinstance(value, bool) and value > 0
    if not ok:
        what = "an int" if kind is Integral else "a number"
        raise ValueError(
            f"The {name!r} parameter of tune must be {what} > 0"
            f"{' or None' if none_ok else ''}. Got {value!r} instead."
        )


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


def _sampler_seed(random_state: Any, n_existing: int, shared: bool) -> int | None:
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
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _count(study: optuna.Study) -> tuple[int, int]:
    trials = study.get_trials(deepcopy=False, states=(*_FINISHED, TrialState.RUNNING))
    finished = sum(t.state in _FINISHED for t in trials)
    return finished, len(trials) - finished


def tune(
    estimator: BaseEstimator,
    X: Any,
    y: Any,
    *,
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
        resumed if present. None: ``"seqestimators"``.
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
    if not isinstance(estimator, BaseEstimator):
        raise TypeError(
            "tune needs a scikit-learn estimator (or Pipeline) as its first "
            f"argument. Got {type(estimator).__name__} instead."
        )
    if n_trials is None and timeout is None:
        raise ValueError(
            "tune needs a stopping rule: pass n_trials (the total number of "
            "finished trials the study should hold), timeout (seconds), or both. "
            "Got n_trials=None and timeout=None."
        )
    _check_positive("n_trials", n_trials, Integral, none_ok=True)
    _check_positive("timeout", timeout, Real, none_ok=True)
    _check_positive("heartbeat_interval", heartbeat_interval, Integral, none_ok=False)
    _check_positive("grace_period", grace_period, Integral, none_ok=True)
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if not isinstance(n_jobs, Integral) or isinstance(n_jobs, bool) or n_jobs < 1:
        raise ValueError(
            "The 'n_jobs' parameter of tune must be an int >= 1, or -1 for one "
            f"thread per CPU. Got {n_jobs!r} instead."
        )
    grace = 2 * heartbeat_interval if grace_period is None else grace_period

    dists = _check_space(estimator, search_space)
    if isinstance(scoring, (list, tuple, set, dict)):
        raise TypeError(
            "tune optimizes one score: scoring must be a single scorer name or "
            f"callable, or None. Got {scoring!r} instead."
        )
    scorer = check_scoring(estimator, scoring=scoring)
    for what, obj, base in (
        ("pruner", pruner, optuna.pruners.BasePruner),
        ("sampler", sampler, optuna.samplers.BaseSampler),
    ):
        if obj is not None and not isinstance(obj, base):
            raise TypeError(
                f"{what} must be an optuna {base.__name__} (e.g. "
                f"optuna.{what}s.{'MedianPruner' if what == 'pruner' else 'TPESampler'}"
                f"()) or None. Got {type(obj).__name__} instead."
            )
    cv_ = check_cv(cv, y, classifier=is_classifier(estimator))
    splits = list(cv_.split(X, y))

    prefix, final = _final_step(estimator)
    prunable = isinstance(final, _BaseSequenceEstimator)
    stride = _n_epochs_bound(final, prefix, dists) if prunable else 0
    if prunable and not final.get_params()["early_stopping"]:
        dist = dists.get(prefix + "early_stopping")
        if dist is None:
            warnings.warn(
                f"{type(final).__name__} has early_stopping=False, so its fits "
                "have no validation score to report per epoch and no trial will "
                "be pruned. Set early_stopping=True to prune.",
                UserWarning,
                stacklevel=2,
            )

    # ---------------------------------------------------------- the study
    storage_ = _make_storage(storage, heartbeat_interval, grace)
    name = study_name if study_name is not None else DEFAULT_STUDY_NAME
    if pruner is None:
        pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3)
    try:
        study = optuna.create_study(
            storage=storage_,
            study_name=name if storage_ is not None else study_name,
            pruner=pruner,
            direction="maximize",
            load_if_exists=True,
        )
    except Exception as exc:
        if storage_ is None or isinstance(exc, (TypeError, ValueError)):
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
    space_json = {
        k: optuna.distributions.distribution_to_json(d) for k, d in dists.items()
    }
    stored = study.user_attrs.get(_SPACE_ATTR)
    if stored is None:
        study.set_user_attr(_SPACE_ATTR, space_json)
    elif stored != space_json:
        raise ValueError(
            f"Study {study.study_name!r} in this storage was created with another "
            f"search space:\n  stored: {stored}\n  now:    {space_json}\nResume it "
            "with the same search space, or pass a new study_name."
        )
    shared = storage_ is not None
    if sampler is None:
        n_existing = len(study.get_trials(deepcopy=False))
        sampler = optuna.samplers.TPESampler(
            seed=_sampler_seed(random_state, n_existing, shared)
        )
    study.sampler = sampler

    worker = f"{socket.gethostname()}:{os.getpid()}"
    interrupted = threading.Event()

    # ------------------------------------------------------- the objective
    def objective(trial: Trial) -> float:
        if n_trials is not None:
            before = study.get_trials(deepcopy=False, states=_CLAIMING)
            if sum(t.number < trial.number for t in before) >= n_trials:
                trial.set_user_attr("surplus", True)
                raise _SurplusTrial(
                    f"not needed: the study already had {n_trials} trials finished "
                    "or running when it started (another worker took the last one)"
                )
        beat = (
            _Heartbeat(trial, heartbeat_interval)
            if shared and not _native_heartbeat(study)
            else contextlib.nullcontext()
        )
        with beat:
            return _run_trial(trial)

    def _run_trial(trial: Trial) -> float:
        trial.set_user_attr("worker", worker)
        params = {p: _suggest(trial, p, d) for p, d in dists.items()}
        model = clone(estimator).set_params(**params)
        if prunable:
            _, model_final = _final_step(model)
            callbacks = list(model_final.callbacks or [])
            if not _has_pruning_callback(callbacks):
                callbacks.append((PRUNING_CALLBACK_NAME, PruningCallback()))
                model_final.set_params(callbacks=callbacks)
        fold_scores: list[float] = []
        fold_epochs: list[int | None] = []
        for k, (train, test) in enumerate(splits):
            fold_model = clone(model)
            with _reporting(trial, k * stride, interrupted) as rep:
                try:
                    fold_model.fit(_safe_indexing(X, train), _safe_indexing(y, train))
                except optuna.TrialPruned:
                    fold_epochs.append(rep.last_epoch)
                    trial.set_user_attr("fold_epochs", fold_epochs)
                    trial.set_user_attr("pruned_in_fold", k)
                    raise
            score = float(
                scorer(fold_model, _safe_indexing(X, test), _safe_indexing(y, test))
            )
            fold_scores.append(score)
            fold_epochs.append(_epochs_trained(fold_model))
            trial.set_user_attr("fold_scores", fold_scores)
            trial.set_user_attr("fold_epochs", fold_epochs)
        return float(np.mean(fold_scores))

    # --------------------------------------------------------- the workers
    deadline = None if timeout is None else time.monotonic() + timeout

    def work() -> None:
        waiting_since = None
        while deadline is None or time.monotonic() < deadline:
            if interrupted.is_set():
                return
            if shared:
                _fail_stale_trials(study, grace)
            if n_trials is not None:
                finished, running = _count(study)
                if finished >= n_trials:
                    return
                if finished + running >= n_trials:
                    # other workers hold the missing trials: wait for them
                    now = time.monotonic()
                    waiting_since = waiting_since or now
                    if now - waiting_since > _WAIT_NOTE_SECONDS:
                        _logger.warning(
                            "Study %r holds %d of %d trials; waiting for the %d "
                            "running in other workers (a trial whose worker died "
                            "is failed %d s after its last heartbeat).",
                            study.study_name,
                            finished,
                            n_trials,
                            running,
                            grace,
                        )
                        waiting_since = now
                    time.sleep(_POLL_SECONDS)
                    continue
            waiting_since = None
            study.optimize(objective, n_trials=1, catch=(_SurplusTrial,))

    with warnings.catch_warnings(), _catch_sigint(interrupted):
        warnings.simplefilter("ignore", ExperimentalWarning)
        if n_jobs == 1:
            work()
        else:
            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                for fut in [pool.submit(work) for _ in range(n_jobs)]:
                    fut.result()

    # -------------------------------------------------------------- result
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
        warnings.warn(msg, UserWarning, stacklevel=2)
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
