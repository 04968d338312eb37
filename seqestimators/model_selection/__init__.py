"""Hyperparameter tuning with Optuna (needs the ``tuning`` extra)."""

from ._tune import (
    PruningCallback,
    TuningResult,
    default_search_space,
    report_to_trial,
    to_distributions,
    tune,
)

__all__ = [
    "PruningCallback",
    "TuningResult",
    "default_search_space",
    "report_to_trial",
    "to_distributions",
    "tune",
]
