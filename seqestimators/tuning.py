"""Hyperparameter tuning with Optuna; kept as an alias of
:mod:`seqestimators.model_selection`, where the code lives."""

from .model_selection import (  # noqa: F401
    PruningCallback,
    TuningResult,
    __all__,  # noqa: F401
    default_search_space,
    report_to_trial,
    to_distributions,
    tune,
)
