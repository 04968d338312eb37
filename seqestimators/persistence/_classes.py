"""The classes a model file may hold, and what each may carry.

Our estimators (:class:`~seqestimators.neural_network._state.SavedStateMixin`)
state and restore themselves. The scikit-learn classes and the
SequenceVectorizer take an explicit, generic path: their fitted attributes
must be among the names listed here for their class, with a value of the
listed kind, and parameters that would reach the operating system
(``Pipeline.memory``, ``n_jobs``) are refused.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    LabelEncoder,
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)

from ..neural_network import (
    LSTMSequenceClassifier,
    LSTMSequenceRecommender,
    LSTMSequenceRegressor,
    TransformerSequenceClassifier,
    TransformerSequenceRecommender,
    TransformerSequenceRegressor,
)
from ..neural_network._state import MAX_THREADS, check_attribute_kinds
from ..preprocessing import SequenceVectorizer

__all__ = ["SUPPORTED", "check_generic_params", "restore_generic"]

#: classes that can be saved and loaded, by the name written to the file.
#: scikit-learn classes qualify when their whole state is parameters and
#: plain arrays; anything holding code (FunctionTransformer, a custom class)
#: is refused by :func:`save`.
SUPPORTED: dict[str, type] = {
    "seqestimators.LSTMSequenceClassifier": LSTMSequenceClassifier,
    "seqestimators.LSTMSequenceRegressor": LSTMSequenceRegressor,
    "seqestimators.TransformerSequenceClassifier": TransformerSequenceClassifier,
    "seqestimators.TransformerSequenceRegressor": TransformerSequenceRegressor,
    "seqestimators.LSTMSequenceRecommender": LSTMSequenceRecommender,
    "seqestimators.TransformerSequenceRecommender": TransformerSequenceRecommender,
    "seqestimators.SequenceVectorizer": SequenceVectorizer,
    "sklearn.pipeline.Pipeline": Pipeline,
    "sklearn.compose.TransformedTargetRegressor": TransformedTargetRegressor,
    "sklearn.preprocessing.StandardScaler": StandardScaler,
    "sklearn.preprocessing.MinMaxScaler": MinMaxScaler,
    "sklearn.preprocessing.MaxAbsScaler": MaxAbsScaler,
    "sklearn.preprocessing.RobustScaler": RobustScaler,
    "sklearn.preprocessing.LabelEncoder": LabelEncoder,
    "sklearn.linear_model.LogisticRegression": LogisticRegression,
    "sklearn.linear_model.LinearRegression": LinearRegression,
    "sklearn.linear_model.Ridge": Ridge,
}
NAME_OF = {cls: name for name, cls in SUPPORTED.items()}

_SCALER = {"scale_": "array", "n_samples_seen_": "number"}
#: fitted attributes of the classes on the generic path, with their kind
_ATTRIBUTES: dict[type, dict[str, str]] = {
    StandardScaler: {**_SCALER, "mean_": "array", "var_": "array"},
    MinMaxScaler: {
        **_SCALER,
        "min_": "array",
        "data_min_": "array",
        "data_max_": "array",
        "data_range_": "array",
    },
    MaxAbsScaler: {**_SCALER, "max_abs_": "array"},
    RobustScaler: {"center_": "array", "scale_": "array"},
    LabelEncoder: {"classes_": "array"},
    LogisticRegression: {
        "classes_": "array",
        "coef_": "array",
        "intercept_": "array",
        "n_iter_": "array",
    },
    LinearRegression: {
        "coef_": "array",
        "intercept_": "number",
        "rank_": "number",
        "singular_": "array",
    },
    Ridge: {
        "coef_": "array",
        "intercept_": "number",
        "n_iter_": "number",
        "solver_": "str",
    },
    Pipeline: {},
    TransformedTargetRegressor: {
        "regressor_": "estimator",
        "transformer_": "estimator",
        "_training_dim": "number",
    },
    SequenceVectorizer: {
        "time_": "str",
        "time_type_": "str",
        "categorical_": "strs",
        "numeric_": "strs",
        "time_features_": "strs",
        "vocabularies_": "vocabularies",
        "cardinalities_": "numbers",
        "vocabulary_fingerprint_": "str",
        "mean_": "array",
        "scale_": "array",
    },
}
#: attributes any class on the generic path may have
_ANY = {
    "n_features_in_": "number",
    "feature_names_in_": "array",
    "_sklearn_output_config": "config",
}


def _is_number(v: Any) -> bool:
    return (isinstance(v, Real | np.number) and not isinstance(v, bool)) or (
        isinstance(v, np.ndarray) and v.dtype.kind in "iuf" and v.ndim <= 1
    )


_KINDS = {
    "array": lambda v: v is None or isinstance(v, np.ndarray | Real),
    "number": lambda v: v is None or _is_number(v),
    "str": lambda v: v is None or isinstance(v, str),
    "strs": lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
    "numbers": lambda v: isinstance(v, list) and all(map(_is_number, v)),
    "vocabularies": lambda v: (
        isinstance(v, dict)
        and all(isinstance(a, np.ndarray) and a.ndim == 1 for a in v.values())
    ),
    "config": lambda v: (
        isinstance(v, dict) and all(isinstance(x, str | type(None)) for x in v.values())
    ),
    "estimator": lambda v: type(v) in NAME_OF,
}


def _is_step(step: Any) -> bool:
    if step is None or isinstance(step, str):
        return step in (None, "passthrough")
    return type(step) in NAME_OF


def restore_generic(est: Any, attributes: Any) -> None:
    """Set the fitted attributes of a scikit-learn class or the vectorizer
    after checking each name and kind against the list of its class."""
    name = type(est).__name__
    check_attribute_kinds(name, attributes, {**_ANY, **_ATTRIBUTES[type(est)]},
                          _KINDS)
    est.__dict__.update(attributes)


def check_generic_params(est: Any) -> None:
    """Parameters of a class on the generic path, as loaded: valid for the
    class, data (never code), and nothing that reaches the operating system."""
    name = type(est).__name__
    if hasattr(est, "_parameter_constraints"):
        est._validate_params()
    params = est.get_params(deep=False)
    if params.get("memory") is not None:
        raise ValueError(
            f"{name}.memory is {params['memory']!r:.80}: a model file may not name "
            "a cache directory (set_params(memory=None) before saving)."
        )
    n_jobs = params.get("n_jobs")
    if n_jobs is not None and not (
        isinstance(n_jobs, Integral) and n_jobs <= MAX_THREADS
    ):
        raise ValueError(f"{name}.n_jobs={n_jobs!r:.40} exceeds {MAX_THREADS}")
    for key, value in params.items():
        if callable(value) and type(value) not in NAME_OF:
            raise ValueError(f"{name}.{key} holds code, which a model file cannot")
    if isinstance(est, Pipeline):
        for step in est.steps:
            ok = isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], str)
            if not ok or not _is_step(step[1]):
                raise ValueError(f"bad Pipeline step {step!r:.80}")
