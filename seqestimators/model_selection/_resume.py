"""What defines a study's objective, stored in the study so that a resumed
run cannot mix scores that are not comparable.

The scores of two trials compare only if they come from the same objective:
the same scorer, the same cross-validation, the same estimator with the same
fixed (not searched) parameters, and the same search space. ``tune`` writes a
JSON description of each in the study's user attributes when it first runs
the study and refuses to resume it with another one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from numbers import Integral
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from sklearn.base import BaseEstimator

from ._spaces import _space_to_json

#: what defines the objective -> the study user attribute that stores it
_ATTRS = {
    "search space": "seqestimators:search_space",
    "scoring": "seqestimators:scoring",
    "cross-validation": "seqestimators:cv",
    "estimator": "seqestimators:estimator",
    "fixed parameters": "seqestimators:fixed_params",
}
#: parameters that change how a fit runs, not what it computes
_NOT_DEFINING = frozenset({"verbose", "n_threads"})
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _qualname(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _describe(value: Any) -> str:
    """A description of a parameter value that is the same in every process:
    estimators by class (their parameters are described one by one),
    callbacks by class and parameters, other objects by repr without memory
    addresses."""
    if isinstance(value, BaseEstimator):
        return type(value).__name__
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_describe(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if hasattr(value, "get_params") and not isinstance(value, type):
        params = ", ".join(
            f"{k}={_describe(v)}" for k, v in sorted(value.get_params().items())
        )
        return f"{type(value).__name__}({params})"
    return _ADDRESS.sub("", repr(value))


def _describe_cv(cv: Any, cv_: Any, splits: list) -> str:
    if cv is None or isinstance(cv, Integral) or hasattr(cv, "split"):
        return _ADDRESS.sub("", repr(cv_))
    digest = hashlib.sha1()
    for _, test in splits:
        digest.update(repr(list(map(int, test))).encode())
    return f"{len(splits)} given splits (test indices sha1 {digest.hexdigest()[:12]})"


def _describe_objective(
    estimator: BaseEstimator,
    dists: Mapping[str, BaseDistribution],
    scoring: Any,
    cv: Any,
    cv_: Any,
    splits: list,
) -> dict[str, Any]:
    """The JSON-able description stored under :data:`_ATTRS`."""
    fixed = {
        name: _describe(value)
        for name, value in sorted(estimator.get_params(deep=True).items())
        if name not in dists and name.rsplit("__", 1)[-1] not in _NOT_DEFINING
    }
    return {
        "search space": _space_to_json(dists),
        "scoring": "None (the estimator's score)"
        if scoring is None
        else _describe(scoring),
        "cross-validation": _describe_cv(cv, cv_, splits),
        "estimator": _qualname(estimator),
        "fixed parameters": fixed,
    }


def _differences(what: str, stored: Any, now: Any) -> list[str]:
    if what == "fixed parameters" and isinstance(stored, dict):
        return [
            f"  fixed parameter {name!r}: stored {stored.get(name, '(absent)')}, "
            f"now {now.get(name, '(absent)')}"
            for name in sorted(set(stored) | set(now))
            if stored.get(name) != now.get(name)
        ]
    return [f"  {what}:\n    stored: {stored}\n    now:    {now}"]


def _join(words: list[str]) -> str:
    return " and ".join(filter(None, [", ".join(words[:-1]), words[-1]]))


def _check_resume(study: optuna.Study, description: Mapping[str, Any]) -> None:
    """Store the objective's description in a new study; refuse to resume a
    study whose stored description differs."""
    stored = study.user_attrs
    for what, value in description.items():
        if _ATTRS[what] not in stored:
            study.set_user_attr(_ATTRS[what], value)
    stored = study.user_attrs  # again: another worker may have written first
    changed = [w for w, v in description.items() if stored[_ATTRS[w]] != v]
    if not changed:
        return
    lines = [
        line
        for what in changed
        for line in _differences(what, stored[_ATTRS[what]], description[what])
    ]
    raise ValueError(
        f"Study {study.study_name!r} in this storage was created with another "
        f"{_join(changed)}:\n" + "\n".join(lines) + "\nIts trials were "
        "scored by another objective, so resuming would mix scores that do not "
        "compare. Resume it with the same settings, or pass a new study_name "
        "to start a new study."
    )
