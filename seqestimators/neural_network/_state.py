"""The saved-state protocol of the estimators (what :func:`seqestimators.save`
writes and :func:`seqestimators.load` restores).

:func:`seqestimators.save` asks an estimator for its state with
``_saved_state()`` and :func:`seqestimators.load` hands it back to a fresh
estimator (built from the saved parameters) with ``_restore_saved_state``.
Persistence never writes ``__dict__`` nor builds a network itself: the
estimator says which fitted attributes it has, checks what it is given (names,
types, shapes, the parameters that reach the operating system) and rebuilds
its own skorch net, refusing weights that do not fit before allocating them.
"""

from __future__ import annotations

import math
import os
import re
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.base import is_classifier
from sklearn.preprocessing import LabelEncoder
from skorch.history import History

from ..nn import network_class
from ._history import history_frame

__all__ = ["DEVICE_PATTERN", "MAX_THREADS", "SavedStateMixin"]

#: devices a model file may name: the ``device`` parameter and ``device_``
DEVICE_PATTERN = re.compile(r"cpu|auto|cuda(:[0-9]{1,2})?")
#: largest ``n_threads`` a model file may hold (it reaches the operating
#: system at every predict)
MAX_THREADS = max(1024, os.cpu_count() or 1)

#: fitted attributes every sequence estimator saves (besides ``net_``)
_COMMON = {
    "input_signature_": "signature",
    "device_": "device",
    "_seed": "seed",
    "n_iter_": "count",
    "batch_size_": "positive",
    "stop_reason_": "str",
    "loss_curve_": "numbers",
    "best_epoch_": "count",
    "validation_scores_": "numbers_or_none",
    "best_validation_score_": "number_or_none",
    "best_loss_": "number_or_none",
    "wide_alpha_": "penalties",
    "n_features_in_": "count",
    "feature_names_in_": "names",
}
_CLASSIFIER = {"_label_encoder": "label_encoder", "classes_": "labels"}
_REGRESSOR = {
    "_loss": "str",
    "_y_ndim": "ndim",
    "n_outputs_": "positive",
    "y_mean_": "floats",
    "y_scale_": "floats",
}
_REQUIRED = {"input_signature_", "device_", "_seed", "n_iter_", "batch_size_"}
_REQUIRED_CLASSIFIER = {"classes_"}
# ``_loss`` is absent from files written before the ``loss`` parameter
_REQUIRED_REGRESSOR = {"_y_ndim", "n_outputs_", "y_mean_", "y_scale_"}


def _is_int(v: Any) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool)


def _is_plain(v: Any) -> bool:
    """None, a boolean, number or string, or a list of these."""
    if isinstance(v, list):
        return all(x is None or isinstance(x, str | int | float) for x in v)
    return v is None or isinstance(v, str | int | float)


def _is_signature(v: Any) -> bool:
    """Channel counts and cardinalities (checked against the module), and
    plain values (channel names, input kind, vocabulary fingerprint)."""
    core = {"n_categorical", "n_numeric", "cardinalities"}
    if not isinstance(v, dict) or not core <= set(v):
        return False
    if not all(isinstance(k, str) and _is_plain(x) for k, x in v.items()):
        return False
    cards = v["cardinalities"]
    return (
        _is_int(v["n_categorical"])
        and _is_int(v["n_numeric"])
        and v["n_numeric"] >= 0
        and isinstance(cards, list)
        and len(cards) == v["n_categorical"]
        and all(_is_int(c) and c >= 2 for c in cards)
    )


#: kind of an attribute -> test of its value
_KINDS = {
    "signature": _is_signature,
    "device": lambda v: (
        isinstance(v, str) and v != "auto" and DEVICE_PATTERN.fullmatch(v) is not None
    ),
    "seed": lambda v: _is_int(v) and 0 <= v < 2**32,
    "count": lambda v: _is_int(v) and v >= 0,
    "positive": lambda v: _is_int(v) and 1 <= v < 2**31,
    "ndim": lambda v: v in (1, 2) and _is_int(v),
    "str": lambda v: isinstance(v, str),
    "numbers": lambda v: isinstance(v, list) and all(map(_is_number, v)),
    "numbers_or_none": lambda v: v is None or _KINDS["numbers"](v),
    "number_or_none": lambda v: v is None or _is_number(v),
    "penalties": lambda v: v is None or (
        isinstance(v, dict) and len(v) <= 10_000
        and all(isinstance(k, str) and _is_number(x) for k, x in v.items())
    ),
    "names": lambda v: (
        isinstance(v, np.ndarray)
        and v.ndim == 1
        and all(isinstance(s, str) for s in v.tolist())
    ),
    "labels": lambda v: (
        isinstance(v, np.ndarray)
        and v.ndim == 1
        and len(v) >= 1
        and v.dtype.kind in "biufUO"
    ),
    "floats": lambda v: (
        isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind == "f"
    ),
    "label_encoder": lambda v: (
        type(v) is LabelEncoder and isinstance(getattr(v, "classes_", None), np.ndarray)
    ),
}


class SavedStateMixin:
    """Methods through which persistence reads and restores a fitted
    estimator, so that it never writes ``est.__dict__`` or builds nets from
    outside."""

    def _saved_attribute_kinds(self) -> dict[str, str]:
        """The fitted attributes this estimator saves, with their kind."""
        own = _CLASSIFIER if is_classifier(self) else _REGRESSOR
        return {**_COMMON, **own}

    def _saved_state(self) -> dict:
        """The fitted state as data: ``{"attributes": {...}, "net": {...}}``
        (no ``"net"`` when unfitted).

        Values are plain Python and numpy values, the label encoder and torch
        tensors (the module weights, the optimizer state, the loss weights).
        Raises ``TypeError`` for an instance attribute that is neither a
        parameter nor part of the fitted state.
        """
        kinds = self._saved_attribute_kinds()
        params = self.get_params(deep=False)
        extra = sorted(
            set(vars(self)) - set(params) - set(kinds) - {"net_", "history_"}
        )
        if extra:
            raise TypeError(
                f"{type(self).__name__} has the attribute {extra[0]!r}, which is "
                "neither a parameter nor part of its fitted state; a model file "
                "would lose it. Delete it before saving."
            )
        attributes = {k: v for k, v in vars(self).items() if k in kinds}
        if "net_" not in vars(self):  # unfitted, e.g. TransformedTargetRegressor's
            return {"attributes": attributes}
        net = self.net_
        return {
            "attributes": attributes,
            "net": {
                "module_kwargs": net.get_params_for("module"),
                "criterion_kwargs": net.get_params_for("criterion"),
                "module": dict(net.module_.state_dict()),
                "optimizer": net.optimizer_.state_dict(),
                "batch_order_rng": net.iterator_train__random_state.bit_generator.state,
                "history": [_history_row(row) for row in net.history],
            },
        }

    def _restore_saved_state(self, state: dict) -> list[str]:
        """Restore what :meth:`_saved_state` returned (read from a file) into
        this freshly constructed estimator and rebuild its net.

        Everything is checked before it is used: parameters (those reaching
        the operating system against bounds), attribute names, kinds and
        consistency, and the shapes of the weights, before any module is
        allocated. Raises ``ValueError`` (or ``TypeError``/``KeyError`` from a
        malformed description) and leaves nothing half-built behind for the
        caller, who discards the estimator. Returns notes to warn about.
        """
        self._check_saved_params()
        if set(state) == {"attributes"} and state["attributes"] == {}:
            return []  # an unfitted estimator (a parameter of another one)
        if set(state) != {"attributes", "net"} or not isinstance(state["net"], dict):
            raise ValueError("a fitted estimator needs 'attributes' and 'net'")
        self._check_saved_attributes(state["attributes"])
        self.__dict__.update(state["attributes"])
        notes = []
        device = str(self.device_)
        if device.startswith("cuda") and not torch.cuda.is_available():
            notes.append(
                f"{type(self).__name__} was trained on {device!r}, which is not "
                "available here; it was loaded on 'cpu' (device_='cpu'). Its device "
                f"parameter is still {self.device!r}: set_params(device='cpu') "
                "before refitting on this machine."
            )
            self.device_ = "cpu"
        self._restore_net(state["net"])
        return notes

    def _check_saved_params(self) -> None:
        name = type(self).__name__
        self._validate_params()
        if self.callbacks:
            raise ValueError(f"{name} has callbacks, which a model file cannot hold")
        if not isinstance(self.device, str) or not DEVICE_PATTERN.fullmatch(
            self.device
        ):
            raise ValueError(
                f"{name}.device must be 'cpu', 'cuda', 'cuda:<index>' or 'auto' in "
                f"a model file; got {self.device!r:.60}."
            )
        if self.n_threads is not None and self.n_threads > MAX_THREADS:
            raise ValueError(
                f"{name}.n_threads={self.n_threads} exceeds {MAX_THREADS}; a model "
                "file may not ask for more threads."
            )

    def _check_saved_attributes(self, attributes: Any) -> None:
        name = type(self).__name__
        check_attribute_kinds(name, attributes, self._saved_attribute_kinds(), _KINDS)
        required = _REQUIRED | (
            _REQUIRED_CLASSIFIER if is_classifier(self) else _REQUIRED_REGRESSOR
        )
        missing = sorted(required - set(attributes))
        if missing:
            raise ValueError(f"{name} lacks the fitted attribute {missing[0]!r}")
        _check_consistency(name, attributes)

    def _restore_net(self, desc: dict) -> None:
        expected = {
            "module_kwargs",
            "criterion_kwargs",
            "module",
            "optimizer",
            "batch_order_rng",
            "history",
        }
        if set(desc) != expected:
            raise ValueError(f"the net description needs exactly {sorted(expected)}")
        module_kwargs, weights = desc["module_kwargs"], desc["module"]
        _check_module(module_kwargs, weights, self.input_signature_, self._n_outputs())
        _check_criterion(desc["criterion_kwargs"], self._n_outputs())
        net = self._build_net(module_kwargs, desc["criterion_kwargs"])
        net.initialize()
        net.module_.load_state_dict(weights, strict=True)
        optimizer = desc["optimizer"]
        if optimizer is not None:
            _check_optimizer_state(optimizer, list(net.module_.parameters()))
            net.optimizer_.load_state_dict(optimizer)
        if desc["batch_order_rng"] is not None:
            net.iterator_train__random_state.bit_generator.state = desc[
                "batch_order_rng"
            ]
        rows = desc["history"]
        if not isinstance(rows, list) or not all(map(_is_history_row, rows)):
            raise ValueError("the history must be a list of per-epoch scalars")
        net.history = History([{"batches": [], **row} for row in rows])
        net.module_.eval()
        self.net_ = net
        self.history_ = history_frame(net.history, self.__dict__.get("best_epoch_"))


def _history_row(row: dict) -> dict:
    """The per-epoch scalars of a history row (per-batch entries are dropped)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, str | int | float | bool) or v is None:
            out[k] = v
    return out


def _is_history_row(row: Any) -> bool:
    return (
        isinstance(row, dict)
        and "batches" not in row
        and all(isinstance(k, str) for k in row)
        and all(v is None or isinstance(v, str | int | float) for v in row.values())
    )


def _check_consistency(name: str, attributes: dict) -> None:
    """Rules between attributes (their kinds are already checked)."""
    if "_label_encoder" in attributes and not np.array_equal(
        attributes["_label_encoder"].classes_, attributes["classes_"]
    ):
        raise ValueError(f"{name}._label_encoder does not match classes_")
    n = attributes.get("n_outputs_")
    for key in ("y_mean_", "y_scale_"):
        if n is not None and len(attributes[key]) != n:
            raise ValueError(f"{name}.{key} must hold n_outputs_={n} values")
    names = attributes.get("feature_names_in_")
    if names is not None and len(names) != attributes.get("n_features_in_"):
        raise ValueError(f"{name}.feature_names_in_ does not match n_features_in_")


def _check_module(kwargs: Any, weights: Any, signature: dict, n_outputs: int) -> None:
    """Check the module description against the weights and the fitted
    attributes without allocating the module (it is built on torch's "meta"
    device, which holds shapes only)."""
    if not isinstance(kwargs, dict) or not isinstance(weights, dict):
        raise ValueError("module_kwargs and module must be mappings")
    if not all(isinstance(t, torch.Tensor) for t in weights.values()):
        raise ValueError("the module weights must be tensors")
    # bound the number of submodules by the number of stored tensors
    layers, cards = kwargs.get("num_layers"), kwargs.get("cardinalities")
    if not _is_int(layers) or not 1 <= layers <= len(weights):
        raise ValueError("the weights do not fit the described model (num_layers)")
    if not isinstance(cards, list) or len(cards) > len(weights):
        raise ValueError("the weights do not fit the described model (cardinalities)")
    members = kwargs.get("n_members", 2)
    if not _is_int(members) or not 2 <= members <= len(weights):
        raise ValueError("the weights do not fit the described model (n_members)")
    if (
        cards != signature["cardinalities"]
        or kwargs.get("n_numeric") != signature["n_numeric"]
        or kwargs.get("n_outputs") != n_outputs
    ):
        raise ValueError(
            "the weights do not fit the described model: module_kwargs disagree "
            "with input_signature_ or the number of outputs"
        )
    try:
        with torch.device("meta"):
            module = network_class(kwargs)(**kwargs)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"the weights do not fit the described model ({exc})"
        ) from None
    shapes = {k: (v.shape, v.dtype) for k, v in module.state_dict().items()}
    saved = {k: (v.shape, v.dtype) for k, v in weights.items()}
    if shapes != saved:
        wrong = sorted(set(shapes) ^ set(saved)) or sorted(
            k for k in shapes if shapes[k] != saved[k]
        )
        raise ValueError(
            f"the weights do not fit the described model (e.g. {wrong[0]!r})"
        )


def _check_criterion(kwargs: Any, n_outputs: int) -> None:
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise ValueError("criterion_kwargs must be a mapping")
    for key, value in kwargs.items():
        if isinstance(value, torch.Tensor):
            if value.shape != (n_outputs,) or not value.is_floating_point():
                raise ValueError(f"the loss {key} must hold {n_outputs} floats")
        elif not (value is None or _is_number(value) or isinstance(value, str)):
            raise ValueError(f"bad loss argument {key!r}")
        elif _is_number(value) and not math.isfinite(value):
            raise ValueError(f"bad loss argument {key!r}")


def _check_optimizer_state(state: Any, params: list) -> None:
    """Every tensor of the optimizer state is a scalar or has the shape of
    its parameter (so that training continues, or fails at load)."""
    if not isinstance(state, dict) or not isinstance(state.get("state"), dict):
        raise ValueError("the optimizer state must be a mapping with 'state'")
    for index, entries in state["state"].items():
        if not _is_int(index) or not 0 <= index < len(params):
            raise ValueError(f"optimizer state for unknown parameter {index!r}")
        if not isinstance(entries, dict):
            raise ValueError("the optimizer state of a parameter must be a mapping")
        shape = params[index].shape
        for key, value in entries.items():
            if isinstance(value, torch.Tensor) and value.numel() != 1:
                if value.shape != shape or value.dtype != params[index].dtype:
                    raise ValueError(
                        f"optimizer state {key!r} of parameter {index} does not fit"
                    )


def check_attribute_kinds(name: str, attributes: Any, kinds: dict,
                          checks: dict) -> None:
    """Raise unless ``attributes`` is a mapping of known fitted attribute
    names (``kinds``: name -> kind) to values passing ``checks[kind]``."""
    if not isinstance(attributes, dict):
        raise ValueError(f"the attributes of {name} must be a mapping")
    for key, value in attributes.items():
        if key not in kinds:
            raise ValueError(
                f"bad attribute name {key!r:.80} for {name}: not one of its "
                f"fitted attributes ({', '.join(sorted(kinds))})"
            )
        if not checks[kinds[key]](value):
            raise ValueError(
                f"bad value for {name}.{key}: expected {kinds[key]}, got "
                f"{type(value).__name__}"
            )
