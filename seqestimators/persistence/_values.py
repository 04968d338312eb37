"""Values of a model file: plain JSON, with tagged objects for what JSON lacks
(``{"$": "ndarray", ...}``, tuples, dicts with other keys, non-finite floats,
numpy scalars, bytes, timestamps, random states, tensor references)."""

from __future__ import annotations

import datetime
import functools
import math
import re
import zoneinfo
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
import torch

__all__ = ["Reader", "Writer", "not_data_message"]

#: numpy dtype kinds stored in JSON: bool, ints, floats, unicode, objects
ARRAY_KINDS = "biufUO"
_SCALARS = (str, int, float, bool, type(None))
_ELEMENTS = (*_SCALARS, bytes, np.generic)
#: the most dimensions of a stored array
_MAX_NDIM = 32

#: torch optimizer classes, accepted as the ``optimizer`` parameter by name
OPTIMIZER_CLASSES = {
    name: obj
    for name, obj in vars(torch.optim).items()
    if isinstance(obj, type)
    and issubclass(obj, torch.optim.Optimizer)
    and obj is not torch.optim.Optimizer
}

#: keys of each tagged object, besides "$"
_TAG_KEYS = {
    "float": {"value"},
    "tuple": {"items"},
    "dict": {"items"},
    "bytes": {"hex"},
    "timestamp": {"value", "tz"},
    "ndarray": {"dtype", "shape", "data"},
    "scalar": {"dtype", "value"},
    "tensor": {"key"},
    "RandomState": {"state"},
    "torch_optimizer": {"name"},
}
_FIXED_OFFSET = re.compile(r"UTC([+-][0-9]{2}:[0-9]{2})?")


@functools.lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class Writer:
    """Turn values into JSON values; tensors go to ``self.tensors``."""

    def __init__(self, estimator):
        self.tensors: dict[str, torch.Tensor] = {}
        self.estimator = estimator  # writes an estimator node

    def value(self, obj: Any, path: str) -> Any:
        if obj is None or isinstance(obj, bool | str):
            return obj
        if isinstance(obj, int | float) and not isinstance(obj, np.generic):
            if isinstance(obj, float) and not math.isfinite(obj):
                return {"$": "float", "value": repr(obj)}
            return int(obj) if isinstance(obj, int) else float(obj)
        if isinstance(obj, list):
            return [self.value(v, f"{path}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            items = [self.value(v, f"{path}[{i}]") for i, v in enumerate(obj)]
            return {"$": "tuple", "items": items}
        if isinstance(obj, dict):
            return self._dict(obj, path)
        if isinstance(obj, datetime.date | np.datetime64) and not pd.isna(obj):
            return _timestamp_node(obj)
        if isinstance(obj, np.ndarray):
            return self._array(obj, path)
        if isinstance(obj, np.generic):
            return self._scalar(obj, path)
        return self._object(obj, path)

    def _object(self, obj: Any, path: str) -> Any:
        if isinstance(obj, bytes):
            return {"$": "bytes", "hex": obj.hex()}
        if isinstance(obj, torch.Tensor):
            self.tensors[path] = obj.detach().cpu().clone().contiguous()
            return {"$": "tensor", "key": path}
        if isinstance(obj, np.random.RandomState):
            return {"$": "RandomState", "state": self.value(obj.get_state(), path)}
        if isinstance(obj, type) and OPTIMIZER_CLASSES.get(obj.__name__) is obj:
            return {"$": "torch_optimizer", "name": obj.__name__}
        if not isinstance(obj, type) and hasattr(obj, "get_params"):
            return self.estimator(obj, path)
        raise TypeError(not_data_message(obj, path))

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
        if kind not in ARRAY_KINDS or arr.dtype.fields is not None:
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
        if isinstance(v, _ELEMENTS):
            return self.value(v, path)
        raise TypeError(not_data_message(v, path))

    def _scalar(self, obj: np.generic, path: str) -> dict:
        if obj.dtype.kind not in "biuf":
            raise TypeError(not_data_message(obj, path))
        return {
            "$": "scalar",
            "dtype": obj.dtype.str,
            "value": self.value(obj.item(), path),
        }


def _timestamp_node(obj) -> dict:
    """A date or time (e.g. SequenceVectorizer's ``reference_time``) as ISO
    8601 text with its UTC offset, plus its IANA timezone name to restore
    (``"UTC"`` or ``"UTC+02:00"`` for a fixed offset)."""
    ts = pd.Timestamp(obj)
    if ts.tz is None:
        tz = None
    elif str(ts.tz) in _timezones() or str(ts.tz) == "UTC":
        tz = str(ts.tz)
    else:
        offset = ts.utcoffset()
        tz = "UTC" + ts.isoformat()[-6:] if offset else "UTC"
    return {"$": "timestamp", "value": ts.isoformat(), "tz": tz}


def _read_timestamp(v: dict) -> pd.Timestamp:
    text, tz = v["value"], v["tz"]
    if not isinstance(text, str) or len(text) > 64:
        raise ValueError(f"bad timestamp {text!r:.80}")
    if tz is not None and not isinstance(tz, str):
        raise ValueError(f"bad timezone {tz!r:.80}")
    # a timezone name is looked up only among the installed IANA names: a
    # name from the file never becomes a path
    named = tz in _timezones() or tz == "UTC"
    if tz is not None and not named and not _FIXED_OFFSET.fullmatch(tz):
        raise ValueError(
            f"timezone {tz!r:.80} is neither an IANA timezone name known here "
            "nor a fixed offset"
        )
    try:
        ts = pd.Timestamp(text)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"bad timestamp {text!r}") from None
    if pd.isna(ts) or (ts.tz is None) != (tz is None):
        raise ValueError(f"bad timestamp {text!r} (timezone {tz!r})")
    if named:
        ts = ts.tz_convert(zoneinfo.ZoneInfo(tz))
    return ts


def not_data_message(obj: Any, path: str) -> str:
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


def _is_int(v: Any) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool)


#: dtype kind -> test of one JSON element of an array of that kind
_ELEMENT = {
    "b": lambda x: isinstance(x, bool),
    "i": _is_int,
    "u": _is_int,
    "f": lambda x: isinstance(x, Real) and not isinstance(x, bool),
    "U": lambda x: isinstance(x, str),
    "O": lambda x: isinstance(x, _ELEMENTS),
}


class Reader:
    """Rebuild values from JSON; tensors come from the weights member."""

    def __init__(self, tensors: dict[str, torch.Tensor], estimator):
        self.tensors = tensors
        self.used: set[str] = set()
        self.estimator = estimator  # reads an estimator node

    def value(self, v: Any) -> Any:
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            return v
        tag = v.get("$")
        if tag is None:
            return {k: self.value(x) for k, x in v.items()}
        if tag == "estimator":
            return self.estimator(v)
        if tag not in _TAG_KEYS:
            raise ValueError(f"unknown value tag {tag!r:.40}")
        if set(v) != {"$", *_TAG_KEYS[tag]}:
            raise ValueError(f"a {tag!r} value needs exactly {sorted(_TAG_KEYS[tag])}")
        return getattr(self, f"_{tag.lower()}")(v)

    def _float(self, v: dict) -> float:
        if v["value"] not in ("nan", "inf", "-inf"):
            raise ValueError(f"bad float {v['value']!r:.40}")
        return float(v["value"])

    def _tuple(self, v: dict) -> tuple:
        if not isinstance(v["items"], list):
            raise ValueError("the items of a tuple must be a list")
        return tuple(self.value(x) for x in v["items"])

    def _timestamp(self, v: dict) -> pd.Timestamp:
        return _read_timestamp(v)

    def _dict(self, v: dict) -> dict:
        items = v["items"]
        if not isinstance(items, list) or not all(
            isinstance(i, list) and len(i) == 2 for i in items
        ):
            raise ValueError("dict items must be [key, value] pairs")
        out = {}
        for k, x in items:
            key = self.value(k)
            if not isinstance(key, (*_ELEMENTS, tuple)) or key in out:
                raise ValueError(f"bad or duplicate dict key {key!r:.40}")
            out[key] = self.value(x)
        return out

    def _bytes(self, v: dict) -> bytes:
        if not isinstance(v["hex"], str):
            raise ValueError("bytes must be hexadecimal text")
        return bytes.fromhex(v["hex"])

    def _tensor(self, v: dict) -> torch.Tensor:
        key = v["key"]
        if not isinstance(key, str) or key not in self.tensors:
            raise ValueError(f"tensor {key!r:.80} is missing from the weights")
        self.used.add(key)
        return self.tensors[key]

    def _randomstate(self, v: dict) -> np.random.RandomState:
        rs = np.random.RandomState()
        rs.set_state(self.value(v["state"]))
        return rs

    def _torch_optimizer(self, v: dict) -> type:
        if v["name"] not in OPTIMIZER_CLASSES:
            raise ValueError(f"unknown torch optimizer {v['name']!r:.40}")
        return OPTIMIZER_CLASSES[v["name"]]

    def _scalar(self, v: dict) -> np.generic:
        dtype = _dtype(v["dtype"], "biuf")
        value = self.value(v["value"])
        if not _ELEMENT[dtype.kind](value):
            raise ValueError(f"a {dtype} scalar cannot hold {value!r:.40}")
        return np.asarray(value, dtype=dtype)[()]

    def _ndarray(self, v: dict) -> np.ndarray:
        """An array, allocated only after its declared shape and dtype fit the
        data it holds (no amplification: at most as many elements as the
        JSON list, strings no wider than the longest one)."""
        dtype = _dtype(v["dtype"], ARRAY_KINDS)
        shape, data = v["shape"], v["data"]
        if not isinstance(shape, list) or len(shape) > _MAX_NDIM:
            raise ValueError("an array shape must be a list of at most 32 sizes")
        if not all(_is_int(s) and s >= 0 for s in shape):
            raise ValueError(f"bad array shape {shape!r:.80}")
        if not isinstance(data, list) or math.prod(shape) != len(data):
            raise ValueError(f"array data do not fill the shape {shape!r:.80}")
        data = [self.value(x) if isinstance(x, dict) else x for x in data]
        check = _ELEMENT[dtype.kind]
        if not all(map(check, data)):
            raise ValueError(f"array data do not fit the dtype {dtype}")
        if dtype.kind == "U":
            widest = max(map(len, data), default=1)
            if dtype.itemsize > 4 * max(widest, 1):
                raise ValueError(f"dtype {dtype} is wider than its strings")
        if dtype.kind == "O":
            arr = np.empty(len(data), dtype=object)
            arr[:] = data
        else:
            arr = np.asarray(data, dtype=dtype)
        return arr.reshape(shape)


def _dtype(text: Any, kinds: str) -> np.dtype:
    if not isinstance(text, str) or not re.fullmatch(
        r"[<>|=]?[a-zA-Z][0-9]{0,7}", text
    ):
        raise ValueError(f"bad dtype {text!r:.40}")
    dtype = np.dtype(text)
    if dtype.kind not in kinds or dtype.fields is not None or dtype.itemsize > 4096:
        raise ValueError(f"dtype {text!r} is not allowed in a model file")
    return dtype
