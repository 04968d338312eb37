"""Hyperparameter tuning with Optuna (needs the ``tuning`` extra)."""

from ._pruning import PruningCallback, report_to_trial
from ._spaces import default_search_space, to_distributions
from ._tune import TuningResult, tune

__all__ = [
    "PruningCallback",
    "TuningResult",
    "default_search_space",
    "report_to_trial",
    "to_distributions",
    "tune",
]
