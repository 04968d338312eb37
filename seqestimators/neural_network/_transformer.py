"""TransformerSequenceClassifier and TransformerSequenceRegressor:
self-attention estimators of event sequences.

The LSTM estimators' machinery with another encoder: the training loop,
validation, early stopping, persistence and the classification and
regression logic are those of ``_BaseSequenceEstimator`` and the classifier
and regressor mixins; :class:`_TransformerMixin` only says which network to
build (:class:`~seqestimators.nn.SequenceNet` with ``encoder="transformer"``:
the same inputs, pooling, head and skip paths) and how large its batches may
be.

Batches are bounded twice: in events (the per-event activations of every
block, as for the LSTM) and in attention pairs, ``rows x T**2`` per head and
layer, so that a batch of long sequences stays within
``MAX_ATTENTION_FLOATS`` even where torch runs its plain attention kernel
(which holds every ``T x T`` weight matrix).
"""

from __future__ import annotations

import math

import numpy as np

from ._base import MAX_BATCH_FLOATS, _BaseSequenceEstimator, _positive_int
from ._batching import BucketBatchIterator, cut_batches
from ._classifier import LSTMSequenceClassifier, _SequenceClassifierMixin
from ._docstrings import _ATTRIBUTES, _PARAMETERS, _block
from ._regressor import LSTMSequenceRegressor, _SequenceRegressorMixin

__all__ = [
    "MAX_ATTENTION_FLOATS",
    "TransformerSequenceClassifier",
    "TransformerSequenceRegressor",
]

#: attention weights per batch, ``rows x heads x T**2`` summed over layers
#: (256 MB of float32): the memory of torch's plain attention kernel in
#: training; its fused kernels (the CPU's and CUDA's, without attention
#: dropout) need memory linear in ``T`` and stay far below it
MAX_ATTENTION_FLOATS = 2**26

#: float32 activations a pre-norm block keeps per event and unit of width
#: for the backward pass (layer norms, q/k/v, attention output, the 4x wide
#: feed-forward layer, residuals)
_FLOATS_PER_EVENT = 18

#: per-event activations of a training batch (128 MB): four times the LSTM's
#: budget, since a block keeps ~18 floats per unit where an LSTM keeps 4
_MAX_TRANSFORMER_FLOATS = 4 * MAX_BATCH_FLOATS

_ENCODER_PARAMETERS = ("num_heads", "causal", "max_positions")

_CONSTRAINTS: dict = {
    **{
        k: v
        for k, v in _BaseSequenceEstimator._parameter_constraints.items()
        if k not in ("bidirectional", "cell")
    },
    "num_heads": [_positive_int()],
    "causal": ["boolean"],
    "max_positions": [_positive_int()],
}

_OWN_DOCS = {
    "hidden_size": """\
hidden_size : int, default=64
    Model width (``d_model``) of every block; a multiple of ``num_heads``.""",
    "num_layers": """\
num_layers : int, default=2
    Stacked pre-norm self-attention blocks.""",
    "num_heads": """\
num_heads : int, default=4
    Attention heads per block, each ``hidden_size // num_heads`` wide.""",
    "causal": """\
causal : bool, default=False
    Each step attends only to itself and earlier steps; otherwise
    (bidirectional) every real step attends to every real step. Padding is
    never attended to either way.""",
    "max_positions": """\
max_positions : int, default=512
    Learned positions, counted from each sequence's end (the last event is
    position 0): events older than ``max_positions`` share the oldest one,
    and at prediction a sequence longer than every training sequence reuses
    the oldest *trained* position, never an untrained one. Time features of
    the vectorizer (gaps, recency) add real time on top.""",
    "dropout": """\
dropout : float, default=0.1
    Dropout on the input of the first block, on each residual branch and
    before the output layer (not on the attention weights: that would run
    torch's slow, quadratic-memory attention kernel on the CPU).""",
    "lr": """\
lr : float or "auto", default="auto"
    Learning rate; "auto" is 1e-3 (Adam without warm-up, as the pre-norm
    blocks allow).""",
    "warm_start": """\
warm_start : bool, default=False
    Continue training the fitted network on the next ``fit``. Training
    parameters (``lr``, ``optimizer``, ``weight_decay``, ``batch_size``,
    ``max_epochs``, early stopping, ``clip_grad_norm``, ``callbacks``,
    ``verbose``) take their new values; changing one that defines the
    network (``hidden_size``, ``num_layers``, ``num_heads``, ``causal``,
    ``max_positions``, ``embedding_dim``, ``dropout``, ``pooling``,
    ``bag_pooling``, ``wide``, ``wide_ngrams``, ``ensemble_size``) raises a
    ValueError.""",
}


def _parameter_docs() -> dict:
    """The LSTM estimators' parameter entries with the Transformer's own:
    no ``bidirectional``/``cell``, the encoder's parameters after
    ``num_layers``."""
    out = {}
    for name, text in _PARAMETERS.items():
        if name in ("bidirectional", "cell"):
            continue
        out[name] = _OWN_DOCS.get(name, text)
        if name == "num_layers":
            out.update({k: _OWN_DOCS[k] for k in _ENCODER_PARAMETERS})
    return out


def _fill_doc(*, score: str, stratified: str):
    """Class decorator: ``{parameters}`` and ``{attributes}`` of the
    docstring filled as :func:`~._docstrings.fill_doc` does, with the
    Transformer's parameter entries."""

    def decorate(cls):
        cls.__doc__ = cls.__doc__.format(
            parameters=_block(_parameter_docs(), stratified=stratified),
            attributes=_block(_ATTRIBUTES, score=score),
        )
        return cls

    return decorate


def _store(estimator, values: dict) -> None:
    """Store the ``__init__`` arguments ``values`` as they are."""
    for key, value in values.items():
        if key not in ("self", "__class__"):
            setattr(estimator, key, value)


def _pair_capped_rows(lengths: np.ndarray, max_pairs: int) -> int:
    """Most rows of a batch padded to ``max(lengths)`` steps within
    ``max_pairs`` attention pairs (at least 1)."""
    longest = max(int(lengths.max()) if len(lengths) else 1, 1)
    return max(1, int(max_pairs) // longest**2)


def split_batches(batches, lengths: np.ndarray, max_pairs: int | None) -> list:
    """Split every batch of row indices whose ``rows x T**2`` exceeds
    ``max_pairs`` (``T`` its longest sequence) into even parts within it; one
    step per batch, not per row."""
    if max_pairs is None:
        return list(batches)
    out = []
    for rows in batches:
        cap = _pair_capped_rows(lengths[rows], max_pairs)
        out.extend(np.array_split(rows, math.ceil(len(rows) / cap)))
    return out


class AttentionBatchIterator(BucketBatchIterator):
    """:class:`~._batching.BucketBatchIterator` whose batches also hold at
    most ``max_pairs`` attention pairs (``rows x T**2``): batches of long
    sequences are split into even parts.

    Parameters
    ----------
    dataset, batch_size, shuffle, random_state, max_events
        As for ``BucketBatchIterator``.
    max_pairs : int, default=None
        Cap on ``rows x padded length ** 2`` of a batch; None: no cap.
    """

    def __init__(
        self, dataset, batch_size, shuffle=False, random_state=0, max_events=None,
        max_pairs=None,
    ):
        super().__init__(
            dataset, batch_size, shuffle=shuffle, random_state=random_state,
            max_events=max_events,
        )
        self.max_pairs = max_pairs

    def __len__(self) -> int:
        lengths = np.sort(self.dataset.lengths)
        chunk = np.zeros(len(lengths), dtype=np.int64)
        starts, stops = cut_batches(lengths, chunk, self.batch_size, self.max_events)
        if self.max_pairs is None or not len(starts):
            return len(starts)
        longest = np.maximum(lengths[stops - 1], 1).astype(np.int64)
        cap = np.maximum(int(self.max_pairs) // longest**2, 1)
        return int(np.ceil((stops - starts) / cap).sum())

    def batches(self) -> list[np.ndarray]:
        return split_batches(super().batches(), self.dataset.lengths, self.max_pairs)


class _TransformerMixin:
    """What the Transformer estimators change in ``_BaseSequenceEstimator``:
    the encoder's parameters, their validation, the default learning rate,
    the architecture a warm start keeps and the batch caps."""

    def _default_lr(self) -> float:
        return 1e-3

    def _encoder_kwargs(self, p: dict) -> dict:
        return {
            "encoder": "transformer",
            "hidden_size": p["hidden_size"],
            "num_layers": p["num_layers"],
            "num_heads": p["num_heads"],
            "causal": bool(p["causal"]),
            "max_positions": p["max_positions"],
        }

    @staticmethod
    def _architecture(module_kwargs: dict) -> dict:
        arch = _BaseSequenceEstimator._architecture(module_kwargs)
        arch.update(
            {k: module_kwargs[k] for k in _ENCODER_PARAMETERS if k in module_kwargs}
        )
        return arch

    def _fit(self, X, y, **kwargs):
        hidden, heads = int(self.hidden_size), int(self.num_heads)
        if hidden % heads:
            up = heads * math.ceil(hidden / heads)
            raise ValueError(
                f"{type(self).__name__}: hidden_size={hidden} must be a multiple "
                f"of num_heads={heads} (each head attends with hidden_size // "
                f"num_heads features). Use e.g. hidden_size={up}, or a "
                f"num_heads that divides {hidden}."
            )
        return super()._fit(X, y, **kwargs)

    def _module_settings(self, module_kwargs: dict | None) -> tuple[int, int, int, int]:
        """``(hidden_size, num_layers, num_heads, networks)`` of the network."""
        if module_kwargs is None:
            module_kwargs = self.net_.get_params_for("module")
        return (
            int(module_kwargs["hidden_size"]),
            int(module_kwargs["num_layers"]),
            int(module_kwargs["num_heads"]),
            int(module_kwargs.get("n_members", 1)),
        )

    def _max_batch_events(self, module_kwargs: dict | None = None) -> int:
        """Cap on rows x padded length of a training batch: each block keeps
        about ``18 * hidden_size`` floats per event for the backward pass;
        batches stay near ``4 * MAX_BATCH_FLOATS`` (128 MB)."""
        hidden, layers, _, members = self._module_settings(module_kwargs)
        per_event = _FLOATS_PER_EVENT * hidden * layers * members
        return max(int(self.batch_size_), _MAX_TRANSFORMER_FLOATS // per_event)

    def _max_batch_pairs(self, module_kwargs: dict | None = None, *, training=True):
        """Cap on rows x padded length ** 2 of a batch: its attention weights,
        ``rows x heads x T**2`` per layer (all layers are kept for the
        backward pass in training, one at a time in prediction), stay within
        ``MAX_ATTENTION_FLOATS``."""
        _, layers, heads, members = self._module_settings(module_kwargs)
        per_pair = heads * (layers * members if training else 1)
        return max(1, MAX_ATTENTION_FLOATS // per_pair)

    def _build_net(self, module_kwargs, criterion_kwargs, valid_ds=None,
                   batch_rng=None):
        net = super()._build_net(module_kwargs, criterion_kwargs, valid_ds, batch_rng)
        pairs = self._max_batch_pairs(module_kwargs)
        net.set_params(
            iterator_train=AttentionBatchIterator,
            iterator_train__max_pairs=pairs,
            iterator_valid=AttentionBatchIterator,
            iterator_valid__max_pairs=pairs,
        )
        return net

    def _restore_net(self, desc: dict) -> None:
        # a model file's network must be a Transformer (the caps and the
        # architecture checks read its encoder's parameters)
        kwargs = desc.get("module_kwargs") if isinstance(desc, dict) else None
        if not isinstance(kwargs, dict) or kwargs.get("encoder") != "transformer":
            raise ValueError(
                "the weights do not fit the described model (the network of "
                f"{type(self).__name__} has encoder='transformer')"
            )
        super()._restore_net(desc)

    def _forward_batch(self, Xr, rows: np.ndarray,
                       method: str = "forward") -> np.ndarray:
        # a prediction batch of long sequences is split like a training one
        lengths = Xr.offsets[rows + 1] - Xr.offsets[rows]
        cap = _pair_capped_rows(lengths, self._max_batch_pairs(training=False))
        if len(rows) <= cap:
            return super()._forward_batch(Xr, rows, method)
        forward = super()._forward_batch
        parts = np.array_split(rows, math.ceil(len(rows) / cap))
        return np.concatenate([forward(Xr, part, method) for part in parts])


@_fill_doc(score="accuracy", stratified=" (stratified)")
class TransformerSequenceClassifier(
    _TransformerMixin, _SequenceClassifierMixin, _BaseSequenceEstimator
):
    """Self-attention classifier of event sequences (a Transformer encoder).

    The contract, inputs and fitted attributes of
    :class:`~seqestimators.LSTMSequenceClassifier`, with pre-norm
    self-attention blocks instead of the recurrence: learned positions
    counted from each sequence's end plus the vectorizer's time features,
    padding masks (or causal attention), and the same pooling, skip paths and
    head. Every step sees every other step directly, so long-range
    interactions do not have to survive a recurrence; the cost per sequence
    grows with its length squared (docs/transformer.md).

    Parameters
    ----------
    {parameters}
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    {attributes}

    See Also
    --------
    LSTMSequenceClassifier : the recurrent classifier, same parameters where
        they mean the same.

    Examples
    --------
    >>> import numpy as np
    >>> from seqestimators import TransformerSequenceClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 5, 1)).astype("float32")
    >>> y = np.where(X[:, -1, 0] > 0, "up", "down")
    >>> clf = TransformerSequenceClassifier(hidden_size=8, num_heads=2,
    ...                                     max_epochs=3, random_state=0)
    >>> clf.fit(X, y).predict(X[:2]).shape
    (2,)
    >>> clf.classes_.tolist()
    ['down', 'up']
    """

    _parameter_constraints: dict = {
        **_CONSTRAINTS,
        "class_weight": LSTMSequenceClassifier._parameter_constraints["class_weight"],
    }

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=2,
        num_heads=4,
        causal=False,
        max_positions=512,
        embedding_dim="auto",
        dropout=0.1,
        pooling="last+mean+max",
        bag_pooling="mean+max",
        wide=True,
        wide_alpha="auto",
        wide_ngrams="auto",
        ensemble_size=1,
        lr="auto",
        optimizer="adam",
        weight_decay=0.0,
        batch_size="auto",
        max_epochs=100,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        clip_grad_norm=1.0,
        callbacks=None,
        device="cpu",
        n_threads=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        class_weight=None,
    ):
        _store(self, locals())


@_fill_doc(score="R²", stratified="")
class TransformerSequenceRegressor(
    _TransformerMixin, _SequenceRegressorMixin, _BaseSequenceEstimator
):
    """Self-attention regressor of event sequences (a Transformer encoder).

    The contract, losses, target standardization and fitted attributes of
    :class:`~seqestimators.LSTMSequenceRegressor`, with pre-norm
    self-attention blocks instead of the recurrence (see
    :class:`TransformerSequenceClassifier` and docs/transformer.md).

    Parameters
    ----------
    loss : {{"auto", "squared_error", "absolute_error", "huber", "poisson"}}, \
default="auto"
        Training loss, as for LSTMSequenceRegressor: "auto" is "poisson" for
        counts (non-negative integer targets, not all zero) and
        "squared_error" otherwise; "absolute_error" and "huber" standardize
        ``y`` by its median and ``1.4826 * MAD``; "poisson" predicts rates
        ``exp(log_rate) >= 0`` and needs non-negative ``y`` with
        ``sum(y) > 0``. A warm start or ``partial_fit`` keeps the loss of the
        first fit.
    {parameters}

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardization, ``(y - y_mean_) / y_scale_`` (0 and 1 for
        "poisson").
    {attributes}

    See Also
    --------
    LSTMSequenceRegressor : the recurrent regressor, same parameters where
        they mean the same.

    Examples
    --------
    >>> import numpy as np
    >>> from seqestimators import TransformerSequenceRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 5)).astype("float32")
    >>> y = X.sum(axis=1)
    >>> reg = TransformerSequenceRegressor(hidden_size=8, num_heads=2,
    ...                                    max_epochs=3, random_state=0)
    >>> reg.fit(X, y).predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **_CONSTRAINTS,
        "loss": LSTMSequenceRegressor._parameter_constraints["loss"],
    }

    def __init__(
        self,
        *,
        loss="auto",
        hidden_size=64,
        num_layers=2,
        num_heads=4,
        causal=False,
        max_positions=512,
        embedding_dim="auto",
        dropout=0.1,
        pooling="last+mean+max",
        bag_pooling="mean+max",
        wide=True,
        wide_alpha="auto",
        wide_ngrams="auto",
        ensemble_size=1,
        lr="auto",
        optimizer="adam",
        weight_decay=0.0,
        batch_size="auto",
        max_epochs=100,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        clip_grad_norm=1.0,
        callbacks=None,
        device="cpu",
        n_threads=None,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        _store(self, locals())
