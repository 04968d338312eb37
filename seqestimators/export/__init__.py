"""Export a fitted pipeline, and predict from raw events without it.

- :func:`export` writes the network (ONNX or TorchScript) with the
  vectorizer's state as JSON data inside the file;
- :class:`NumpyEncoder` turns raw event lists into the network's input with
  numpy alone;
- :class:`ExportedModel` runs the two (onnxruntime for ONNX: no torch,
  scikit-learn or skorch).

``import seqestimators.export`` imports neither torch nor scikit-learn;
:func:`export` imports them when called.
"""

from ._encoder import NumpyEncoder
from ._export import METADATA_KEY, export
from ._runtime import ExportedModel
from ._state import estimator_state, vectorizer_state
from ._times import EventError

__all__ = [
    "METADATA_KEY",
    "EventError",
    "ExportedModel",
    "NumpyEncoder",
    "estimator_state",
    "export",
    "vectorizer_state",
]
