"""Validation of ``tune``'s arguments, with scikit-learn-style messages."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from sklearn.base import BaseEstimator
from sklearn.metrics import check_scoring

from ..neural_network._base import _BaseSequenceEstimator
from ._spaces import _final_step


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


def _check_n_jobs(n_jobs: Any) -> int:
    if n_jobs == -1:
        return os.cpu_count() or 1
    if not isinstance(n_jobs, Integral) or isinstance(n_jobs, bool) or n_jobs < 1:
        raise ValueError(
            "The 'n_jobs' parameter of tune must be an int >= 1, or -1 for one "
            f"thread per CPU. Got {n_jobs!r} instead."
        )
    return int(n_jobs)


def _check_stopping(
    n_trials: Any, timeout: Any, heartbeat_interval: Any, grace_period: Any
) -> int:
    """Check the stopping rule and the heartbeat; return the grace period."""
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
    return 2 * heartbeat_interval if grace_period is None else grace_period


def _check_scorer(estimator: BaseEstimator, scoring: Any) -> Any:
    if isinstance(scoring, (list, tuple, set, dict)):
        raise TypeError(
            "tune optimizes one score: scoring must be a single scorer name or "
            f"callable, or None. Got {scoring!r} instead."
        )
    return check_scoring(estimator, scoring=scoring)


def _check_optuna_objects(pruner: Any, sampler: Any) -> None:
    for what, obj, base, example in (
        ("pruner", pruner, optuna.pruners.BasePruner, "MedianPruner"),
        ("sampler", sampler, optuna.samplers.BaseSampler, "TPESampler"),
    ):
        if obj is not None and not isinstance(obj, base):
            raise TypeError(
                f"{what} must be an optuna {base.__name__} (e.g. "
                f"optuna.{what}s.{example}()) or None. Got {type(obj).__name__} "
                "instead."
            )


def _check_estimator(estimator: Any) -> None:
    if not isinstance(estimator, BaseEstimator):
        raise TypeError(
            "tune needs a scikit-learn estimator (or Pipeline) as its first "
            f"argument. Got {type(estimator).__name__} instead."
        )


def _warn_if_unprunable(
    estimator: BaseEstimator, dists: Mapping[str, BaseDistribution]
) -> None:
    """Warn when the final estimator has no validation score per epoch."""
    prefix, final = _final_step(estimator)
    if not isinstance(final, _BaseSequenceEstimator):
        return
    if final.get_params()["early_stopping"] or prefix + "early_stopping" in dists:
        return
    warnings.warn(
        f"{type(final).__name__} has early_stopping=False, so its fits "
        "have no validation score to report per epoch and no trial will "
        "be pruned. Set early_stopping=True to prune.",
        UserWarning,
        stacklevel=3,
    )
