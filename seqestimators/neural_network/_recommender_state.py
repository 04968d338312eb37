"""The saved-state protocol of the next-event recommenders (what
:func:`seqestimators.save` writes and :func:`seqestimators.load` restores).

The recommenders follow :class:`~._state.SavedStateMixin`: the state is their
fitted attributes plus the net (module keyword arguments, weights, optimizer
state, batch-order generator, history). Restoring checks every attribute's
name and kind, the module description against ``input_signature_`` and the
weights' shapes (on torch's "meta" device, before allocating anything), then
rebuilds the skorch net with the estimator's own ``_build_net``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from skorch.history import History

from ..nn._next_event import N_RESERVED_IDS, NextEventNet
from ..preprocessing import SequenceVectorizer
from ._priors import PRIOR_OFF
from ._state import (
    _KINDS,
    MAX_THREADS,
    SavedStateMixin,
    _check_optimizer_state,
    _is_history_row,
    _is_number,
    check_attribute_kinds,
)

__all__ = ["RecommenderStateMixin"]

#: fitted attributes of a recommender (besides ``net_`` and ``history_``)
_ATTRIBUTES = {
    "vectorizer_": "vectorizer",
    "classes_": "labels",
    "target_index_": "count",
    "input_signature_": "signature",
    "device_": "device",
    "_seed": "seed",
    "stop_reason_": "str",
    "n_iter_": "count",
    "loss_curve_": "numbers",
    "validation_loss_curve_": "numbers_or_none",
    "best_epoch_": "count",
    "best_loss_": "number_or_none",
    "prior_weights_": "prior_weights",
    "_transitions": "transitions",
}
_KINDS_HERE = {
    **_KINDS,
    "vectorizer": lambda v: v is None or type(v) is SequenceVectorizer,
    "prior_weights": lambda v: (
        isinstance(v, dict) and set(v) == set(PRIOR_OFF)
        and all(_is_number(x) and 0 <= x < 1e6 for x in v.values())
        and v["smoothing"] > 0
    ),
    "transitions": lambda v: (
        isinstance(v, np.ndarray) and v.dtype == np.int64 and v.ndim == 2
        and v.shape[1] == 3 and bool((v >= 0).all()) and bool((v[:, 2] >= 1).all())
        and bool((np.diff(v[:, 0] * 2**31 + v[:, 1]) > 0).all())
    ),
}
_NET_KEYS = {"module_kwargs", "criterion_kwargs", "module", "optimizer",
             "batch_order_rng", "history"}


class RecommenderStateMixin(SavedStateMixin):
    """:class:`SavedStateMixin` for :class:`NextEventNet` recommenders."""

    def _saved_attribute_kinds(self) -> dict[str, str]:
        return dict(_ATTRIBUTES)

    def _restore_saved_state(self, state: dict) -> list[str]:
        """Restore what ``_saved_state`` returned into this freshly
        constructed recommender; everything is checked before it is used.
        Returns notes to warn about."""
        self._check_recommender_params()
        if set(state) == {"attributes"} and state["attributes"] == {}:
            return []
        if set(state) != {"attributes", "net"} or not isinstance(state["net"], dict):
            raise ValueError("a fitted recommender needs 'attributes' and 'net'")
        # files written before the count priors existed predict without them
        attributes = {"prior_weights_": dict(PRIOR_OFF),
                      "_transitions": np.zeros((0, 3), dtype=np.int64),
                      **state["attributes"]}
        self._check_recommender_attributes(attributes)
        self.__dict__.update(attributes)
        notes = []
        if str(self.device_).startswith("cuda") and not torch.cuda.is_available():
            notes.append(
                f"{type(self).__name__} was trained on {self.device_!r}, which is "
                "not available here; it was loaded on 'cpu' (device_='cpu')."
            )
            self.device_ = "cpu"
        self._restore_next_event_net(state["net"])
        return notes

    def _check_recommender_params(self) -> None:
        name = type(self).__name__
        self._validate_params()
        if self.n_threads is not None and self.n_threads > MAX_THREADS:
            raise ValueError(
                f"{name}.n_threads={self.n_threads} exceeds {MAX_THREADS}; a model "
                "file may not ask for more threads."
            )
        if self.device not in ("cpu", "auto") and not _KINDS["device"](self.device):
            raise ValueError(
                f"{name}.device must be 'cpu', 'cuda', 'cuda:<index>' or 'auto' in "
                f"a model file; got {self.device!r:.60}."
            )

    def _check_recommender_attributes(self, attributes: Any) -> None:
        name = type(self).__name__
        check_attribute_kinds(name, attributes, _ATTRIBUTES, _KINDS_HERE)
        missing = sorted(set(_ATTRIBUTES) - set(attributes))
        if missing:
            raise ValueError(f"{name} lacks the fitted attribute {missing[0]!r}")
        cards = attributes["input_signature_"]["cardinalities"]
        target = attributes["target_index_"]
        if target >= len(cards) or len(attributes["classes_"]) != max(
            cards[target] - N_RESERVED_IDS, 0
        ):
            raise ValueError(
                f"{name}.classes_ and target_index_ do not fit input_signature_"
            )
        if len(attributes["_transitions"]) and (
            attributes["_transitions"][:, :2].max() >= cards[target]
        ):
            raise ValueError(f"{name}._transitions holds ids beyond the catalogue")

    def _restore_next_event_net(self, desc: dict) -> None:
        if set(desc) != _NET_KEYS:
            raise ValueError(f"the net description needs exactly {sorted(_NET_KEYS)}")
        kwargs, weights = desc["module_kwargs"], desc["module"]
        _check_next_event_module(kwargs, weights, self.input_signature_,
                                 self.target_index_)
        if desc["criterion_kwargs"] != {}:
            raise ValueError("a recommender's loss takes no arguments")
        net = self._build_net(kwargs, self._seed, self.device_, None)
        net.initialize()
        net.module_.load_state_dict(weights, strict=True)
        if desc["optimizer"] is not None:
            _check_optimizer_state(desc["optimizer"], list(net.module_.parameters()))
            net.optimizer_.load_state_dict(desc["optimizer"])
        if desc["batch_order_rng"] is not None:
            rng = net.iterator_train__random_state
            rng.bit_generator.state = desc["batch_order_rng"]
        rows = desc["history"]
        if not isinstance(rows, list) or not all(map(_is_history_row, rows)):
            raise ValueError("the history must be a list of per-epoch scalars")
        net.history = History([{"batches": [], **row} for row in rows])
        net.module_.eval()
        self.net_ = net
        self._record_history()


def _check_next_event_module(kwargs: Any, weights: Any, signature: dict,
                             target: int) -> None:
    """The module description against the fitted attributes and the
    weights' shapes, on the "meta" device (no memory allocated)."""
    if not isinstance(kwargs, dict) or not isinstance(weights, dict):
        raise ValueError("module_kwargs and module must be mappings")
    if not all(isinstance(t, torch.Tensor) for t in weights.values()):
        raise ValueError("the module weights must be tensors")
    layers = kwargs.get("num_layers")
    if not isinstance(layers, int) or not 1 <= layers <= len(weights):
        raise ValueError("the weights do not fit the described model (num_layers)")
    if (
        kwargs.get("cardinalities") != signature["cardinalities"]
        or kwargs.get("n_numeric") != signature["n_numeric"]
        or kwargs.get("target") != target
    ):
        raise ValueError(
            "the weights do not fit the described model: module_kwargs disagree "
            "with input_signature_ or target_index_"
        )
    try:
        with torch.device("meta"):
            module = NextEventNet(**kwargs)
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

