"""Loading what the service serves: an exported file, or a model file of
:func:`seqestimators.save` (exported to ONNX on loading)."""

from __future__ import annotations

import os
import tempfile
import zipfile

from ..export import ExportedModel

__all__ = ["load_model"]


def _is_saved_model(path: str) -> bool:
    """Whether ``path`` is a :func:`seqestimators.save` archive."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return "model.json" in zf.namelist()


def load_model(path, *, n_threads: int = 1) -> ExportedModel:
    """The model at ``path``, ready to serve.

    Parameters
    ----------
    path : str or path-like
        An ONNX or TorchScript file of :func:`~seqestimators.export.export`,
        or a fitted pipeline saved with :func:`seqestimators.save` (then
        exported to ONNX in a temporary directory: loading needs torch and
        scikit-learn, serving does not).
    n_threads : int, default=1
        Threads of one network call.

    Returns
    -------
    ExportedModel

    Examples
    --------
    >>> load_model("missing.onnx")
    Traceback (most recent call last):
    ...
    FileNotFoundError: No model file at 'missing.onnx'.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No model file at {path!r}.")
    if not _is_saved_model(path):
        return ExportedModel(path, n_threads=n_threads)
    from .. import persistence
    from ..export import export

    pipeline = persistence.load(path)
    folder = tempfile.mkdtemp(prefix="seqestimators-serve-")
    model = export(pipeline, os.path.join(folder, "model.onnx"))
    return ExportedModel(model.path, n_threads=n_threads)
