"""Save and load fitted models as data: safetensors weights plus JSON.

A model file is a ZIP archive with two members:

``model.json``
    The description: file format and version, the versions of the libraries
    that wrote it, the sha256 of the weights, and the object tree. Every
    estimator is a node ``{"$": "estimator", "class": ..., "params": ...,
    "attributes": ...}`` whose class is looked up in an explicit registry;
    parameters and fitted attributes are plain JSON values, with tagged
    objects for what JSON lacks (numpy arrays with their dtype, tuples, dicts
    with non-string keys, non-finite floats, bytes, timestamps as ISO 8601
    text with their timezone name). A fitted network adds a
    ``"net"`` entry: the keyword arguments of its torch module and loss, the
    optimizer state, the batch-order random generator and the training
    history (per-epoch scalars).
``weights.safetensors``
    Every tensor (module weights, optimizer state, loss weights), named by
    where it sits in the tree.

Loading reads JSON, numbers and tensors, and nothing else: no pickle, no
``eval``, no import of a name found in the file. Classes resolve through
:data:`SUPPORTED`, a fixed mapping from names to classes.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import math
import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import safetensors.torch
import sklearn
import skorch
import torch
from safetensors import SafetensorError
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
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from ..neural_network._estimators import LSTMSequenceClassifier, LSTMSequenceRegressor
from ..preprocessing._vectorizer import SequenceVectorizer

__all__ = ["save", "load", "SUPPORTED", "FORMAT_VERSION"]

#: the ``format`` field of every model file
FORMAT = "seqestimators-model"
#: layout version written by this library; files with a higher version are
#: refused, lower versions would be converted (there are none yet)
FORMAT_VERSION = 1
_JSON = "model.json"
_WEIGHTS = "weights.safetensors"

#: classes that can be saved and loaded, by the name written to the file.
#: scikit-learn classes qualify when their whole state is parameters and
#: plain arrays; anything holding code (FunctionTransformer, a custom class)
#: is refused by :func:`save`.
SUPPORTED: dict[str, type] = {
    "seqestimators.LSTMSequenceClassifier": LSTMSequenceClassifier,
    "seqestimators.LSTMSequenceRegressor": LSTMSequenceRegressor,
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
_NAME_OF = {cls: name for name, cls in SUPPORTED.items()}

#: torch optimizer classes, accepted as the ``optimizer`` parameter by name
_OPTIMIZER_CLASSES = {
    name: obj
    for name, obj in vars(torch.optim).items()
    if isinstance(obj, type)
    and issubclass(obj, torch.optim.Optimizer)
    and obj is not torch.optim.Optimizer
}

#: numpy dtype kinds stored in JSON: bool, ints, floats, unicode, objects
_ARRAY_KINDS = "biufUO"
_SCALARS = (str, int, float, bool, type(None))


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


class _Writer:
    """Turn an object tree into JSON values; tensors go to ``self.tensors``."""

    def __init__(self):
        self.tensors: dict[str, torch.Tensor] = {}

    def value(self, obj: Any, path: str) -> Any:
        if obj is None or isinstance(obj, bool | str):
            return obj
        if isinstance(obj, int) and not isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, float) and not isinstance(obj, np.floating):
            return obj if math.isfinite(obj) else {"$": "float", "value": repr(obj)}
        if isinstance(obj, datetime.date | np.datetime64) and not pd.isna(obj):
            return _timestamp_node(obj)
        if isinstance(obj, np.ndarray):
            return self._array(obj, path)
        if isinstance(obj, np.generic):
            return self._scalar(obj, path)
        if isinstance(obj, list):
            return [self.value(v, f"{path}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            items = [self.value(v, f"{path}[{i}]") for i, v in enumerate(obj)]
            return {"$": "tuple", "items": items}
        if isinstance(obj, dict):
            return self._dict(obj, path)
        if isinstance(obj, bytes):
            return {"$": "bytes", "hex": obj.hex()}
        if isinstance(obj, torch.Tensor):
            self.tensors[path] = obj.detach().cpu().clone().contiguous()
            return {"$": "tensor", "key": path}
        if isinstance(obj, np.random.RandomState):
            return {"$": "RandomState", "state": self.value(obj.get_state(), path)}
        if isinstance(obj, type) and _OPTIMIZER_CLASSES.get(obj.__name__) is obj:
            return {"$": "torch_optimizer", "name": obj.__name__}
        if type(obj) in _NAME_OF or _is_estimator(obj):
            return self.estimator(obj, path)
        raise TypeError(_not_data_message(obj, path))

    def _dict(self, obj: dict, path: str) -> dict:
        if all(isinstance(k, str) for k in obj) and "$" not in obj:
            return {k: self.value(v, f"{path}.{k}") for k, v in obj.items()}
        return {
            "$": "dict",
            "items": [
                [self.value(k, f"{path}.<key>"), self.value(v, f"{path}[{k!r}]")]
                for k, v in obj.items()
            ],
        }

    def _array(self, arr: np.ndarray, path: str) -> dict:
        kind = arr.dtype.kind
        if kind not in _ARRAY_KINDS or arr.dtype.fields is not None:
            raise TypeError(
                f"{path} is an array of dtype {arr.dtype}; model files hold arrays "
                "of booleans, integers, floats, strings or Python objects only."
            )
        flat = arr.ravel().tolist()
        if kind == "f" and not np.isfinite(arr).all():
            flat = [self.value(v, path) for v in flat]
        elif kind == "O" and not all(type(v) in (str, int, bool) for v in flat):
            flat = [self._element(v, f"{path}[{i}]") for i, v in enumerate(flat)]
        return {
            "$": "ndarray",
            "dtype": arr.dtype.str,
            "shape": list(arr.shape),
            "data": flat,
        }

    def _element(self, v: Any, path: str) -> Any:
        """One element of an object array: a scalar value, never a container."""
        if isinstance(v, _SCALARS | bytes | np.generic):
            return self.value(v, path)
        raise TypeError(_not_data_message(v, path))

    def _scalar(self, obj: np.generic, path: str) -> dict:
        if obj.dtype.kind not in "biuf":
            raise TypeError(_not_data_message(obj, path))
        return {
            "$": "scalar",
            "dtype": obj.dtype.str,
            "value": self.value(obj.item(), path),
        }

    def estimator(self, est: Any, path: str) -> dict:
        if type(est) not in _NAME_OF:
            raise TypeError(_unsupported_message(est, path))
        params = est.get_params(deep=False)
        if params.get("callbacks") and hasattr(est, "_build_net"):
            raise TypeError(
                f"{path}.callbacks holds skorch callbacks, which are code: a model "
                "file holds data only. Callbacks act during training only; "
                "set_params(callbacks=None) before saving."
            )
        node = {
            "$": "estimator",
            "class": _NAME_OF[type(est)],
            "params": {
                k: self.value(v, f"{path}.{k}") for k, v in sorted(params.items())
            },
        }
        skip = set(params) | {"net_", "history_"}
        attributes = {}
        for k, v in vars(est).items():
            if k in skip:
                continue
            attributes[k] = self.value(v, f"{path}.{k}")
        node["attributes"] = attributes
        if hasattr(est, "net_"):
            node["net"] = self._net(est.net_, f"{path}.net_")
        return node

    def _net(self, net, path: str) -> dict:
        module = dict(net.module_.state_dict())
        rng = net.iterator_train__random_state
        return {
            "module_kwargs": self.value(net.get_params_for("module"), path),
            "criterion_kwargs": self.value(
                net.get_params_for("criterion"), f"{path}.criterion"
            ),
            "module": self.value(module, f"{path}.module"),
            "optimizer": self.value(net.optimizer_.state_dict(), f"{path}.optimizer"),
            "batch_order_rng": self.value(rng.bit_generator.state, f"{path}.rng"),
            "history": [_history_row(row) for row in net.history],
        }


def _timestamp_node(obj) -> dict:
    """A date or time (e.g. SequenceVectorizer's ``reference_time``) as ISO
    8601 text with its UTC offset, plus the timezone name to restore."""
    ts = pd.Timestamp(obj)
    return {
        "$": "timestamp",
        "value": ts.isoformat(),
        "tz": None if ts.tz is None else str(ts.tz),
    }


def _read_timestamp(v: dict) -> pd.Timestamp:
    text, tz = v.get("value"), v.get("tz")
    if not isinstance(text, str) or len(text) > 64:
        raise ValueError(f"bad timestamp {text!r}")
    if tz is not None and not isinstance(tz, str):
        raise ValueError(f"bad timezone {tz!r}")
    try:
        ts = pd.Timestamp(text)
    except (TypeError, ValueError):
        raise ValueError(f"bad timestamp {text!r}") from None
    if pd.isna(ts) or (ts.tz is None) != (tz is None):
        raise ValueError(f"bad timestamp {text!r} (timezone {tz!r})")
    if tz is not None:
        try:
            ts = ts.tz_convert(tz)
        except (LookupError, TypeError, ValueError):  # unnamed offset: keep it
            pass
    return ts


def _history_row(row: dict) -> dict:
    """The per-epoch scalars of a history row (per-batch entries are dropped)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = {"$": "float", "value": repr(v)}
        elif isinstance(v, _SCALARS):
            out[k] = v
    return out


def _is_estimator(obj: Any) -> bool:
    return not isinstance(obj, type) and hasattr(obj, "get_params")


def _not_data_message(obj: Any, path: str) -> str:
    if callable(obj):
        what = f"the {'class' if isinstance(obj, type) else 'callable'} {obj!r}"
        return (
            f"{path} holds {what}, which is code: model files hold data only. "
            "Set it to None (or a name, e.g. optimizer='adam') before saving, "
            "or use pickle/joblib for files you trust."
        )
    return (
        f"{path} holds a {type(obj).__name__} ({obj!r:.80}), which a model file "
        "cannot store: only None, booleans, numbers, strings, lists, tuples, "
        "dicts, numpy arrays and the supported estimators are saved."
    )


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
        Where to write. A path is written atomically (a temporary file in the
        same directory, then renamed). The file is a ZIP archive holding
        ``model.json`` and ``weights.safetensors``; any name works, the docs
        use ``.seqm``.

    Raises
    ------
    TypeError
        If ``obj`` (or a step, parameter or attribute inside it) is not data:
        an estimator class outside the supported list, a function, a callback.
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
    if type(obj) not in _NAME_OF:
        raise TypeError(_unsupported_message(obj, type(obj).__name__))
    check_is_fitted(obj)
    writer = _Writer()
    tree = writer.estimator(obj, type(obj).__name__)
    weights = safetensors.torch.save(writer.tensors)
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "weights": {
            "member": _WEIGHTS,
            "sha256": hashlib.sha256(weights).hexdigest(),
            "n_tensors": len(writer.tensors),
        },
        "object": tree,
    }
    text = json.dumps(doc, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    if hasattr(path, "write"):
        _write_zip(path, text, weights)
        return
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            _write_zip(f, text, weights)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_zip(f, text: str, weights: bytes) -> None:
    with zipfile.ZipFile(f, "w") as zf:
        zf.writestr(_JSON, text.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr(_WEIGHTS, weights, compress_type=zipfile.ZIP_STORED)


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------


class _Reader:
    """Rebuild values from JSON; tensors come from the weights member."""

    def __init__(self, tensors: dict[str, torch.Tensor], source: str):
        self.tensors = tensors
        self.used: set[str] = set()
        self.source = source
        self.messages: list[str] = []

    def value(self, v: Any) -> Any:
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            return v
        tag = v.get("$")
        if tag is None:
            return {k: self.value(x) for k, x in v.items()}
        if tag == "float":
            if v["value"] not in ("nan", "inf", "-inf"):
                raise ValueError(f"bad float {v['value']!r}")
            return float(v["value"])
        if tag == "tuple":
            return tuple(self.value(x) for x in v["items"])
        if tag == "dict":
            return {self.value(k): self.value(x) for k, x in v["items"]}
        if tag == "bytes":
            return bytes.fromhex(v["hex"])
        if tag == "timestamp":
            return _read_timestamp(v)
        if tag == "ndarray":
            return self._array(v)
        if tag == "scalar":
            dtype = _dtype(v["dtype"], "biuf")
            return np.asarray(self.value(v["value"]), dtype=dtype)[()]
        if tag == "tensor":
            key = v["key"]
            if key not in self.tensors:
                raise ValueError(f"tensor {key!r} is missing from {_WEIGHTS}")
            self.used.add(key)
            return self.tensors[key]
        if tag == "RandomState":
            rs = np.random.RandomState()
            rs.set_state(self.value(v["state"]))
            return rs
        if tag == "torch_optimizer":
            return _OPTIMIZER_CLASSES[v["name"]]
        if tag == "estimator":
            return self.estimator(v)
        raise ValueError(f"unknown value tag {tag!r}")

    def _array(self, v: dict) -> np.ndarray:
        dtype = _dtype(v["dtype"], _ARRAY_KINDS)
        shape = tuple(int(s) for s in v["shape"])
        data = v["data"]
        if not isinstance(data, list):
            raise ValueError("array data must be a list")
        data = [self.value(x) if isinstance(x, dict) else x for x in data]
        if dtype.kind == "O":
            arr = np.empty(len(data), dtype=object)
            arr[:] = data
        else:
            arr = np.asarray(data, dtype=dtype)
        return arr.reshape(shape)

    def estimator(self, node: dict) -> Any:
        name = node["class"]
        cls = SUPPORTED.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ValueError(
                f"class {name!r} is not one of the supported classes "
                f"({', '.join(SUPPORTED)}); it is not imported"
            )
        params = {k: self.value(x) for k, x in node["params"].items()}
        try:
            est = cls(**params)
        except TypeError as exc:
            raise ValueError(
                f"{name} does not accept the saved parameters: {exc}"
            ) from None
        for k, x in node["attributes"].items():
            if not isinstance(k, str) or not k.isidentifier() or k.startswith("__"):
                raise ValueError(f"bad attribute name {k!r} for {name}")
            est.__dict__[k] = self.value(x)
        if hasattr(est, "_build_net") and est.callbacks:
            raise ValueError(f"{name} has callbacks, which a model file cannot hold")
        if "net" in node:
            self._net(est, node["net"])
        return est

    def _net(self, est, desc: dict) -> None:
        name = type(est).__name__
        device = str(est.device_)
        if device.startswith("cuda") and not torch.cuda.is_available():
            self.messages.append(
                f"{name} was trained on {device!r}, which is not available here; "
                "it was loaded on 'cpu' (device_='cpu'). Its device parameter is "
                f"still {est.device!r}: set_params(device='cpu') before refitting "
                "on this machine."
            )
            est.device_ = "cpu"
        net = est._build_net(
            self.value(desc["module_kwargs"]), self.value(desc["criterion_kwargs"])
        )
        net.initialize()
        try:
            net.module_.load_state_dict(self.value(desc["module"]), strict=True)
            optimizer = self.value(desc["optimizer"])
            if optimizer is not None:
                net.optimizer_.load_state_dict(optimizer)
        except (RuntimeError, KeyError) as exc:
            raise ValueError(
                f"the weights do not fit the described model: {exc}"
            ) from None
        state = self.value(desc["batch_order_rng"])
        if state is not None:
            net.iterator_train__random_state.bit_generator.state = state
        rows = self.value(desc["history"])
        net.history = History([{"batches": [], **row} for row in rows])
        net.module_.eval()
        est.net_ = net
        est.history_ = net.history


def _dtype(text: Any, kinds: str) -> np.dtype:
    if not isinstance(text, str) or len(text) > 16:
        raise ValueError(f"bad dtype {text!r}")
    dtype = np.dtype(text)
    if dtype.kind not in kinds or dtype.fields is not None or dtype.itemsize > 4096:
        raise ValueError(f"dtype {text!r} is not allowed in a model file")
    return dtype


def load(path: str | os.PathLike | io.IOBase) -> Any:
    """Load a model written by :func:`save`.

    Reading never executes code from the file: it parses JSON and safetensors
    and builds only the classes that :func:`save` supports, looked up by name
    in a fixed registry.

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
    ValueError
        If the file is not a seqestimators model file, is truncated or
        corrupted, its weights do not match its description (sha256), or it
        was written in a newer file format.

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
    """
    source = str(getattr(path, "name", path))
    text, weights = _read_members(path, source)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8
        raise ValueError(
            f"{source} is not a seqestimators model file: {_JSON} is not valid "
            f"JSON ({exc})."
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(
            f"{source} is not a seqestimators model file ({_JSON} has no "
            f"'format': {FORMAT!r})."
        )
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{source} has an invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        saved_by = (doc.get("versions") or {}).get("seqestimators", "unknown")
        raise ValueError(
            f"{source} was written in model file format {version} by "
            f"seqestimators {saved_by}; this version reads formats up to "
            f"{FORMAT_VERSION}. Upgrade seqestimators to load it."
        )
    _warn_versions(doc.get("versions"), source)
    expected = (doc.get("weights") or {}).get("sha256")
    if hashlib.sha256(weights).hexdigest() != expected:
        raise ValueError(
            f"{source}: {_WEIGHTS} does not match the sha256 recorded in {_JSON}; "
            "the file was modified or corrupted. Save the model again."
        )
    try:
        tensors = safetensors.torch.load(weights)
    except SafetensorError as exc:
        raise ValueError(f"{source}: {_WEIGHTS} is not readable ({exc}).") from None
    reader = _Reader(tensors, source)
    try:
        node = doc["object"]
        if not isinstance(node, dict) or node.get("$") != "estimator":
            raise ValueError("the object is not an estimator")
        obj = reader.estimator(node)
    except (
        KeyError,
        TypeError,
        ValueError,
        IndexError,
        AttributeError,
        RecursionError,
    ) as exc:
        raise ValueError(
            f"{source} is not a valid seqestimators model file: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    unused = set(tensors) - reader.used
    if unused:
        raise ValueError(
            f"{source}: {_WEIGHTS} holds tensors that {_JSON} does not describe "
            f"(e.g. {sorted(unused)[0]!r}); the file was modified."
        )
    for message in reader.messages:
        warnings.warn(message, UserWarning, stacklevel=2)
    return obj


def _read_members(path, source: str) -> tuple[bytes, bytes]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if _JSON not in names or _WEIGHTS not in names:
                raise ValueError(
                    f"{source} is not a seqestimators model file: it lacks "
                    f"{_JSON} or {_WEIGHTS}."
                )
            return zf.read(_JSON), zf.read(_WEIGHTS)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError | IsADirectoryError | PermissionError):
            raise
        raise ValueError(
            f"{source} is not a seqestimators model file, or it is truncated or "
            f"corrupted ({type(exc).__name__}: {exc})."
        ) from None
    except Exception as exc:  # zlib.error and friends from a damaged member
        if isinstance(exc, ValueError):
            raise
        raise ValueError(
            f"{source} is corrupted ({type(exc).__name__}: {exc})."
        ) from None


def _warn_versions(saved: Any, source: str) -> None:
    if not isinstance(saved, dict):
        return
    here = _versions()
    differ = [
        f"{lib} {saved[lib]} (here {here[lib]})"
        for lib in here
        if lib in saved and saved[lib] != here[lib]
    ]
    if differ:
        warnings.warn(
            f"{source} was saved with other library versions: {', '.join(differ)}. "
            "It was loaded, but check its predictions; save it again with these "
            "versions to silence this warning.",
            UserWarning,
            stacklevel=3,
        )
