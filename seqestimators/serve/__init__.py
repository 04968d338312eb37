"""Serve a model over HTTP: ``python -m seqestimators.serve MODEL``.

A Starlette application (:func:`create_app`) run by uvicorn (the ``serve``
extra), around an :class:`~seqestimators.export.ExportedModel`:
``GET /health``, ``GET /model`` and ``POST /predict`` with micro-batching of
concurrent requests. docs/serving.md has the payloads and measured numbers.
"""

from ._app import OUTPUTS, create_app
from ._batching import MicroBatcher
from ._loading import load_model

__all__ = ["OUTPUTS", "MicroBatcher", "create_app", "load_model"]
