"""Search spaces: the default space per estimator, the one tuple form of a
space, its conversion to Optuna distributions, and sampling in a trial."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
)
from optuna.trial import Trial
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from ..neural_network import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    TransformerSequenceClassifier,
    TransformerSequenceRegressor,
)

__all__ = ["default_search_space", "to_distributions"]

_SPACE_FORMS = (
    '("int", low, high), ("int", low, high, step), ("log-int", low, high), '
    '("float", low, high), ("float", low, high, step), ("log-float", low, high), '
    '("categorical", [choice, ...]) or an optuna distribution '
    "(FloatDistribution, IntDistribution, CategoricalDistribution)"
)

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

#: widths and head counts are categorical: every width is a multiple of
#: every head count (hidden_size must divide into num_heads)
_TRANSFORMER_SPACE: dict[str, tuple] = {
    "hidden_size": ("categorical", [32, 64, 128]),
    "num_layers": ("int", 1, 3),
    "num_heads": ("categorical", [1, 2, 4]),
    "causal": ("categorical", [False, True]),
    "dropout": ("float", 0.0, 0.3),
    "lr": ("log-float", 1e-4, 1e-2),
    "weight_decay": ("log-float", 1e-6, 1e-2),
    "embedding_dim": ("categorical", ["auto", 8, 16, 32]),
    "batch_size": ("categorical", ["auto", 32, 64, 128]),
    "pooling": ("categorical", ["last+mean+max", "last", "mean", "attention"]),
}

#: default search space per estimator class, in the tuple form of
#: :func:`to_distributions`
DEFAULT_SEARCH_SPACES: dict[type, dict[str, tuple]] = {
    LSTMSequenceClassifier: _LSTM_SPACE,
    LSTMSequenceRegressor: _LSTM_SPACE,
    TransformerSequenceClassifier: _TRANSFORMER_SPACE,
    TransformerSequenceRegressor: _TRANSFORMER_SPACE,
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
        :class:`~seqestimators.LSTMSequenceRegressor`, their Transformer
        counterparts, or a Pipeline ending with one. For a Pipeline the
        names carry the final step's prefix (``"clf__lr"``).

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


def _space_to_json(dists: Mapping[str, BaseDistribution]) -> dict[str, str]:
    """The search space as JSON strings, as stored in a study's attributes."""
    return {name: distribution_to_json(dist) for name, dist in dists.items()}
