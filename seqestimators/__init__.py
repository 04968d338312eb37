"""seqestimators: scikit-learn estimators for user-behaviour sequences.

The package is organized by concept, as scikit-learn is:

- :mod:`seqestimators.data` -- ``to_sequences``, ``RaggedSequences``, labels,
  sessions, next-event samples (no torch needed);
- :mod:`seqestimators.preprocessing` -- ``SequenceVectorizer``;
- :mod:`seqestimators.nn` -- the pure-torch models;
- :mod:`seqestimators.neural_network` -- the scikit-learn estimators;
- :mod:`seqestimators.model_selection` -- tuning with Optuna (also importable
  as :mod:`seqestimators.tuning`);
- :mod:`seqestimators.metrics`, :mod:`seqestimators.datasets`,
  :mod:`seqestimators.persistence`;
- :mod:`seqestimators.pipeline` (``SequencePipeline``, with ``predict_topk``),
  :mod:`seqestimators.inspection` (permutation importance per channel,
  per-event attributions),
  :mod:`seqestimators.plotting` (training curves, attribution timelines;
  matplotlib).

Every public name is re-exported here. The names are resolved lazily, so
``from seqestimators import to_sequences`` does not import torch or skorch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> subpackage that defines it
_LAZY = {
    "RaggedSequences": "data",
    "SequencePartitions": "data",
    "load_ragged": "data",
    "sequences_from_parquet": "data",
    "leave_last_out": "data",
    "make_next_event_samples": "data",
    "make_window_labels": "data",
    "split_sessions": "data",
    "to_sequences": "data",
    "SequenceVectorizer": "preprocessing",
    "LSTMSequenceClassifier": "neural_network",
    "LSTMSequenceRegressor": "neural_network",
    "LSTMSequenceRecommender": "neural_network",
    "TransformerSequenceClassifier": "neural_network",
    "TransformerSequenceRegressor": "neural_network",
    "TransformerSequenceRecommender": "neural_network",
    "ExportedModel": "export",
    "ModelFileError": "persistence",
    "load": "persistence",
    "save": "persistence",
    "permutation_importance": "inspection",
    "event_attributions": "inspection",
    "plot_training_history": "plotting",
    "plot_event_attributions": "plotting",
    "SequencePipeline": "pipeline",
    "make_sequence_pipeline": "pipeline",
}

_SUBMODULES = {
    "data",
    "datasets",
    "export",
    "inspection",
    "metrics",
    "model_selection",
    "neural_network",
    "nn",
    "persistence",
    "pipeline",
    "plotting",
    "preprocessing",
    "serve",
    "tuning",
    "utils",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
