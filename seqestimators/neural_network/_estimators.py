"""LSTMSequenceClassifier and LSTMSequenceRegressor.

Plain scikit-learn estimators with flat keyword parameters. ``fit`` builds a
skorch :class:`~skorch.NeuralNet` (``net_``) around
:class:`~seqestimators.nn.SequenceNet` and trains it with
length-bucketed batches; skorch brings the training loop, callbacks and
history. Prediction sorts sequences by length, pads each batch to its own
longest sequence and restores the input order.

A non-finite loss or a Ctrl-C ends training with the weights of the best (or
last finished) epoch restored and a warning, never with a silently broken
model; running out of memory says which setting to lower
(``_TrainingGuard``, ``_end_training``; docs/reliability.md).
"""

from __future__ import annotations

import copy
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state, check_scalar, column_or_1d
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    EarlyStopping,
    GradientNormClipping,
    ProgressBar,
)
from skorch.helper import predefined_split

from ..data._ops import top_k_indices
from ..data._ragged import RaggedSequences, pad_rows
from ..nn import HalfPoissonDeviance, SequenceNet
from ..utils._compat import HasMethods, Interval, StrOptions, _fit_context
from ..utils._cpu import cpu_runtime
from ._batching import (
    BucketBatchIterator,
    SequenceDataset,
    cut_batches,
    length_sorted_order,
)
from ._inputs import as_ragged, describe_input
from ._state import SavedStateMixin

__all__ = ["LSTMSequenceClassifier", "LSTMSequenceRegressor"]

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}

#: float32 values of recurrent activations per training batch (32 MB): bounds
#: the memory of a batch of long sequences (fewer rows per batch); at this size
#: it costs no speed (benchmarks/bench_training.py)
MAX_BATCH_FLOATS = 2**23

#: rows per prediction batch (sequences are length-sorted first)
PREDICT_BATCH_SIZE = 1024

#: prediction batches hold at most this many times the events of a training
#: batch (nothing is saved for a backward pass): a few very long sequences get
#: batches of their own instead of inflating a batch of 1,024 rows
PREDICT_EVENTS_FACTOR = 8


def auto_embedding_dim(cardinality: int) -> int:
    """Embedding size for a vocabulary: ``1.6 * n ** 0.56`` clipped to [4, 64]."""
    return int(min(64, max(4, round(1.6 * cardinality**0.56))))


def auto_batch_size(n_train: int) -> int:
    """``n_train // 16`` clipped to [16, 256]: enough steps per epoch on small
    data, large batches (fast on CPU and GPU) on large data."""
    return int(min(256, max(16, n_train // 16)))


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
    return z


#: the standard deviation of a normal distribution per median absolute deviation
_MAD_TO_STD = 1.4826

#: loss name of the regressor -> criterion class of its skorch net
_REGRESSION_LOSSES = {
    "squared_error": torch.nn.MSELoss,
    "absolute_error": torch.nn.L1Loss,
    "huber": torch.nn.HuberLoss,
    "poisson": HalfPoissonDeviance,
}


class _ValidationScore(Callback):
    """Record ``valid_score`` from the outputs of the validation pass."""

    def __init__(self, score_fn):
        self.score_fn = score_fn

    def on_epoch_begin(self, net, **kwargs):
        self.y_pred_, self.y_true_ = [], []

    def on_batch_end(self, net, batch=None, training=None, y_pred=None, **kwargs):
        if not training:
            self.y_pred_.append(y_pred.detach().float().cpu())
            self.y_true_.append(batch[1].cpu())

    def on_epoch_end(self, net, **kwargs):
        if self.y_pred_:
            y_true = torch.cat(self.y_true_).numpy()
            y_pred = torch.cat(self.y_pred_).numpy().astype(np.float64)
            net.history.record("valid_score", float(self.score_fn(y_true, y_pred)))
        self.y_pred_, self.y_true_ = [], []


class _EarlyStopping(EarlyStopping):
    """skorch's EarlyStopping, idle in epochs without validation data
    (``partial_fit``, warm starts without early stopping).

    skorch stops training by raising ``KeyboardInterrupt``, the same signal as
    a user's Ctrl-C; ``stopped_`` tells the two apart."""

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.stopped_ = False

    def on_epoch_end(self, net, **kwargs):
        if self.monitor in net.history[-1]:
            try:
                super().on_epoch_end(net, **kwargs)
            except KeyboardInterrupt:
                self.stopped_ = True
                raise


class _TrainingGuard(Callback):
    """Stop on a non-finite training loss; remember the last good weights.

    After every finished epoch whose weights are all finite, the weights are
    copied (``weights_``, from epoch ``weights_epoch_``); at the start of
    training they are the current ones. A non-finite batch loss, or non-finite
    weights at the end of an epoch, stop the loop (skorch's
    ``KeyboardInterrupt`` signal) and are described in ``non_finite_``. The
    estimator restores the weights and decides between a warning and an error
    once skorch returns. ``epochs_done_`` counts the epochs that finished.
    """

    def on_train_begin(self, net, **kwargs):
        self.epochs_done_ = 0
        self.non_finite_ = None
        self.batch_ = 0
        self.weights_epoch_ = len(net.history)
        # a first fit has nothing worth restoring yet
        trained = self.weights_epoch_ > 0 and self._finite(net)
        self.weights_ = self._copy(net) if trained else None

    def on_epoch_begin(self, net, **kwargs):
        self.batch_ = 0

    def on_batch_end(self, net, training=None, **kwargs):
        if not training:
            return
        self.batch_ += 1
        value = net.history[-1, "batches", -1, "train_loss"]
        if not math.isfinite(value):
            self.non_finite_ = (
                f"the training loss became {value} in epoch {len(net.history)}, "
                f"batch {self.batch_}"
            )
            raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs):
        if not self._finite(net):
            self.non_finite_ = (
                f"the weights became NaN or infinite in epoch {len(net.history)}"
            )
            raise KeyboardInterrupt
        self.epochs_done_ += 1
        self.weights_epoch_ = len(net.history)
        self.weights_ = self._copy(net)

    def release(self):
        """Drop the copied weights (they are only needed during ``fit``)."""
        self.weights_ = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["weights_"] = None
        return state

    @staticmethod
    def _finite(net) -> bool:
        with torch.no_grad():
            return all(bool(torch.isfinite(p).all()) for p in net.module_.parameters())

    @staticmethod
    def _copy(net) -> dict:
        return {k: v.detach().clone() for k, v in net.module_.state_dict().items()}


def _is_out_of_memory(exc: BaseException) -> bool:
    """CUDA (torch.OutOfMemoryError), Python/numpy (MemoryError) or torch's
    CPU allocator (RuntimeError "can't allocate memory") running out."""
    if isinstance(exc, MemoryError | torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "allocate memory" in text
    )


def _with_message(exc: BaseException, message: str) -> BaseException:
    """An exception of ``exc``'s type (MemoryError if that cannot be built)
    carrying ``message`` followed by the original one."""
    full = f"{message} Original error: {exc}"
    try:
        return type(exc)(full)
    except Exception:  # an exception type with a different constructor
        return MemoryError(full)


def _check_ids_in_range(
    Xr: RaggedSequences, cardinalities, name: str, *, fitted: bool = False
) -> None:
    """Raise if a categorical id lies outside ``[0, cardinality)``: the
    embedding would fail with an opaque IndexError."""
    if not (Xr.n_categorical and Xr.n_events):
        return
    cat = Xr.categorical
    # small inputs (online prediction): two whole-array reductions are the
    # cheapest proof that every id is valid
    if cat.size <= 4096 and cat.min() >= 0 and cat.max() < min(cardinalities):
        return
    hi = cat.max(axis=0)
    lo = cat.min(axis=0)
    card = np.asarray(cardinalities)
    bad = np.flatnonzero((hi >= card) | (lo < 0))
    if not len(bad):
        return
    i = int(bad[0])
    found = (
        f"Categorical channel {i} ({Xr.categorical_names[i]!r}) has ids in "
        f"[{lo[i]}, {hi[i]}]"
    )
    if fitted:
        raise ValueError(
            f"{found}, but {name} was fitted with ids in [0, {card[i] - 1}]. Ids "
            "beyond the fitted vocabulary cannot be embedded: encode X with the "
            "SequenceVectorizer fitted with this model (unseen categories become "
            "the unknown id 1)."
        )
    raise ValueError(
        f"{found}, outside [0, {card[i] - 1}] given by its cardinality {card[i]}. "
        "Ids must be non-negative and below the channel's cardinality (0 is "
        "padding, 1 unknown); build X with SequenceVectorizer."
    )


class _BaseSequenceEstimator(SavedStateMixin, BaseEstimator):
    """Shared parameters, validation, training and prediction."""

    _parameter_constraints: dict = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "cell": [StrOptions({"lstm", "gru"})],
        "embedding_dim": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "pooling": [StrOptions({"last", "mean", "max", "attention"})],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), HasMethods(["step", "zero_grad"])],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "callbacks": [list, None],
        "device": [StrOptions({"cpu", "cuda", "auto"}), str],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        cell="lstm",
        embedding_dim="auto",
        dropout=0.1,
        pooling="last",
        lr=3e-3,
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
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.cell = cell
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.pooling = pooling
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.clip_grad_norm = clip_grad_norm
        self.callbacks = callbacks
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # ------------------------------------------------------------- hooks
    def _encode_targets(self, y, *, first: bool, classes=None):  # pragma: no cover
        raise NotImplementedError

    def _n_outputs(self) -> int:  # pragma: no cover
        raise NotImplementedError

    #: loss of the skorch net (its kwargs come from ``_criterion_kwargs``)
    _criterion_class: type = torch.nn.Module

    def _criterion_kwargs(self, y_train) -> dict:  # pragma: no cover
        raise NotImplementedError

    def _valid_score(self, y_true, y_pred) -> float:  # pragma: no cover
        raise NotImplementedError

    def _init_output(self, module, y_enc) -> None:
        """Adjust the freshly initialized ``module`` to the training targets
        (first fit only); the default keeps torch's initialization."""

    # ----------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train on sequences ``X`` and targets ``y``.

        Parameters
        ----------
        X : RaggedSequences, dict of padded arrays, or array of shape (n, L, d)
            or (n, L)
            Sequences; see the module documentation for the accepted forms.
        y : array-like of shape (n,) (or (n, n_outputs) for the regressor)
            Targets.

        Returns
        -------
        self
        """
        continuing = self.warm_start and hasattr(self, "net_")
        return self._fit(X, y, incremental=False, continuing=continuing)

    def _fit(self, X, y, *, incremental, continuing, classes=None):
        name = type(self).__name__
        if y is None:
            raise ValueError(
                f"{name} requires y to be passed, but the target y is None."
            )
        # a fit that fails on its input leaves a fitted model as it was
        state = dict(self.__dict__)
        try:
            Xr, y_enc = self._validate_fit_input(X, y, continuing, classes)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise
        devices = self._rng_devices()
        with torch.random.fork_rng(devices=devices), cpu_runtime(
            self.n_threads, keep_freed_memory=True
        ):
            torch.manual_seed(self._seed + self.n_iter_)
            self._train(Xr, y_enc, incremental=incremental, continuing=continuing)
        return self

    def _validate_fit_input(self, X, y, continuing, classes):
        name = type(self).__name__
        Xr, kind = as_ragged(X, caller=name, estimator=self, reset=not continuing)
        if kind != "array2d" and not continuing:
            for attr in ("n_features_in_", "feature_names_in_"):
                if hasattr(self, attr):
                    delattr(self, attr)
        if continuing:
            self._check_signature(Xr)
        y_enc = self._encode_targets(y, first=not continuing, classes=classes)
        if len(y_enc) != len(Xr):
            raise ValueError(
                f"X and y have different numbers of samples: X has {len(Xr)} "
                f"sequences, y has {len(y_enc)} values."
            )
        if not continuing:
            _check_ids_in_range(Xr, Xr.cardinalities, name)
            self.input_signature_ = describe_input(Xr)
            self.device_ = self._resolve_device()
            self._seed = self._draw_seed()
            self.n_iter_ = 0
        return Xr, y_enc

    def _draw_seed(self) -> int:
        if self.random_state is None:
            # fresh entropy; never touches numpy's global RandomState
            return int(np.random.SeedSequence().generate_state(1)[0] % (2**31 - 1))
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _resolve_device(self) -> str:
        device = self.device
        if device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on this "
                "machine. Use device='cpu' or device='auto'."
            )
        try:
            torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(
                f"The 'device' parameter of {type(self).__name__} must be 'cpu', "
                f"'cuda', 'cuda:<index>' or 'auto'. Got {device!r} instead."
            ) from None
        return device

    def _rng_devices(self) -> list:
        dev = torch.device(self.device_)
        if dev.type == "cuda":
            return [dev.index or 0]
        return []

    def _split(self, n: int, stratify):
        """Train and validation row indices (stratified by ``stratify`` if
        given and possible)."""
        rows = np.arange(n)
        n_valid = math.ceil(self.validation_fraction * n)
        if n - n_valid < 1 or n_valid < 1:
            raise ValueError(
                f"early_stopping holds out validation_fraction="
                f"{self.validation_fraction} of the data, which leaves no "
                f"training data with {n} sample{'s' if n != 1 else ''}. Use more "
                "samples or early_stopping=False."
            )
        if stratify is not None:
            counts = np.bincount(stratify)
            counts = counts[counts > 0]
            if counts.min() < 2 or n_valid < len(counts) or n - n_valid < len(counts):
                stratify = None
        return train_test_split(
            rows, test_size=n_valid, stratify=stratify, random_state=self._seed
        )

    def _module_kwargs(self) -> dict:
        """Keyword arguments of :class:`SequenceNet` for the fitted input."""
        sig = self.input_signature_
        if self.embedding_dim == "auto":
            emb = [auto_embedding_dim(c) for c in sig["cardinalities"]]
        else:
            emb = [int(self.embedding_dim)] * sig["n_categorical"]
        n_numeric = sig["n_numeric"]
        return {
            "cardinalities": list(sig["cardinalities"]),
            "embedding_dims": emb,
            "n_numeric": n_numeric,
            "numeric_dim": max(8, n_numeric) if n_numeric else 0,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "cell": self.cell,
            "dropout": self.dropout,
            "pooling": self.pooling,
            "n_outputs": self._n_outputs(),
        }

    def _build_net(
        self, module_kwargs: dict, criterion_kwargs: dict, valid_ds=None
    ) -> NeuralNet:
        """The skorch net (not initialized) around ``SequenceNet(**module_kwargs)``.

        Needs only fitted attributes (``batch_size_``, ``device_``, ``_seed``),
        not training data, so :func:`seqestimators.load` rebuilds nets with it.
        """
        optimizer = (
            _OPTIMIZERS[self.optimizer]
            if isinstance(self.optimizer, str)
            else self.optimizer
        )
        # Early stopping is always installed; it idles in epochs without
        # validation data, so a warm start may switch early stopping on. The
        # guard comes before it: its copy of the weights at the end of an
        # epoch must not be skipped when early stopping ends the loop.
        callbacks = [
            ("valid_score", _ValidationScore(self._valid_score)),
            ("training_guard", _TrainingGuard()),
            (
                "early_stopping",
                _EarlyStopping(
                    monitor="valid_loss",
                    patience=self.n_iter_no_change,
                    threshold=self.tol,
                    threshold_mode="abs",
                    lower_is_better=True,
                    load_best=True,
                ),
            ),
        ]
        if self.clip_grad_norm is not None:
            callbacks.append(
                ("clip_grad_norm", GradientNormClipping(self.clip_grad_norm))
            )
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        for i, cb in enumerate(self.callbacks or []):
            if isinstance(cb, tuple):
                callbacks.append(cb)
            else:
                callbacks.append((f"user_{i}_{type(cb).__name__}", copy.deepcopy(cb)))
        optimizer_kwargs = {"optimizer__weight_decay": self.weight_decay}
        if optimizer is torch.optim.SGD:
            optimizer_kwargs["optimizer__momentum"] = 0.9
        return NeuralNet(
            module=SequenceNet,
            **{f"module__{k}": v for k, v in module_kwargs.items()},
            criterion=self._criterion_class,
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size_,
            iterator_train=BucketBatchIterator,
            iterator_train__shuffle=True,
            # skorch makes a new iterator at each (partial_)fit call: one
            # generator shared by all of them keeps partial_fit calls and
            # warm starts from replaying the first epochs' batch order
            iterator_train__random_state=np.random.default_rng(self._seed),
            iterator_train__max_events=self._max_batch_events(),
            iterator_valid=BucketBatchIterator,
            iterator_valid__max_events=self._max_batch_events(),
            train_split=None if valid_ds is None else predefined_split(valid_ds),
            callbacks=callbacks,
            verbose=int(self.verbose),
            device=self.device_,
            **{f"criterion__{k}": v for k, v in criterion_kwargs.items()},
            **optimizer_kwargs,
        )

    def _max_batch_events(self) -> int:
        """Cap on rows x padded length of a training batch.

        The recurrent layer saves about ``4 * hidden_size`` floats per event
        and direction for the backward pass; batches of long sequences are cut
        to fewer rows so that this stays near ``MAX_BATCH_FLOATS`` (32 MB).
        """
        per_event = 4 * self.hidden_size * (2 if self.bidirectional else 1)
        return max(int(self.batch_size_), MAX_BATCH_FLOATS // per_event)

    def _train(self, Xr, y_enc, *, incremental: bool, continuing: bool):
        n = len(Xr)
        use_valid = self.early_stopping and not incremental
        if use_valid:
            train_rows, valid_rows = self._split(n, self._stratify_labels(y_enc))
            train_ds = SequenceDataset(Xr[train_rows], y_enc[train_rows])
            valid_ds = SequenceDataset(Xr[valid_rows], y_enc[valid_rows])
        else:
            train_ds = SequenceDataset(Xr, y_enc)
            valid_ds = None
        if not continuing:
            self.batch_size_ = (
                auto_batch_size(len(train_ds))
                if self.batch_size == "auto"
                else self.batch_size
            )
            self.net_ = self._build_net(
                self._module_kwargs(), self._criterion_kwargs(train_ds.y), valid_ds
            )
            self.net_.initialize()
            self._init_output(self.net_.module_, y_enc)
        else:
            self.net_.set_params(
                train_split=None if valid_ds is None else predefined_split(valid_ds)
            )
        epochs = 1 if incremental else self.max_epochs
        n_before = len(self.net_.history)
        try:
            # skorch catches KeyboardInterrupt (Ctrl-C, early stopping, the
            # training guard), runs on_train_end and returns normally
            self.net_.partial_fit(train_ds, None, epochs=epochs)
        except BaseException as exc:
            out_of_memory = isinstance(exc, Exception) and _is_out_of_memory(exc)
            message = self._out_of_memory_message() if out_of_memory else ""
            self._abandon_fit(continuing, n_before, use_valid)
            if out_of_memory:
                raise _with_message(exc, message) from exc
            raise
        # keep no reference to the validation data: a saved model must not
        # carry (a tenth of) its training set
        self.net_.set_params(train_split=None)
        self._end_training(epochs, n_before, use_valid, continuing)

    def _end_training(self, epochs: int, n_before: int, use_valid: bool, continuing):
        """Find out why training stopped and leave a usable model, or raise."""
        name = type(self).__name__
        callbacks = dict(self.net_.callbacks_)
        guard, es = callbacks["training_guard"], callbacks["early_stopping"]
        history = self.net_.history
        # an epoch cut short (interrupt, non-finite loss) leaves no trace
        del history[n_before + guard.epochs_done_ :]
        if guard.non_finite_ is not None:
            reason = "non_finite_loss"
        elif getattr(es, "stopped_", False):
            reason = "early_stopping"
        elif guard.epochs_done_ < epochs:
            reason = "interrupted"
        else:
            reason = "completed"
        if reason in ("non_finite_loss", "interrupted"):
            if use_valid and es.best_model_weights_ is not None:
                weights, epoch, which = (
                    es.best_model_weights_,
                    es.best_epoch_,
                    "the best validation loss so far",
                )
            else:
                weights, epoch, which = (
                    guard.weights_,
                    guard.weights_epoch_,
                    "the last finished epoch",
                )
            if weights is None or epoch == 0:
                guard.release()
                self._abandon_fit(continuing, n_before, use_valid)
                if reason == "interrupted":
                    raise KeyboardInterrupt
                raise ValueError(
                    f"{name} stopped training: {guard.non_finite_}, before any "
                    "epoch finished with finite weights. The learning rate "
                    f"(lr={self.lr}) is probably too high, or the inputs hold "
                    "extreme values: lower lr, keep clip_grad_norm set, and scale "
                    "numeric inputs (SequenceVectorizer standardizes them)."
                )
            self.net_.module_.load_state_dict(weights)
            if reason == "non_finite_loss":
                warnings.warn(
                    f"{name} stopped training: {guard.non_finite_}. The weights of "
                    f"epoch {epoch} ({which}) were restored. Lower the learning "
                    f"rate (lr={self.lr}) or scale the inputs to train further.",
                    ConvergenceWarning,
                    stacklevel=6,
                )
            else:
                warnings.warn(
                    f"{name}: training was interrupted (KeyboardInterrupt) after "
                    f"{len(history)} finished epoch(s). The weights of epoch "
                    f"{epoch} ({which}) were restored; the model is fitted and "
                    "usable.",
                    UserWarning,
                    stacklevel=6,
                )
        guard.release()
        self.stop_reason_ = reason
        self.net_.module_.eval()
        self._record_history(use_valid)

    def _abandon_fit(self, continuing: bool, n_before: int, use_valid: bool):
        """Clean up after a fit that raised. A first fit leaves the estimator
        unfitted. A continued one (warm start, ``partial_fit``) keeps the
        weights of its last finished epoch (or those it started from)."""
        net = self.net_
        net.set_params(train_split=None)
        if not continuing:
            for attr in [a for a in vars(self) if a.endswith("_")]:
                delattr(self, attr)
            for attr in ("_seed", "_label_encoder", "_y_ndim", "_loss"):
                self.__dict__.pop(attr, None)
            return
        guard = dict(net.callbacks_)["training_guard"]
        keep = n_before
        if getattr(guard, "weights_", None) is not None:
            net.module_.load_state_dict(guard.weights_)
            keep = guard.weights_epoch_
            guard.release()
        del net.history[keep:]
        net.module_.eval()
        self._record_history(False)

    def _out_of_memory_message(self) -> str:
        return (
            f"{type(self).__name__} ran out of memory while training on "
            f"{self.device_!r} with batch_size={self.batch_size_}. "
            "Use a smaller batch_size, shorter sequences "
            "(SequenceVectorizer(max_len=...)) or a smaller hidden_size."
        )

    def _stratify_labels(self, y_enc):
        return y_enc

    def _record_history(self, used_valid: bool):
        history = self.net_.history
        self.history_ = history
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        if used_valid and "valid_loss" in history[-1]:
            es = dict(self.net_.callbacks_)["early_stopping"]
            self.best_epoch_ = int(es.best_epoch_) or int(history[-1, "epoch"])
            scores = [row.get("valid_score", np.nan) for row in history]
            self.validation_scores_ = [float(s) for s in scores]
            best_row = [r for r in history if r["epoch"] == self.best_epoch_]
            self.best_validation_score_ = float(
                best_row[0].get("valid_score", np.nan)
            ) if best_row else float("nan")
            losses = [r["valid_loss"] for r in history if "valid_loss" in r]
            self.best_loss_ = float(min(losses))
        else:
            self.best_epoch_ = int(history[-1, "epoch"])
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = float(min(self.loss_curve_))

    # -------------------------------------------------------- prediction
    def _check_signature(self, Xr: RaggedSequences) -> None:
        name = type(self).__name__
        sig = self.input_signature_
        if Xr.n_categorical != sig["n_categorical"] or Xr.n_numeric != sig["n_numeric"]:
            raise ValueError(
                f"X has {Xr.n_categorical} categorical and {Xr.n_numeric} numeric "
                f"channels, but {name} was fitted with {sig['n_categorical']} "
                f"categorical and {sig['n_numeric']} numeric channels. Transform X "
                "with the vectorizer fitted with this model."
            )
        _check_ids_in_range(Xr, sig["cardinalities"], name, fitted=True)

    def _forward(self, X) -> np.ndarray:
        """Raw network outputs, shape (n, n_outputs), in input order."""
        if "net_" not in self.__dict__:  # check_is_fitted, without its tag lookup
            check_is_fitted(self, "net_")
        Xr, _ = as_ragged(X, caller=type(self).__name__, estimator=self, reset=False)
        self._check_signature(Xr)
        module = self.net_.module_
        device = torch.device(self.device_)
        on_cpu = device.type == "cpu"
        out = np.empty((len(Xr), self._n_outputs()), dtype=np.float32)
        if len(Xr) > 1:
            order = length_sorted_order(Xr.lengths)
            max_events = PREDICT_EVENTS_FACTOR * self._max_batch_events()
            starts, stops = cut_batches(
                Xr.lengths[order], np.zeros(len(order), dtype=np.int64),
                PREDICT_BATCH_SIZE, max_events,
            )
        else:
            order, starts, stops = np.zeros(1, int), [0], [1]
        flats = [Xr.categorical, Xr.numeric]
        # forward passes rarely meet denormals: the calling thread suffices
        with torch.inference_mode(), cpu_runtime(self.n_threads, all_threads=False):
            for start, stop in zip(starts, stops):
                rows = order[start:stop]
                (cat, num), lengths = pad_rows(Xr.offsets, flats, rows)
                tensors = [torch.from_numpy(a) for a in (cat, num, lengths)]
                if not on_cpu:
                    tensors = [t.to(device) for t in tensors]
                try:
                    y = module(*tensors)
                except Exception as exc:
                    if not _is_out_of_memory(exc):
                        raise
                    message = (
                        f"{type(self).__name__} ran out of memory predicting a "
                        f"batch of {len(rows)} sequences padded to {cat.shape[1]} "
                        f"steps on {self.device_!r}. Shorten the sequences "
                        "(SequenceVectorizer(max_len=...)) or predict fewer "
                        f"than {len(rows)} sequences per call."
                    )
                    raise _with_message(exc, message) from exc
                out[rows] = y.float().cpu().numpy()
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags


class LSTMSequenceClassifier(ClassifierMixin, _BaseSequenceEstimator):
    """Recurrent classifier of event sequences (LSTM or GRU).

    Parameters
    ----------
    hidden_size : int, default=64
        Units of each recurrent layer (per direction).
    num_layers : int, default=1
        Stacked recurrent layers.
    bidirectional : bool, default=False
        Also read each sequence backwards (within its own length).
    cell : {"lstm", "gru"}, default="lstm"
        Recurrent cell.
    embedding_dim : int or "auto", default="auto"
        Embedding size of every categorical channel; "auto" uses
        ``round(1.6 * n_ids ** 0.56)`` clipped to [4, 64] per channel.
    dropout : float, default=0.1
        Dropout between recurrent layers and before the output layer.
    pooling : {"last", "mean", "max", "attention"}, default="last"
        How per-step outputs become one vector: the output at the true last
        step, or masked mean, max or attention pooling over the steps.
    lr : float, default=3e-3
        Learning rate.
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, \
default="adam"
        Optimizer ("sgd" uses momentum 0.9).
    weight_decay : float, default=0.0
        L2 penalty (decoupled for "adamw").
    batch_size : int or "auto", default="auto"
        Sequences per batch; "auto" is ``n_train // 16`` clipped to [16, 256].
    max_epochs : int, default=100
        Maximum passes over the training data.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the training data (stratified),
        stop when the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and restore the best weights.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Minimum decrease of the validation loss that counts as improvement.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss.
    clip_grad_norm : float or None, default=1.0
        Clip the gradient norm to this value.
    callbacks : list of skorch callbacks, default=None
        Extra callbacks (instances or ``(name, callback)`` tuples), copied at
        each fit.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Torch device; "auto" picks CUDA when available.
    n_threads : int, default=None
        CPU threads torch may use during ``fit`` and ``predict`` (restored
        afterwards); None keeps torch's setting (``torch.get_num_threads()``).
        Use 1 when several fits share the cores (``n_jobs`` in a search,
        parallel tuning workers): oversubscribed torch threads can be 10x
        slower.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, the validation split and shuffling. An
        int gives identical results on the CPU. The global random states of
        numpy and torch are left untouched.
    verbose : int, default=0
        1 prints a table per epoch (train loss, valid loss, valid score,
        duration); 2 also shows a progress bar over batches.
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the torch model.
    history_ : skorch.History
        Per epoch: ``train_loss``, ``valid_loss``, ``valid_score``
        (accuracy), ``dur``; read it like ``history_[:, "valid_loss"]``.
    n_iter_ : int
        Epochs trained.
    best_epoch_ : int
        Epoch (1-based) whose weights were kept.
    loss_curve_ : list of float
        Training loss per epoch.
    validation_scores_ : list of float or None
        Validation accuracy per epoch (None without early stopping).
    best_validation_score_ : float or None
        Validation accuracy at ``best_epoch_``.
    best_loss_ : float
        Lowest validation loss (training loss without early stopping).
    stop_reason_ : str
        Why the last ``fit``/``partial_fit`` ended: "completed" (all epochs
        ran), "early_stopping", "non_finite_loss" (the loss became NaN or
        infinite; the weights of the best or last finished epoch were
        restored, with a ConvergenceWarning) or "interrupted" (Ctrl-C; the
        same restoration, with a UserWarning). See docs/reliability.md.
    batch_size_ : int
        Batch size used.
    device_ : str
        Device used.
    input_signature_ : dict
        Channels and categorical cardinalities seen in ``fit``.
    n_features_in_ : int
        Sequence length ``L``, only when fitted on a 2-D array.

    Examples
    --------
    >>> import numpy as np
    >>> from seqestimators import LSTMSequenceClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 5, 1)).astype("float32")
    >>> y = np.where(X[:, -1, 0] > 0, "up", "down")
    >>> clf = LSTMSequenceClassifier(hidden_size=8, max_epochs=3, random_state=0)
    >>> clf.fit(X, y).predict(X[:2]).shape
    (2,)
    >>> clf.classes_.tolist()
    ['down', 'up']
    """

    _parameter_constraints: dict = {
        **_BaseSequenceEstimator._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        cell="lstm",
        embedding_dim="auto",
        dropout=0.1,
        pooling="last",
        lr=3e-3,
        optimizer="adam",
        weight_decay=0.0,
        batch_size="auto",
        max_epochs=100,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        class_weight=None,
        clip_grad_norm=1.0,
        callbacks=None,
        device="cpu",
        n_threads=None,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        super().__init__(
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            cell=cell,
            embedding_dim=embedding_dim,
            dropout=dropout,
            pooling=pooling,
            lr=lr,
            optimizer=optimizer,
            weight_decay=weight_decay,
            batch_size=batch_size,
            max_epochs=max_epochs,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            clip_grad_norm=clip_grad_norm,
            callbacks=callbacks,
            device=device,
            n_threads=n_threads,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
        )
        self.class_weight = class_weight

    def _encode_targets(self, y, *, first, classes=None):
        name = type(self).__name__
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if len(y) == 0:
            raise ValueError(f"{name} got an empty y; at least 2 samples are needed.")
        if first:
            labels = np.unique(y) if classes is None else np.unique(classes)
            if len(labels) < 2:
                raise ValueError(
                    f"{name} needs samples of at least 2 classes in the data, but "
                    f"the data contains only one class: {labels.tolist()[0]!r}."
                )
            self._label_encoder = LabelEncoder().fit(labels)
            self.classes_ = self._label_encoder.classes_
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if len(unseen):
            raise ValueError(
                f"y contains classes {unseen.tolist()} not in classes_ "
                f"{self.classes_.tolist()}; pass every class to the first "
                "partial_fit call through `classes`."
            )
        return self._label_encoder.transform(y).astype(np.int64)

    def _n_outputs(self):
        return len(self.classes_)

    _criterion_class = torch.nn.CrossEntropyLoss

    def _criterion_kwargs(self, y_train):
        kwargs = {}
        if self.class_weight is not None:
            classes = np.arange(len(self.classes_))
            if self.class_weight == "balanced":
                present = np.unique(y_train)
                w = np.ones(len(classes))
                w[present] = compute_class_weight(
                    "balanced", classes=present, y=y_train
                )
            else:
                unknown = set(self.class_weight) - set(self.classes_.tolist())
                if unknown:
                    raise ValueError(
                        f"class_weight has keys {sorted(unknown, key=str)} that are "
                        f"not classes of y {self.classes_.tolist()}."
                    )
                w = np.array(
                    [float(self.class_weight.get(c, 1.0)) for c in self.classes_]
                )
            kwargs["weight"] = torch.as_tensor(w, dtype=torch.float32)
        return kwargs

    def _valid_score(self, y_true, y_pred):
        return accuracy_score(y_true, y_pred.argmax(1))

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Train one epoch on ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : sequences (see ``fit``)
        y : array-like of shape (n,)
        classes : array-like of shape (n_classes,), default=None
            All classes that will ever appear; required on the first call.

        Returns
        -------
        self
        """
        first = not hasattr(self, "net_")
        if first and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit."
            )
        return self._fit(X, y, incremental=True, continuing=not first, classes=classes)

    def predict_proba(self, X):
        """Class probabilities, shape (n, n_classes), columns in ``classes_``."""
        return _softmax(self._forward(X))

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`."""
        logits = self._forward(X)
        return _log_softmax(logits)

    def predict(self, X):
        """Most likely class label of each sequence (original labels)."""
        best = self._forward(X).argmax(axis=1)
        return self.classes_[best]

    def predict_topk(self, X, k=5):
        """The ``k`` most likely class labels of each sequence, best first.

        Parameters
        ----------
        X : sequences (see ``fit``)
        k : int, default=5
            Labels per sequence, at most ``len(classes_)``.

        Returns
        -------
        labels : ndarray of shape (n_samples, k)
            Original class labels; column 0 equals :meth:`predict`. Equal
            probabilities are ordered by their position in ``classes_``, as
            in :func:`seqestimators.metrics.top_k` applied to
            :meth:`predict_proba`.

        Notes
        -----
        The ranking uses the log-probabilities, so classes whose
        probabilities underflow to 0 in :meth:`predict_proba` are still
        ordered. In a pipeline, call
        ``pipe[-1].predict_topk(pipe[:-1].transform(X))``.

        Examples
        --------
        >>> import numpy as np
        >>> from seqestimators import LSTMSequenceClassifier
        >>> rng = np.random.RandomState(0)
        >>> X = rng.normal(size=(60, 5, 1)).astype("float32")
        >>> y = np.array(["a", "b", "c"])[rng.randint(3, size=60)]
        >>> clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=1,
        ...                              random_state=0).fit(X, y)
        >>> clf.predict_topk(X[:4], k=2).shape
        (4, 2)
        """
        check_is_fitted(self, "net_")
        if isinstance(k, bool):
            raise TypeError(f"k must be an int >= 1, not a bool. Got {k!r}.")
        check_scalar(k, "k", Integral, min_val=1)
        n_classes = len(self.classes_)
        if k > n_classes:
            raise ValueError(
                f"k={k} is larger than the number of classes ({n_classes}) of "
                f"{type(self).__name__}; pass k <= {n_classes}."
            )
        scores = _log_softmax(self._forward(X))
        return self.classes_[top_k_indices(scores, int(k))]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class LSTMSequenceRegressor(RegressorMixin, _BaseSequenceEstimator):
    """Recurrent regressor of event sequences (LSTM or GRU).

    Targets are standardized internally (except with ``loss="poisson"``) and
    predictions returned in the original scale; 1-D and multi-output ``y``
    are supported.

    Parameters
    ----------
    loss : {"squared_error", "absolute_error", "huber", "poisson"}, \
default="squared_error"
        Training loss (the names of
        :class:`~sklearn.ensemble.HistGradientBoostingRegressor`).
        "squared_error" estimates the conditional mean, "absolute_error" the
        conditional median. "huber" is squared for residuals up to 1 and
        absolute beyond, measured on the standardized targets (``delta=1``):
        robust to outliers in ``y``. These two standardize ``y`` robustly, by
        its median and ``1.4826 * MAD`` (the standard deviation for normal
        data; outliers cannot inflate it), so Huber's ``delta`` is about one
        standard deviation of the bulk of ``y``.
        "poisson" suits counts and rates: the network outputs a log-rate,
        ``predict`` returns the rate ``exp(log_rate) >= 0``, targets are not
        standardized and must be non-negative with ``sum(y) > 0`` (per
        output) in ``fit``; the output bias starts at ``log(mean(y))``.
        A warm start or ``partial_fit`` keeps the loss of the first fit.
    hidden_size, num_layers, bidirectional, cell, embedding_dim, dropout, \
pooling, lr, optimizer, weight_decay, batch_size, max_epochs, early_stopping, \
validation_fraction, n_iter_no_change, tol, clip_grad_norm, callbacks, \
device, n_threads, random_state, verbose, warm_start
        As in :class:`LSTMSequenceClassifier`. The validation split is not
        stratified; ``valid_score`` is the R² on the validation data and
        ``valid_loss`` the training loss on it (on the standardized scale;
        for "poisson" half the mean Poisson deviance).

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardization, ``(y - y_mean_) / y_scale_``: mean and
        standard deviation of ``y`` for "squared_error", median and
        ``1.4826 * MAD`` (the standard deviation where the MAD is 0) for
        "huber" and "absolute_error", 0 and 1 for "poisson".
    net_, history_, n_iter_, best_epoch_, loss_curve_, validation_scores_, \
best_validation_score_, best_loss_, stop_reason_, batch_size_, device_, \
input_signature_, n_features_in_
        As in :class:`LSTMSequenceClassifier` (scores are R²).

    Examples
    --------
    >>> import numpy as np
    >>> from seqestimators import LSTMSequenceRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 5)).astype("float32")
    >>> y = X.sum(axis=1)
    >>> reg = LSTMSequenceRegressor(hidden_size=8, max_epochs=3, random_state=0)
    >>> reg.fit(X, y).predict(X[:2]).shape
    (2,)

    Counts with the Poisson loss predict non-negative rates:

    >>> counts = rng.poisson(np.exp(0.3 * y))
    >>> reg = LSTMSequenceRegressor(loss="poisson", hidden_size=4, max_epochs=1,
    ...                             random_state=0).fit(X, counts)
    >>> bool((reg.predict(X) >= 0).all())
    True
    """

    _parameter_constraints: dict = {
        **_BaseSequenceEstimator._parameter_constraints,
        "loss": [StrOptions(set(_REGRESSION_LOSSES))],
    }

    def __init__(
        self,
        *,
        loss="squared_error",
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        cell="lstm",
        embedding_dim="auto",
        dropout=0.1,
        pooling="last",
        lr=3e-3,
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
        super().__init__(
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            cell=cell,
            embedding_dim=embedding_dim,
            dropout=dropout,
            pooling=pooling,
            lr=lr,
            optimizer=optimizer,
            weight_decay=weight_decay,
            batch_size=batch_size,
            max_epochs=max_epochs,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            clip_grad_norm=clip_grad_norm,
            callbacks=callbacks,
            device=device,
            n_threads=n_threads,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
        )
        self.loss = loss

    @property
    def _fitted_loss(self) -> str:
        """The loss the network was (or is being) trained with. Models saved
        before ``loss`` existed were trained with the squared error."""
        return self.__dict__.get("_loss", "squared_error")

    def _encode_targets(self, y, *, first, classes=None):
        name = type(self).__name__
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{name} needs numeric targets; got y of dtype {y.dtype}."
                ) from None
        if y.ndim == 0 or y.ndim > 2:
            raise ValueError(
                f"y must have shape (n,) or (n, n_outputs); got shape {y.shape}."
            )
        if len(y) == 0:
            raise ValueError(f"{name} got an empty y; at least 1 sample is needed.")
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            raise ValueError(
                "Input y contains NaN or infinity; regression targets must be "
                "finite."
            )
        y2 = y.reshape(len(y), -1)
        if not first and self.loss != self._fitted_loss:
            raise ValueError(
                f"{name} was fitted with loss={self._fitted_loss!r}, but loss is "
                f"now {self.loss!r}; a warm start or partial_fit continues "
                "training with the loss of the first fit. Set "
                f"loss={self._fitted_loss!r}, or warm_start=False to train a new "
                "model with the new loss."
            )
        loss = self.loss if first else self._fitted_loss
        if loss == "poisson":
            self._check_poisson_targets(y2, first=first)
        if first:
            self._loss = loss
            self._y_ndim = y.ndim
            self.n_outputs_ = y2.shape[1]
            std = y2.std(axis=0)
            if loss == "poisson":
                # the log-rate output needs y on its own scale
                self.y_mean_ = np.zeros(self.n_outputs_)
                self.y_scale_ = np.ones(self.n_outputs_)
            elif loss in ("huber", "absolute_error"):
                # outliers must not set the scale (and with it Huber's delta)
                self.y_mean_ = np.median(y2, axis=0)
                mad = np.median(np.abs(y2 - self.y_mean_), axis=0)
                scale = np.where(mad > 1e-12, _MAD_TO_STD * mad, std)
                self.y_scale_ = np.where(scale > 1e-12, scale, 1.0)
            else:
                self.y_mean_ = y2.mean(axis=0)
                self.y_scale_ = np.where(std > 1e-12, std, 1.0)
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2.shape[1]} outputs, but {name} was fitted with "
                f"{self.n_outputs_}."
            )
        return ((y2 - self.y_mean_) / self.y_scale_).astype(np.float32)

    def _check_poisson_targets(self, y2, *, first: bool) -> None:
        """Poisson targets are counts or rates: no negative values, and (in
        the first fit, whose output bias starts at ``log(mean(y))``) not all
        zero. The wording follows HistGradientBoostingRegressor's."""
        name = type(self).__name__
        negative = y2 < 0
        if negative.any():
            raise ValueError(
                f"{name} with loss='poisson' requires non-negative y and "
                f"sum(y) > 0, but y has {int(negative.sum())} negative "
                f"value{'s' if negative.sum() > 1 else ''} (min "
                f"{y2.min():.6g}). Poisson targets are counts or rates; use "
                "loss='squared_error' or 'huber' for targets that can be "
                "negative."
            )
        if first:
            zero = np.flatnonzero(y2.sum(axis=0) <= 0)
            if len(zero):
                which = (
                    "every target is 0"
                    if y2.shape[1] == 1
                    else f"every target of output(s) {zero.tolist()} is 0"
                )
                raise ValueError(
                    f"{name} with loss='poisson' requires non-negative y and "
                    f"sum(y) > 0, but {which}: a rate of 0 has no finite "
                    "log-rate to start from. Fit on data with at least one "
                    "positive count (later partial_fit batches may be all zero)."
                )

    def _n_outputs(self):
        return self.n_outputs_

    @property
    def _criterion_class(self):
        return _REGRESSION_LOSSES[self._fitted_loss]

    def _criterion_kwargs(self, y_train):
        if self._fitted_loss == "huber":
            return {"delta": 1.0}
        return {}

    def _init_output(self, module, y_enc):
        if self._fitted_loss != "poisson":
            return
        # start at the constant model: the mean rate of each output
        with torch.no_grad():
            module.head.bias.copy_(torch.as_tensor(np.log(y_enc.mean(axis=0))))

    def _valid_score(self, y_true, y_pred):
        if len(y_true) < 2:
            return float("nan")
        if self._fitted_loss == "poisson":
            with np.errstate(over="ignore"):
                y_pred = np.exp(y_pred)
            if not np.isfinite(y_pred).all():
                return float("nan")
        return r2_score(y_true, y_pred)

    def _stratify_labels(self, y_enc):
        return None

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y):
        """Train one epoch on ``(X, y)``, continuing from the current weights."""
        first = not hasattr(self, "net_")
        return self._fit(X, y, incremental=True, continuing=not first)

    def predict(self, X):
        """Predicted targets in the original scale, shape (n,) or (n, n_outputs).

        With ``loss="poisson"``, the predicted rates ``exp(log_rate)``.
        """
        out = self._forward(X).astype(np.float64)
        if self._fitted_loss == "poisson":
            out = np.exp(out)
        else:
            out = out * self.y_scale_ + self.y_mean_
        return out[:, 0] if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags
