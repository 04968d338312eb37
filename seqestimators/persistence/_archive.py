"""Save and load fitted models as data: safetensors weights plus JSON.

A model file is a ZIP archive with two members and a checksum:

``model.json``
    The description: file format and version, the versions of the libraries
    that wrote it, the sha256 of the weights, and the object tree. Every
    estimator is a node ``{"$": "estimator", "class": ..., "params": ...,
    "attributes": ...}`` whose class is looked up in an explicit registry;
    parameters and fitted attributes are plain JSON values, with tagged
    objects for what JSON lacks (numpy arrays with their dtype, tuples, dicts
    with non-string keys, non-finite floats, bytes, timestamps as ISO 8601
    text with their timezone name). A fitted network adds a ``"net"`` entry:
    the keyword arguments of its torch module and loss, the optimizer state,
    the batch-order random generator and the training history (per-epoch
    scalars).
``weights.safetensors``
    Every tensor (module weights, optimizer state, loss weights), named by
    where it sits in the tree.
the ZIP comment
    ``seqestimators-model sha256 model.json=<hex> weights.safetensors=<hex>``,
    checked before anything else is parsed.

Loading reads JSON, numbers and tensors, and nothing else: no pickle, no
``eval``, no import of a name found in the file. Classes resolve through
:data:`SUPPORTED`, a fixed mapping from names to classes. Our estimators
write and restore their own state (``_saved_state``/``_restore_saved_state``
of :class:`~seqestimators.neural_network._state.SavedStateMixin`); the
scikit-learn classes and the vectorizer take the generic path of
:mod:`._classes`. Every problem in a file raises :class:`ModelFileError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from typing import Any

import numpy as np
import safetensors.torch
import sklearn
import skorch
import torch
from sklearn.utils.validation import check_is_fitted

from ..neural_network._state import SavedStateMixin
from ._classes import NAME_OF, SUPPORTED, check_generic_params, restore_generic
from ._container import JSON, WEIGHTS, read_archive, write_archive, write_path
from ._errors import ModelFileError
from ._values import Reader, Writer

__all__ = ["FORMAT_VERSION", "SUPPORTED", "ModelFileError", "load", "save"]

#: the ``format`` field of every model file
FORMAT = "seqestimators-model"
#: layout version written by this library; files with a higher version are
#: refused, lower versions would be converted (there are none yet)
FORMAT_VERSION = 1

#: where each part of a net's state sits in the tensor names
_NET_PATHS = {
    "module_kwargs": "",
    "criterion_kwargs": ".criterion",
    "module": ".module",
    "optimizer": ".optimizer",
    "batch_order_rng": ".rng",
    "history": ".history",
}
_NODE_KEYS = {"$", "class", "params", "attributes"}


def _versions() -> dict[str, str]:
    from .. import __version__

    return {
        "seqestimators": __version__,
        "torch": torch.__version__,
        "scikit-learn": sklearn.__version__,
        "skorch": skorch.__version__,
        "numpy": np.__version__,
    }


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------


def _write_estimator(writer: Writer, est: Any, path: str) -> dict:
    if type(est) not in NAME_OF:
        raise TypeError(_unsupported_message(est, path))
    params = est.get_params(deep=False)
    if params.get("callbacks") and isinstance(est, SavedStateMixin):
        raise TypeError(
            f"{path}.callbacks holds skorch callbacks, which are code: a model "
            "file holds data only. Callbacks act during training only; "
            "set_params(callbacks=None) before saving."
        )
    if params.get("memory") is not None:
        raise TypeError(
            f"{path}.memory names a cache directory: a model file holds no paths. "
            "The cache acts during fit only; set_params(memory=None) before saving."
        )
    node = {
        "$": "estimator",
        "class": NAME_OF[type(est)],
        "params": {
            k: writer.value(v, f"{path}.{k}") for k, v in sorted(params.items())
        },
    }
    if isinstance(est, SavedStateMixin):
        state = est._saved_state()
        node["attributes"] = writer.value(state["attributes"], path)
        if "net" in state:
            node["net"] = {
                k: writer.value(v, f"{path}.net_{_NET_PATHS[k]}")
                for k, v in state["net"].items()
            }
    else:
        skip = set(params)
        attributes = {k: v for k, v in vars(est).items() if k not in skip}
        node["attributes"] = writer.value(attributes, path)
    return node


def _unsupported_message(est: Any, path: str) -> str:
    cls = type(est)
    return (
        f"{path}: {cls.__module__}.{cls.__qualname__} cannot be saved. "
        "seqestimators.save writes data, never code, and supports only "
        f"{', '.join(SUPPORTED)} (estimators whose state is parameters and "
        "plain arrays). Use pickle/joblib for other objects, and load those "
        "only from sources you trust."
    )


def save(obj: Any, path: str | os.PathLike | io.IOBase) -> None:
    """Save a fitted model as data: safetensors weights plus a JSON description.

    Parameters
    ----------
    obj : estimator
        A fitted :class:`LSTMSequenceClassifier`,
        :class:`LSTMSequenceRegressor` or :class:`SequenceVectorizer`, or a
        fitted :class:`~sklearn.pipeline.Pipeline` or
        :class:`~sklearn.compose.TransformedTargetRegressor` made of these and
        of scikit-learn's StandardScaler, MinMaxScaler, MaxAbsScaler,
        RobustScaler, LogisticRegression, LinearRegression and Ridge (whose
        state is parameters and plain arrays). Steps may be "passthrough".
    path : str, path-like or binary file object
        Where to write: exactly this path (no suffix is added), atomically (a
        temporary file in the same directory, then renamed), with the
        permissions a new file gets under the umask. The file is a ZIP archive
        holding ``model.json`` and ``weights.safetensors``; any name works,
        the docs use ``.seqm``.

    Raises
    ------
    TypeError
        If ``obj`` (or a step, parameter or attribute inside it) is not data:
        an estimator class outside the supported list, a function, a callback,
        a ``Pipeline.memory`` cache directory.
    sklearn.exceptions.NotFittedError
        If ``obj`` is not fitted.

    See Also
    --------
    load : Read a model file.

    Notes
    -----
    Saved: parameters, fitted attributes, network weights, the optimizer state
    and the batch-order random generator (so ``partial_fit`` and warm starts
    continue exactly as before saving) and the per-epoch training history
    (``history_``, without per-batch entries). Skorch callbacks are code: an
    estimator whose ``callbacks`` parameter is set cannot be saved (set it to
    None first).

    Examples
    --------
    >>> import io, numpy as np
    >>> from seqestimators import LSTMSequenceRegressor, save, load
    >>> X = np.random.RandomState(0).normal(size=(30, 4, 1)).astype("float32")
    >>> reg = LSTMSequenceRegressor(hidden_size=4, max_epochs=2, random_state=0)
    >>> reg = reg.fit(X, X[:, -1, 0])
    >>> buffer = io.BytesIO()
    >>> save(reg, buffer)
    >>> bool((load(buffer).predict(X) == reg.predict(X)).all())
    True
    """
    if type(obj) not in NAME_OF:
        raise TypeError(_unsupported_message(obj, type(obj).__name__))
    check_is_fitted(obj)
    writer = Writer(None)
    writer.estimator = lambda est, path: _write_estimator(writer, est, path)
    tree = _write_estimator(writer, obj, type(obj).__name__)
    weights = safetensors.torch.save(writer.tensors)
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "weights": {
            "member": WEIGHTS,
            "sha256": hashlib.sha256(weights).hexdigest(),
            "n_tensors": len(writer.tensors),
        },
        "object": tree,
    }
    text = json.dumps(doc, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    if hasattr(path, "write"):
        write_archive(path, text.encode("utf-8"), weights)
    else:
        write_path(path, text.encode("utf-8"), weights)


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------


class _Loader:
    """Builds the object tree; collects warnings to emit once it succeeded."""

    def __init__(self, tensors: dict[str, torch.Tensor]):
        self.reader = Reader(tensors, self.estimator)
        self.notes: list[str] = []

    def estimator(self, node: dict) -> Any:
        name = node["class"]
        cls = SUPPORTED.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ValueError(
                f"class {name!r:.80} is not one of the supported classes "
                f"({', '.join(SUPPORTED)}); it is not imported"
            )
        net_key = {"net"} if issubclass(cls, SavedStateMixin) else set()
        if not _NODE_KEYS <= set(node) <= _NODE_KEYS | net_key:
            raise ValueError(f"a {name} node has the keys {sorted(_NODE_KEYS)}")
        if not isinstance(node["params"], dict):
            raise ValueError(f"the params of {name} must be a mapping")
        params = {k: self.reader.value(x) for k, x in node["params"].items()}
        try:
            est = cls(**params)
        except TypeError as exc:
            raise ValueError(
                f"{name} does not accept the saved parameters: {exc}"
            ) from None
        attributes = self.reader.value(node["attributes"])
        if isinstance(est, SavedStateMixin):
            state = {"attributes": attributes}
            if "net" in node:
                state["net"] = {
                    k: self.reader.value(v) for k, v in _mapping(node["net"]).items()
                }
            self.notes += est._restore_saved_state(state)
        else:
            check_generic_params(est)
            restore_generic(est, attributes)
        return est


def _mapping(v: Any) -> dict:
    if not isinstance(v, dict) or "$" in v:
        raise ValueError("expected a mapping")
    return v


def _refuse(pairs: list) -> dict:
    """``object_pairs_hook`` of the JSON parser: duplicate keys are refused."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key in a JSON object")
    return out


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def load(path: str | os.PathLike | io.IOBase) -> Any:
    """Load a model written by :func:`save`.

    Reading never executes code from the file and is bounded by its size: it
    checks the archive (members, declared sizes, checksum), then parses JSON
    and safetensors and builds only the classes that :func:`save` supports,
    looked up by name in a fixed registry, checking every parameter,
    attribute and shape before it is used.

    Parameters
    ----------
    path : str, path-like or binary file object
        The model file.

    Returns
    -------
    estimator
        The fitted estimator or pipeline, predicting exactly what the saved
        one did.

    Raises
    ------
    ModelFileError
        A subclass of ``ValueError``, for every problem in the file: not a
        seqestimators model file, truncated or corrupted (the archive
        checksum or the weights' sha256 differ), members beyond their size
        bound, a description that does not fit the code, a parameter that
        would reach the operating system, or a newer file format.
    OSError
        If the path cannot be opened (``FileNotFoundError``, ...).

    Warns
    -----
    UserWarning
        If the file was written with other versions of seqestimators, torch,
        skorch, scikit-learn or numpy (it is loaded all the same), or a model
        trained on CUDA is loaded on a machine without CUDA (it is mapped to
        the CPU).

    See Also
    --------
    save : Write a model file.

    Examples
    --------
    >>> import io
    >>> from seqestimators import load, ModelFileError
    >>> try:
    ...     load(io.BytesIO(b"PK not really"))
    ... except ModelFileError as exc:
    ...     print("refused:", "not a seqestimators model file" in str(exc))
    refused: True
    """
    source = str(getattr(path, "name", path))
    text, weights = read_archive(path, source)
    try:
        obj, loader = _load_members(text, weights, source)
    except ModelFileError:
        raise
    except Exception as exc:  # whatever the file made fail: never half a model
        raise ModelFileError(
            f"{source} is not a valid seqestimators model file: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    for message in loader.notes:
        warnings.warn(message, UserWarning, stacklevel=2)
    return obj


def _load_members(text: bytes, weights: bytes, source: str) -> tuple[Any, _Loader]:
    doc = _parse(text, source)
    _check_header(doc, source)
    _warn_versions(doc.get("versions"), source)
    expected = _mapping(doc.get("weights")).get("sha256")
    if hashlib.sha256(weights).hexdigest() != expected:
        raise ModelFileError(
            f"{source}: {WEIGHTS} does not match the sha256 recorded in {JSON}; "
            "the file was modified or corrupted. Save the model again."
        )
    try:
        tensors = safetensors.torch.load(weights)
    except Exception as exc:  # SafetensorError and friends
        raise ModelFileError(f"{source}: {WEIGHTS} is not readable ({exc}).") from None
    loader = _Loader(tensors)
    node = doc["object"]
    if not isinstance(node, dict) or node.get("$") != "estimator":
        raise ValueError("the object is not an estimator")
    obj = loader.estimator(node)
    unused = set(tensors) - loader.reader.used
    if unused:
        raise ModelFileError(
            f"{source}: {WEIGHTS} holds tensors that {JSON} does not describe "
            f"(e.g. {sorted(unused)[0]!r}); the file was modified."
        )
    return obj, loader


def _parse(text: bytes, source: str) -> Any:
    try:
        return json.loads(
            text.decode("utf-8"),
            object_pairs_hook=_refuse,
            parse_constant=_no_constant,
        )
    except (ValueError, RecursionError) as exc:  # bad UTF-8, JSON, duplicates
        raise ModelFileError(
            f"{source} is not a seqestimators model file: {JSON} is not valid "
            f"JSON ({type(exc).__name__}: {exc})."
        ) from None


def _check_header(doc: Any, source: str) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(
            f"{source} is not a seqestimators model file ({JSON} has no "
            f"'format': {FORMAT!r})."
        )
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{source} has an invalid format_version {version!r:.40}.")
    if version > FORMAT_VERSION:
        saved_by = (doc.get("versions") or {}).get("seqestimators", "unknown")
        raise ModelFileError(
            f"{source} was written in model file format {version} by "
            f"seqestimators {saved_by!s:.40}; this version reads formats up to "
            f"{FORMAT_VERSION}. Upgrade seqestimators to load it."
        )
    unknown = set(doc) - {"format", "format_version", "versions", "weights", "object"}
    if unknown:
        raise ModelFileError(f"{source}: unknown entry {sorted(unknown)[0]!r:.80}")


def _warn_versions(saved: Any, source: str) -> None:
    if not isinstance(saved, dict):
        return
    here = _versions()
    differ = [
        f"{lib} {saved[lib]!s:.40} (here {here[lib]})"
        for lib in here
        if lib in saved and saved[lib] != here[lib]
    ]
    if differ:
        warnings.warn(
            f"{source} was saved with other library versions: {', '.join(differ)}. "
            "It was loaded, but check its predictions; save it again with these "
            "versions to silence this warning.",
            UserWarning,
            stacklevel=4,
        )
