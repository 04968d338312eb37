"""The shared base of LSTMSequenceClassifier and LSTMSequenceRegressor.

Plain scikit-learn estimators with flat keyword parameters. ``fit`` builds a
skorch net (``net_``, a :class:`~._seeding.SeededNet`) around
:class:`~seqestimators.nn.SequenceNet` and trains it with length-bucketed
batches; skorch brings the training loop, callbacks and history. Prediction
sorts sequences by length, pads each batch to its own longest sequence and
restores the input order.

``fit`` first validates everything into local values and assigns fitted
attributes only once the input was accepted: a fit rejected on its input
leaves a fitted model as it was. A non-finite loss or a Ctrl-C ends training
with the weights of the best (or last finished) epoch restored and a warning,
never with a silently broken model (``_callbacks.TrainingGuard``); running out
of memory says which setting to lower (``_memory``; docs/reliability.md).
"""

from __future__ import annotations

import copy
import itertools
import math
import warnings
from numbers import Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch.helper import predefined_split

from ..data._ragged import RaggedSequences, pad_rows
from ..nn import POOLINGS, network_class, parse_pooling
from ..nn._linear_start import better_by_one_se
from ..utils._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
)
from ..utils._cpu import cpu_runtime
from ..utils._doc_link import DocLinkMixin
from . import _distributed as data_parallel
from ._batching import (
    BucketBatchIterator,
    SequenceDataset,
    cut_batches,
    length_sorted_order,
)
from ._callbacks import (
    IdleEarlyStopping,
    MemberGradientClipping,
    TrainingGuard,
    ValidationScore,
    progress_bar,
)
from ._inputs import as_ragged, describe_input
from ._linear_start import start_from_linear_model
from ._memory import (
    fit_memory_message,
    is_out_of_memory,
    predict_memory_message,
    with_message,
)
from ._seeding import SeededNet, effective_weight, per_sample_loss
from ._state import SavedStateMixin
from ._validation import (
    ARCHITECTURE,
    CallbackList,
    IntNotBool,
    check_architecture,
    check_ids_in_range,
    check_signature,
    python_params,
)

__all__ = [
    "MAX_BATCH_FLOATS",
    "PREDICT_BATCH_SIZE",
    "PREDICT_EVENTS_FACTOR",
    "auto_batch_size",
    "auto_embedding_dim",
    "auto_ensemble_size",
]

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

#: fitted private attributes (besides those ending in "_")
_PRIVATE_FITTED = ("_seed", "_label_encoder", "_y_ndim", "_loss")


def auto_embedding_dim(cardinality: int) -> int:
    """Embedding size for a vocabulary: ``1.6 * n ** 0.56`` clipped to [4, 64]."""
    return int(min(64, max(4, round(1.6 * cardinality**0.56))))


#: n-grams of ``wide_ngrams="auto"`` (when every categorical channel has at
#: most ``AUTO_NGRAM_VOCABULARY`` ids, counting the padding and unknown ids):
#: runs of up to :func:`auto_ngrams` ids, at most 8 (the hashing work grows
#: with the longest run)
AUTO_NGRAMS = 8
AUTO_NGRAM_VOCABULARY = 32
#: ... and the median training sequence holds at least 32 events: short
#: funnels and prefixes (5-20 events) gained nothing from them and lost a
#: little on a next-event task
AUTO_NGRAM_LENGTH = 32
#: how the wide path enters an id's or n-gram's count c in a sequence:
#: log1p(c), the sublinear counts of the log-count baselines (on the
#: real-data suite's DNA task the linear model alone went from 0.670 to
#: 0.708 accuracy against the baseline's 0.710; docs/design.md)
WIDE_COUNTS = "log1p"


def auto_ngrams(codes: np.ndarray, n_events: int) -> int:
    """Longest run of ids the wide path weighs (``wide_ngrams="auto"``) on
    token strings whose ids (over every event of the training sequences,
    ``(n_events, n_channels)``) are ``codes``: the largest k with
    ``alphabet ** k <= n_events``, at most ``AUTO_NGRAMS``. ``alphabet`` is
    the exponential of the entropy of the ids' frequencies (of the channel
    where it is largest), so rare ids barely count: 4 for DNA. Longer
    k-mers than that would mostly be seen once, as identifiers of single
    sequences. On the real-data suite's DNA task (180,000 training bases)
    this gives 8, against 6 before: the linear model alone went from 0.708
    to 0.726 accuracy, better in all 9 fits (docs/defaults.md).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> dna = rng.integers(2, 6, size=(180_000, 1))  # 4 ids, uniform
    >>> auto_ngrams(dna, len(dna)), auto_ngrams(dna[:5_000], 5_000)
    (8, 6)
    """
    alphabet = 1.0
    for channel in np.asarray(codes).reshape(len(codes), -1).T:
        p = np.bincount(channel)
        p = p[p > 0] / len(channel)
        alphabet = max(alphabet, float(np.exp(-(p * np.log(p)).sum())))
    if alphabet <= 1.0 + 1e-9:
        return AUTO_NGRAMS
    k = int(np.floor(np.log(max(int(n_events), 1)) / np.log(alphabet) + 1e-9))
    return int(np.clip(k, 1, AUTO_NGRAMS))


def auto_ensemble_size(n_train: int) -> int:
    """Networks of ``ensemble_size="auto"``: 5 below 1,000 training
    sequences, 3 below 5,000, then 1: on small data the seed-to-seed
    variance is as large as the differences between models, and averaging a
    few networks costs little there (docs/defaults.md)."""
    if n_train < 1000:
        return 5
    return 3 if n_train < 5000 else 1


def auto_batch_size(n_train: int) -> int:
    """``n_train // 16`` clipped to [16, 256]: enough steps per epoch on small
    data, large batches (fast on CPU and GPU) on large data."""
    return int(min(256, max(16, n_train // 16)))


def _positive_int():
    return IntNotBool(1, None, closed="left")


#: every pooling spec given as a string: one view or several joined by "+"
POOLING_NAMES = {
    "+".join(names)
    for r in range(1, len(POOLINGS) + 1)
    for names in itertools.permutations(POOLINGS, r)
}


class _BaseSequenceEstimator(
    DocLinkMixin, SavedStateMixin, TransformerMixin, BaseEstimator
):
    """Shared parameters, validation, training and prediction."""

    _parameter_constraints: dict = {
        "hidden_size": [_positive_int()],
        "num_layers": [_positive_int()],
        "bidirectional": ["boolean"],
        "cell": [StrOptions({"lstm", "gru"})],
        "embedding_dim": [_positive_int(), StrOptions({"auto"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "pooling": [StrOptions(POOLING_NAMES), tuple],
        "bag_pooling": [StrOptions(POOLING_NAMES), tuple, None],
        "wide": ["boolean"],
        "wide_alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "wide_ngrams": [_positive_int(), StrOptions({"auto"})],
        "ensemble_size": [_positive_int(), StrOptions({"auto"})],
        "lr": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), HasMethods(["step", "zero_grad"])],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [_positive_int(), StrOptions({"auto"})],
        "max_epochs": [_positive_int()],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [_positive_int()],
        "tol": [Interval(Real, 0, None, closed="left")],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "callbacks": [CallbackList(), None],
        "device": [StrOptions({"cpu", "cuda", "auto"}), str],
        "n_threads": [_positive_int(), None],
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
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.cell = cell
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.pooling = pooling
        self.bag_pooling = bag_pooling
        self.wide = wide
        self.wide_alpha = wide_alpha
        self.wide_ngrams = wide_ngrams
        self.ensemble_size = ensemble_size
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
        """``(encoded y, fitted attributes to set)``; sets nothing itself."""
        raise NotImplementedError

    def _n_outputs(self) -> int:  # pragma: no cover
        raise NotImplementedError

    def _default_lr(self) -> float:
        """The learning rate of ``lr="auto"``."""
        return 3e-3

    def _encoder_kwargs(self, p: dict) -> dict:
        """The encoder's keyword arguments of SequenceNet, from the
        parameters ``p`` (``python_params``)."""
        return {
            "hidden_size": p["hidden_size"],
            "num_layers": p["num_layers"],
            "bidirectional": bool(p["bidirectional"]),
            "cell": p["cell"],
        }

    #: loss of the skorch net (its kwargs come from ``_criterion_kwargs``)
    _criterion_class: type = torch.nn.Module

    def _criterion_kwargs(self, y_train) -> dict:  # pragma: no cover
        raise NotImplementedError

    def _valid_score(
        self, y_true, y_pred, sample_weight=None
    ) -> float:  # pragma: no cover
        raise NotImplementedError

    def _init_output(self, module, y_enc) -> None:
        """Adjust the freshly initialized ``module`` to the training targets
        (first fit only); the default keeps torch's initialization."""

    def _stratify_labels(self, y_enc):
        return y_enc

    def _check_weighted_targets(self, y_enc, weight) -> None:
        """Raise if the rows of positive weight cannot be fitted (``fit``)."""

    # ----------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train on sequences ``X`` and targets ``y``.

        Parameters
        ----------
        X : RaggedSequences, dict of padded arrays, or array of shape (n, L, d)
            or (n, L)
            Sequences; see the module documentation for the accepted forms.
        y : array-like of shape (n,) (or (n, n_outputs) for the regressor)
            Targets.
        sample_weight : array-like of shape (n,), default=None
            Non-negative weights of the sequences; None: all weigh 1. The
            training loss of a batch is the weighted mean of its sequences'
            losses, ``sum(w * l) / sum(w)`` (the weights multiplied by the
            classifier's ``class_weight``), so only relative weights matter
            and weights that are all equal train exactly as no weights. The
            early-stopping validation split keeps its rows' weights: its loss
            is the weighted mean over the split and its score weighted. The
            linear start (``wide=True``) minimizes the weighted mean loss.

        Returns
        -------
        self
        """
        continuing = self.warm_start and hasattr(self, "net_")
        return self._fit(
            X, y, incremental=False, continuing=continuing,
            sample_weight=sample_weight,
        )

    def _fit(self, X, y, *, incremental, continuing, classes=None,
             sample_weight=None):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target "
                "y is None."
            )
        Xr, y_enc, fitted = self._prepare_fit(X, y, continuing, classes)
        weight = check_weights(sample_weight, len(Xr), type(self).__name__)
        if weight is not None and not incremental:
            self._check_weighted_targets(y_enc, weight)
        # the input was accepted: only now does the estimator change
        for attr, value in fitted.items():
            if value is _DELETE:
                self.__dict__.pop(attr, None)
            else:
                setattr(self, attr, value)
        with cpu_runtime(self.n_threads, keep_freed_memory=True):
            self._train(
                Xr, y_enc, incremental=incremental, continuing=continuing,
                sample_weight=weight,
            )
        return self

    def _prepare_fit(self, X, y, continuing, classes):
        """Validate X and y into ``(Xr, y_enc, fitted attributes)`` without
        changing the estimator."""
        name = type(self).__name__
        if continuing:
            Xr, kind = as_ragged(X, caller=name, estimator=self, reset=False)
            check_signature(Xr, kind, self.input_signature_, name)
            check_architecture(
                self._architecture(self.net_.get_params_for("module")),
                self._architecture(self._module_kwargs(self.input_signature_)),
                name,
            )
            fitted = {}
        else:
            # scikit-learn's validate_data records the features of 2-D
            # arrays on the estimator it gets: give it a copy
            scratch = copy.copy(self)
            Xr, kind = as_ragged(X, caller=name, estimator=scratch, reset=True)
            fitted = {
                attr: scratch.__dict__.get(attr, _DELETE) if kind == "array2d"
                else _DELETE
                for attr in ("n_features_in_", "feature_names_in_")
            }
        y_enc, targets = self._encode_targets(y, first=not continuing, classes=classes)
        fitted.update(targets)
        if len(y_enc) != len(Xr):
            raise ValueError(
                f"X and y have different numbers of samples: X has {len(Xr)} "
                f"sequences, y has {len(y_enc)} values."
            )
        if not continuing:
            check_ids_in_range(Xr, Xr.cardinalities, name)
            fitted.update(
                input_signature_=describe_input(Xr, kind),
                device_=self._resolve_device(),
                _seed=self._draw_seed(),
                n_iter_=0,
            )
        return Xr, y_enc, fitted

    @staticmethod
    def _architecture(module_kwargs: dict) -> dict:
        renamed = {"embedding_dim": "embedding_dims", "bag_pooling": "bag",
                   "ensemble_size": "n_members"}
        keys = [renamed.get(k, k) for k in ARCHITECTURE]
        return {k: module_kwargs[k] for k in keys if k in module_kwargs}

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

    def _split(self, n: int, stratify):
        """Train and validation row indices (stratified by ``stratify`` if
        given and possible)."""
        fraction = float(self.validation_fraction)
        rows = np.arange(n)
        n_valid = math.ceil(fraction * n)
        if n - n_valid < 1 or n_valid < 1:
            raise ValueError(
                f"early_stopping holds out validation_fraction={fraction} of the "
                f"data, which leaves no training data with {n} "
                f"sample{'s' if n != 1 else ''}. Use more samples or "
                "early_stopping=False."
            )
        if stratify is not None:
            counts = np.bincount(stratify)
            counts = counts[counts > 0]
            if counts.min() < 2 or n_valid < len(counts) or n - n_valid < len(counts):
                stratify = None
        return train_test_split(
            rows, test_size=n_valid, stratify=stratify, random_state=self._seed
        )

    def _module_kwargs(
        self, sig: dict | None = None, n_train: int | None = None,
        train_X: RaggedSequences | None = None,
    ) -> dict:
        """Keyword arguments of :class:`SequenceNet` for the fitted input
        (Python scalars, also for parameters given as numpy scalars).

        ``n_train`` (training sequences) sets the wide path's L2 penalty:
        ``wide_alpha / n_train`` on the mean loss is the penalty of a
        LogisticRegression with ``C = 1 / wide_alpha`` on the summed loss."""
        sig = self.input_signature_ if sig is None else sig
        p = python_params(self)
        pooling = parse_pooling(p["pooling"])
        bag = None if p["bag_pooling"] is None else parse_pooling(p["bag_pooling"])
        if p["embedding_dim"] == "auto":
            emb = [auto_embedding_dim(c) for c in sig["cardinalities"]]
        else:
            emb = [p["embedding_dim"]] * sig["n_categorical"]
        n_numeric = sig["n_numeric"]
        kwargs = {
            "cardinalities": [int(c) for c in sig["cardinalities"]],
            "embedding_dims": emb,
            "n_numeric": n_numeric,
            "numeric_dim": max(8, n_numeric) if n_numeric else 0,
            **self._encoder_kwargs(p),
            "dropout": float(p["dropout"]),
            "pooling": "+".join(pooling),
            "n_outputs": self._n_outputs(),
            "bag": None if bag is None else "+".join(bag),
            "wide": bool(p["wide"]),
            "wide_numeric": True,
            "wide_counts": WIDE_COUNTS,
            "wide_l2": self._wide_l2(p["wide_alpha"], n_train),
            **self._wide_ngrams(p["wide_ngrams"], sig["cardinalities"], train_X),
        }
        members = self._ensemble_size(n_train)
        if members > 1:
            kwargs.update(n_members=members, combine=self._combine)
        return kwargs

    def _wide_ngrams(self, wide_ngrams, cardinalities, train_X) -> dict:
        """SequenceNet's n-gram settings: ``wide_ngrams`` over every channel,
        or for "auto" runs of up to :func:`auto_ngrams` ids of the training
        sequences ``train_X`` when every categorical channel has at most
        ``AUTO_NGRAM_VOCABULARY`` ids and the median training sequence
        holds ``AUTO_NGRAM_LENGTH`` events or more (long token strings such
        as DNA; single ids otherwise). Without ``train_X`` (a warm start)
        the fitted network's setting."""
        if wide_ngrams != "auto":
            return {"wide_ngrams": int(wide_ngrams)}
        if train_X is None:
            return {"wide_ngrams": int(
                self.net_.get_params_for("module").get("wide_ngrams", 1)
            )}
        tokens = len(cardinalities) > 0 and all(
            int(c) <= AUTO_NGRAM_VOCABULARY for c in cardinalities
        )
        long = float(np.median(train_X.lengths)) >= AUTO_NGRAM_LENGTH
        if not (tokens and long):
            return {"wide_ngrams": 1}
        codes = train_X.categorical
        return {"wide_ngrams": auto_ngrams(codes, len(codes))}

    @staticmethod
    def _wide_l2(wide_alpha, n_train) -> float:
        """The wide path's L2 on the mean loss for ``wide_alpha`` (for
        "auto", ``1 / n_train`` until the linear start chooses one)."""
        alpha = 1.0 if wide_alpha == "auto" else float(wide_alpha)
        return alpha / max(1, n_train or 1)

    #: how an ensemble's members are combined (see ``nn.combine_outputs``)
    _combine = "mean"

    def _ensemble_size(self, n_train: int | None) -> int:
        """Networks fitted side by side: ``ensemble_size``, or for "auto"
        the size for ``n_train`` training sequences (fitted value on refits)."""
        if self.ensemble_size != "auto":
            return int(self.ensemble_size)
        if n_train is None:  # a warm start keeps the fitted network's size
            return int(self.net_.get_params_for("module").get("n_members", 1))
        return auto_ensemble_size(n_train)

    def _training_settings(self) -> dict:
        """The parameters a skorch net is built with besides the module: a
        warm start whose settings differ rebuilds the net (``_continue_net``)."""
        p = python_params(self)
        optimizer = p["optimizer"]
        return {
            "optimizer": _OPTIMIZERS.get(optimizer, optimizer)
            if isinstance(optimizer, str)
            else optimizer,
            "lr": self._default_lr() if p["lr"] == "auto" else float(p["lr"]),
            "weight_decay": float(p["weight_decay"]),
            "batch_size": int(self.batch_size_),
            "n_iter_no_change": p["n_iter_no_change"],
            "tol": float(p["tol"]),
            "clip_grad_norm": p["clip_grad_norm"],
            "verbose": int(p["verbose"]),
            "callbacks": self.callbacks,
        }

    def _callbacks(self, settings: dict) -> list:
        # Early stopping is always installed; it idles in epochs without
        # validation data, so a warm start may switch early stopping on. The
        # guard comes before it: its copy of the weights at the end of an
        # epoch must not be skipped when early stopping ends the loop.
        callbacks = [
            ("valid_score", ValidationScore(self._valid_score)),
            ("training_guard", TrainingGuard()),
            (
                "early_stopping",
                IdleEarlyStopping(
                    monitor="valid_loss",
                    patience=settings["n_iter_no_change"],
                    threshold=settings["tol"],
                    threshold_mode="abs",
                    lower_is_better=True,
                    load_best=True,
                ),
            ),
        ]
        if settings["clip_grad_norm"] is not None:
            callbacks.append(
                ("clip_grad_norm", MemberGradientClipping(settings["clip_grad_norm"]))
            )
        if settings["verbose"] >= 2:
            callbacks.append(("progress_bar", progress_bar()))
        for i, cb in enumerate(settings["callbacks"] or []):
            if isinstance(cb, tuple):
                callbacks.append((cb[0], copy.deepcopy(cb[1])))
            else:
                callbacks.append((f"user_{i}_{type(cb).__name__}", copy.deepcopy(cb)))
        return callbacks

    def _build_net(
        self, module_kwargs: dict, criterion_kwargs: dict, valid_ds=None,
        batch_rng=None,
    ) -> SeededNet:
        """The skorch net (not initialized) around ``SequenceNet(**module_kwargs)``
        (a :class:`~seqestimators.nn.SequenceEnsemble` of them for an ensemble).

        Needs only fitted attributes (``batch_size_``, ``device_``, ``_seed``),
        not training data, so :func:`seqestimators.load` rebuilds nets with it.
        ``batch_rng`` continues the batch order of an earlier net.
        """
        settings = self._training_settings()
        optimizer_kwargs = {"optimizer__weight_decay": settings["weight_decay"]}
        if settings["optimizer"] is torch.optim.SGD:
            optimizer_kwargs["optimizer__momentum"] = 0.9
        if batch_rng is None:
            # skorch makes a new iterator at each (partial_)fit call: one
            # generator shared by all of them keeps partial_fit calls and
            # warm starts from replaying the first epochs' batch order
            batch_rng = np.random.default_rng(self._seed)
        max_events = self._max_batch_events(module_kwargs)
        net = SeededNet(
            module=network_class(module_kwargs),
            seed=self._seed,
            **{f"module__{k}": v for k, v in module_kwargs.items()},
            criterion=self._criterion_class,
            optimizer=settings["optimizer"],
            lr=settings["lr"],
            max_epochs=int(self.max_epochs),
            batch_size=settings["batch_size"],
            iterator_train=BucketBatchIterator,
            iterator_train__shuffle=True,
            iterator_train__random_state=batch_rng,
            iterator_train__max_events=max_events,
            iterator_valid=BucketBatchIterator,
            iterator_valid__max_events=max_events,
            train_split=None if valid_ds is None else predefined_split(valid_ds),
            callbacks=self._callbacks(settings),
            verbose=settings["verbose"],
            device=self.device_,
            **{f"criterion__{k}": v for k, v in criterion_kwargs.items()},
            **optimizer_kwargs,
        )
        net.settings_ = settings
        return net

    def _max_batch_events(self, module_kwargs: dict | None = None) -> int:
        """Cap on rows x padded length of a training batch.

        The recurrent layer saves about ``4 * hidden_size`` floats per event
        and direction for the backward pass; batches of long sequences are cut
        to fewer rows so that this stays near ``MAX_BATCH_FLOATS`` (32 MB).
        """
        if module_kwargs is None:
            module_kwargs = self.net_.get_params_for("module")
        hidden = int(module_kwargs["hidden_size"])
        per_event = 4 * hidden * (2 if module_kwargs["bidirectional"] else 1)
        per_event *= int(module_kwargs.get("n_members", 1))
        return max(int(self.batch_size_), MAX_BATCH_FLOATS // per_event)

    def _continue_net(self, valid_ds) -> None:
        """Prepare ``net_`` for a warm start or ``partial_fit``: with changed
        training parameters, a new net around the trained weights (the
        optimizer state is kept when optimizer and weight decay are)."""
        old = self.net_
        if self.batch_size != "auto":
            self.batch_size_ = int(self.batch_size)
        settings = self._training_settings()
        if getattr(old, "settings_", None) == settings:
            old.set_params(
                train_split=None if valid_ds is None else predefined_split(valid_ds)
            )
            return
        net = self._build_net(
            old.get_params_for("module"),
            old.get_params_for("criterion"),
            valid_ds,
            batch_rng=old.iterator_train__random_state,
        )
        net.initialize()
        net.module_.load_state_dict(old.module_.state_dict())
        before = getattr(old, "settings_", {})
        if all(
            before.get(k) == settings[k] for k in ("optimizer", "weight_decay")
        ):
            net.optimizer_.load_state_dict(old.optimizer_.state_dict())
            for group in net.optimizer_.param_groups:
                group["lr"] = settings["lr"]
        net.history = old.history
        self.net_ = net

    def _start_from_linear_model(self, train_ds, valid_ds) -> dict | None:
        """Fit the wide path first and freeze it (``wide=True``); with
        ``wide_alpha="auto"`` its penalty is chosen on ``valid_ds``.

        Returns the linear model's validation loss and the network's state
        at the start (the linear model alone: the head's weights are zero),
        for :meth:`_keep_linear_model`; None without a validation loss."""
        self.wide_alpha_ = None
        if not self.wide:
            return None
        auto = self.wide_alpha == "auto"
        result = start_from_linear_model(
            self.net_, train_ds, valid_ds if auto else None,
            self._max_batch_events(), choose=auto, seed=self._seed,
        )  # weighted by the datasets' sample weights
        if not result:
            return None
        n = len(train_ds)
        self.wide_alpha_ = {g: l2 * n for g, l2 in result["l2"].items()}
        if result["valid_loss"] is None:
            return None
        # the linear model alone: the heads as they start (weights zero)
        state = {k: v.detach().clone()
                 for k, v in self.net_.module_.state_dict().items()
                 if k.split(".")[-2:-1] == ["head"]}
        return {"valid_loss": result["valid_loss"], "state": state}

    def _keep_linear_model(self, start: dict | None, valid_ds, all_ds,
                           parallel=None) -> None:
        """Go back to the linear model alone unless the trained network
        beats it on the validation split by more than one standard error of
        the paired per-sequence loss differences (the one-standard-error
        rule: on a few dozen validation sequences a smaller mean loss alone
        is mostly noise). ``best_epoch_`` is then 0. Either way the linear
        part is then refitted on ``all_ds`` (training and validation
        sequences; :meth:`_refit_linear_model`)."""
        if start is None:
            return
        heads = {k: v.detach().clone()
                 for k, v in self.net_.module_.state_dict().items()
                 if k in start["state"]}
        network = self._validation_losses(valid_ds)
        self.net_.module_.load_state_dict(start["state"], strict=False)
        linear = self._validation_losses(valid_ds)
        if data_parallel.agree(better_by_one_se(network, linear)):
            self._refit_linear_model(all_ds, parallel, heads=heads,
                                     start=start["state"])
            return
        from ._history import history_frame

        self.best_epoch_ = 0
        self.best_loss_ = float(start["valid_loss"])
        raw = self._forward(valid_ds.X).astype(np.float64)
        self.best_validation_score_ = float(self._valid_score(
            valid_ds.y, raw, sample_weight=valid_ds.sample_weight
        ))
        self.history_ = history_frame(self.net_.history, 0)
        self._refit_linear_model(all_ds, parallel)

    def _refit_linear_model(self, all_ds, parallel, heads: dict | None = None,
                            start: dict | None = None) -> None:
        """The linear part refitted on every sequence, the validation split
        included, with the penalties chosen (the same on the summed loss);
        ``best_loss_`` and ``best_validation_score_`` stay those of the
        model fitted without it, which chose to keep it.

        With the trained network's ``heads`` (and the ``start`` they were
        trained from) the network is kept: its heads' weights come back and
        each bias moves by the refit's change of the linear model's
        intercept, so the network adds to the refitted linear model what it
        learned to add to the one it was trained on. On the real-data
        suite's DNA task (1,000 training sequences) the refit on the tenth
        held out for validation is worth +0.017 accuracy to the linear
        model; a kept network without it was below the refitted linear
        model on every fold (docs/design.md)."""
        n = len(all_ds)
        l2 = {g: alpha / n for g, alpha in self.wide_alpha_.items()}
        start_from_linear_model(self.net_, all_ds, None, self._max_batch_events(),
                                choose=False, l2=l2)
        if heads is not None:
            refit = self.net_.module_.state_dict()
            trained = {k: v + refit[k] - start[k] if k.endswith("bias") else v
                       for k, v in heads.items()}
            self.net_.module_.load_state_dict(trained, strict=False)
        if parallel is not None:
            parallel.broadcast_tensors(self.net_.module_.state_dict().values())

    def _validation_losses(self, valid_ds) -> tuple[np.ndarray, np.ndarray]:
        """Per-sequence losses of the current network on ``valid_ds`` and
        the weights the loss averages them with (sample x class weights)."""
        criterion = self.net_.criterion_
        out = torch.from_numpy(self._forward(valid_ds.X))
        y = torch.as_tensor(valid_ds.y)
        w = (torch.ones(len(y)) if valid_ds.sample_weight is None
             else torch.as_tensor(valid_ds.sample_weight, dtype=torch.float32))
        with torch.no_grad():
            losses = per_sample_loss(criterion, out, y)  # c_i * l_i
        class_weight = effective_weight(criterion, y, torch.ones(len(y)))
        losses = losses / class_weight.clamp_min(1e-12)
        weight = effective_weight(criterion, y, w)
        return losses.double().numpy(), weight.double().numpy()

    def _train(self, Xr, y_enc, *, incremental: bool, continuing: bool,
               sample_weight=None):
        use_valid = self.early_stopping and not incremental
        w = sample_weight
        parallel = data_parallel.begin(self, Xr, y_enc, w, continuing)
        if use_valid:
            train_rows, valid_rows = self._split(len(Xr), self._stratify_labels(y_enc))
            train_ds = SequenceDataset(
                Xr[train_rows], y_enc[train_rows],
                None if w is None else w[train_rows],
            )
            valid_ds = SequenceDataset(
                Xr[valid_rows], y_enc[valid_rows],
                None if w is None else w[valid_rows],
            )
        else:
            train_ds = SequenceDataset(Xr, y_enc, w)
            valid_ds = None
        if not continuing:
            self.batch_size_ = (
                auto_batch_size(len(train_ds))
                if self.batch_size == "auto"
                else int(self.batch_size)
            )
            self.net_ = self._build_net(
                self._module_kwargs(
                    n_train=len(train_ds), train_X=train_ds.X,
                ),
                self._criterion_kwargs(train_ds.y),
                valid_ds,
            )
            self.net_.initialize()
            self._init_output(self.net_.module_, y_enc)
            linear = self._start_from_linear_model(train_ds, valid_ds)
            if parallel is not None:
                linear = parallel.sync_linear_start(self, linear)
        else:
            self._continue_net(valid_ds)
            linear = None
        # dropout of these epochs: from the seed and the epochs done so far
        seed = self._seed + self.n_iter_ + 1
        self.net_.reseed(seed)
        epochs = 1 if incremental else int(self.max_epochs)
        n_before = len(self.net_.history)
        try:
            # skorch catches KeyboardInterrupt (Ctrl-C, early stopping, the
            # training guard), runs on_train_end and returns normally
            with data_parallel.training(parallel, self.net_, seed):
                self.net_.partial_fit(train_ds, None, epochs=epochs)
        except BaseException as exc:
            out_of_memory = isinstance(exc, Exception) and is_out_of_memory(exc)
            message = fit_memory_message(
                type(self).__name__, self.device_, self.batch_size_
            )
            self._abandon_fit(continuing, n_before)
            if out_of_memory:
                raise with_message(exc, message) from exc
            raise
        # keep no reference to the validation data: a saved model must not
        # carry (a tenth of) its training set
        self.net_.set_params(train_split=None)
        self._end_training(epochs, n_before, use_valid, continuing)
        if use_valid:
            self._keep_linear_model(linear, valid_ds, SequenceDataset(Xr, y_enc, w),
                                    parallel)

    def _end_training(self, epochs: int, n_before: int, use_valid: bool, continuing):
        """Find out why training stopped and leave a usable model, or raise."""
        name = type(self).__name__
        callbacks = dict(self.net_.callbacks_)
        guard = callbacks["training_guard"]
        # an epoch cut short (interrupt, non-finite loss) leaves no trace
        del self.net_.history[n_before + guard.epochs_done_ :]
        outcome = guard.outcome(epochs, callbacks["early_stopping"], use_valid)
        if outcome.reason in ("non_finite_loss", "interrupted"):
            if outcome.weights is None or outcome.epoch == 0:
                guard.release()
                self._abandon_fit(continuing, n_before)
                if outcome.reason == "interrupted":
                    raise KeyboardInterrupt
                raise ValueError(
                    f"{name} stopped training: {outcome.detail}, before any "
                    "epoch finished with finite weights. The learning rate "
                    f"(lr={self.lr}) is probably too high, or the inputs hold "
                    "extreme values: lower lr, keep clip_grad_norm set, and scale "
                    "numeric inputs (SequenceVectorizer standardizes them)."
                )
            self.net_.module_.load_state_dict(outcome.weights)
            self._warn_restored(outcome)
        guard.release()
        self.stop_reason_ = outcome.reason
        self.net_.module_.eval()
        self._record_history(use_valid)

    def _warn_restored(self, outcome) -> None:
        name = type(self).__name__
        restored = f"The weights of epoch {outcome.epoch} ({outcome.which}) were "
        if outcome.reason == "non_finite_loss":
            warnings.warn(
                f"{name} stopped training: {outcome.detail}. {restored}restored. "
                f"Lower the learning rate (lr={self.lr}) or scale the inputs to "
                "train further.",
                ConvergenceWarning,
                stacklevel=7,
            )
        else:
            warnings.warn(
                f"{name}: training was interrupted (KeyboardInterrupt) after "
                f"{len(self.net_.history)} finished epoch(s). {restored}restored; "
                "the model is fitted and usable.",
                UserWarning,
                stacklevel=7,
            )

    def _abandon_fit(self, continuing: bool, n_before: int):
        """Clean up after a fit that raised. A first fit leaves the estimator
        unfitted. A continued one (warm start, ``partial_fit``) keeps the
        weights of its last finished epoch (or those it started from)."""
        net = self.net_
        net.set_params(train_split=None)
        if not continuing:
            for attr in [a for a in vars(self) if a.endswith("_")]:
                delattr(self, attr)
            for attr in _PRIVATE_FITTED:
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

    def _record_history(self, used_valid: bool):
        from ._history import history_frame

        history = self.net_.history
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
        self.history_ = history_frame(history, self.best_epoch_)

    # -------------------------------------------------------- prediction
    def _forward(self, X, method: str = "forward") -> np.ndarray:
        """Raw network outputs, shape (n, n_outputs), in input order; with
        ``method="embed"`` the pooled representations, (n, n_features_out)."""
        Xr = self._checked_input(X)
        width = self._n_outputs() if method == "forward" else self._n_features_out
        out = np.empty((len(Xr), width), dtype=np.float32)
        # forward passes rarely meet denormals: the calling thread suffices
        with torch.inference_mode(), cpu_runtime(self.n_threads, all_threads=False):
            for rows in self._prediction_batches(Xr):
                out[rows] = self._forward_batch(Xr, rows, method)
        return out

    def _checked_input(self, X) -> RaggedSequences:
        """``X`` as RaggedSequences, checked against the fitted input."""
        if "net_" not in self.__dict__:  # check_is_fitted, without its tag lookup
            check_is_fitted(self, "net_")
        name = type(self).__name__
        Xr, kind = as_ragged(X, caller=name, estimator=self, reset=False)
        check_signature(Xr, kind, self.input_signature_, name)
        return Xr

    def _prediction_batches(self, Xr: RaggedSequences, factor: int = 1) -> list:
        """Row indices of the prediction batches: length-sorted, each at most
        ``PREDICT_BATCH_SIZE // factor`` rows (a caller that runs ``factor``
        copies of each row, such as integrated gradients, keeps the size)."""
        if len(Xr) <= 1:
            return [np.zeros(1, dtype=np.int64)]
        order = length_sorted_order(Xr.lengths)
        starts, stops = cut_batches(
            Xr.lengths[order], np.zeros(len(order), dtype=np.int64),
            max(1, PREDICT_BATCH_SIZE // factor),
            max(1, PREDICT_EVENTS_FACTOR * self._max_batch_events() // factor),
        )
        return [order[start:stop] for start, stop in zip(starts, stops)]

    def _batch_tensors(self, Xr: RaggedSequences, rows: np.ndarray) -> list:
        """``[categorical, numeric, lengths]`` of ``rows``, right-padded, on
        the fitted device."""
        (cat, num), lengths = pad_rows(Xr.offsets, [Xr.categorical, Xr.numeric], rows)
        device = torch.device(self.device_)
        tensors = [torch.from_numpy(a) for a in (cat, num, lengths)]
        if device.type != "cpu":
            tensors = [t.to(device) for t in tensors]
        return tensors

    @property
    def _n_features_out(self) -> int:
        """Width of :meth:`transform`'s output (the head's input, summed
        over the members of an ensemble)."""
        module = self.net_.module_
        return sum(m.head.in_features for m in getattr(module, "members", [module]))

    def transform(self, X) -> np.ndarray:
        """The pooled representation (embedding) of each sequence.

        What the network's head reads: the pooled encoder output (every view
        of ``pooling``, concatenated), followed by the pooled input vectors
        of ``bag_pooling``. The wide path (one weight per id, added to the
        outputs) is a linear model, not a representation, and is left out.
        With ``ensemble_size > 1`` the members' representations are
        concatenated, member by member. Rows come in input order whatever
        their lengths (docs/inspection.md).

        Parameters
        ----------
        X : sequences
            As for ``predict``. Not modified.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out), float32
            Column names: :meth:`get_feature_names_out`.
        """
        return self._forward(X, method="embed")

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the :meth:`transform` columns: the lower-cased class name
        followed by 0 .. n_features_out - 1 (``lstmsequenceclassifier0``, ...).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored (the columns do not derive from single input features);
            accepted for the scikit-learn API.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "net_")
        prefix = type(self).__name__.lower()
        return np.asarray(
            [f"{prefix}{i}" for i in range(self._n_features_out)], dtype=object
        )

    def _forward_batch(self, Xr: RaggedSequences, rows: np.ndarray,
                       method: str = "forward") -> np.ndarray:
        tensors = self._batch_tensors(Xr, rows)
        cat = tensors[0]
        try:
            module = self.net_.module_
            y = (module if method == "forward" else getattr(module, method))(*tensors)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            message = predict_memory_message(
                type(self).__name__, self.device_, len(rows), cat.shape[1]
            )
            raise with_message(exc, message) from exc
        return y.float().cpu().numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        # transform returns float32 whatever the input's dtype
        tags.transformer_tags.preserves_dtype = []
        return tags


def check_weights(sample_weight, n: int, name: str) -> np.ndarray | None:
    """Validate ``sample_weight`` for ``n`` sequences: None when it is None
    or all its weights are equal and positive (they train exactly as no
    weights), else a float64 array. Negative or non-finite weights, a wrong
    length, or weights that are all zero raise a ValueError (``name``, the
    estimator's, is for messages of the checks to come)."""
    if sample_weight is None:
        return None
    weight = _check_sample_weight(
        sample_weight, np.empty((n, 0)), dtype=np.float64, ensure_non_negative=True
    )
    if np.all(weight == weight[0]):
        return None
    return weight


class _Delete:
    """Marker of a fitted attribute that a fit removes."""

    def __repr__(self):
        return "<delete>"


_DELETE = _Delete()
