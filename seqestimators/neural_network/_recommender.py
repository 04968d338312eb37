"""Next-event recommenders: LSTMSequenceRecommender (GRU4Rec style) and
TransformerSequenceRecommender (SASRec style).

One pass over each sequence trains the prediction of the next value of the
``target`` channel at *every* position (the channel shifted by one step is
the target; the last position has none), so a fit costs ``O(events)``, not
one sample per prefix. Scores are dot products with the target's embedding
table (tied with the input embedding by default), under a full softmax over
the catalogue or a sampled softmax for very large ones. Batches are
length-bucketed and capped in events so that ``events x candidates`` stays
bounded: memory never grows with the number of sequences times the
catalogue.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, check_scalar
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import GradientNormClipping
from skorch.helper import predefined_split

from ..data._ragged import RaggedSequences, pad_rows
from ..metrics._next_item import topk_hits
from ..nn._next_event import N_RESERVED_IDS, NextEventNet
from ..preprocessing import SequenceVectorizer
from ..utils._compat import HasMethods, Interval, StrOptions, _fit_context
from ..utils._cpu import cpu_runtime
from ._base import _OPTIMIZERS, PREDICT_BATCH_SIZE, _positive_int, auto_embedding_dim
from ._batching import BucketBatchIterator, SequenceDataset, cut_batches
from ._callbacks import IdleEarlyStopping, TrainingGuard, progress_bar
from ._history import history_frame
from ._inputs import as_ragged, describe_input
from ._next_event_data import event_cap, rank_last_steps, split_windows
from ._priors import (
    CHOICE_STEPS,
    PRIOR_OFF,
    add_priors,
    choice_positions,
    pick_prior_weights,
    position_entries,
    prior_settings,
    settings_ndcg,
    transition_table,
)
from ._recommender_doc import recommender_doc
from ._recommender_net import NextEventSkorchNet
from ._recommender_state import RecommenderStateMixin
from ._validation import IntNotBool, check_ids_in_range, check_signature, python_params

__all__ = ["LSTMSequenceRecommender", "TransformerSequenceRecommender"]

#: catalogues up to this size use the full softmax under ``loss="auto"``
MAX_FULL_SOFTMAX_ITEMS = 20_000


class _BaseSequenceRecommender(RecommenderStateMixin, BaseEstimator):
    """Shared parameters, fitting and ranking of the recommenders."""

    _parameter_constraints: dict = {
        "target": [str, IntNotBool(0, None, closed="left"), None],
        "vectorizer": [HasMethods(["fit", "transform"]), None],
        "hidden_size": [_positive_int()],
        "num_layers": [_positive_int()],
        "embedding_dim": [_positive_int(), StrOptions({"auto"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "tie_weights": ["boolean"],
        "loss": [StrOptions({"auto", "full", "sampled"})],
        "n_negatives": [_positive_int()],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), HasMethods(["step", "zero_grad"])],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [_positive_int()],
        "max_epochs": [_positive_int()],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [_positive_int()],
        "tol": [Interval(Real, 0, None, closed="left")],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "k": [_positive_int()],
        "exclude_seen": ["boolean"],
        "priors": [StrOptions({"auto"}), None],
        "device": [StrOptions({"cpu", "cuda", "auto"}), str],
        "n_threads": [_positive_int(), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    #: the encoder of NextEventNet ("lstm", "gru", "transformer")
    def _encoder(self) -> str:  # pragma: no cover
        raise NotImplementedError

    def _encoder_kwargs(self) -> dict:
        return {}

    def _window(self) -> int | None:
        """Longest training window (None: whole sequences)."""
        return None

    def _floats_per_event(self, module_kwargs: dict) -> int:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------ input
    def _fit_input(self, X):
        """``(Xr, vectorizer or None, classes, target index)`` of a fit."""
        name = type(self).__name__
        if isinstance(X, pd.DataFrame):
            vec = self._fit_vectorizer(X)
            Xr = vec.transform(X)
            target = vec.categorical_.index(self.target)
            return Xr, vec, np.asarray(vec.vocabularies_[self.target]), target
        if self.vectorizer is not None:
            raise TypeError(
                f"{name}(vectorizer=...) is fitted on a sequence frame (a "
                f"DataFrame of list columns); got {type(X).__name__}. Pass the "
                "frame, or vectorizer=None for already vectorized input."
            )
        Xr, _ = as_ragged(X, caller=name)
        target = self._target_channel(Xr)
        n_ids = int(Xr.cardinalities[target])
        return Xr, None, np.arange(N_RESERVED_IDS, max(n_ids, N_RESERVED_IDS)), target

    def _fit_vectorizer(self, X: pd.DataFrame):
        name = type(self).__name__
        if not isinstance(self.target, str) or self.target not in X.columns:
            raise ValueError(
                f"{name}(target={self.target!r}) must name the list column whose "
                f"next value is predicted; the frame has the columns "
                f"{[str(c) for c in X.columns]}."
            )
        given = self.vectorizer is not None
        vec = clone(self.vectorizer) if given else SequenceVectorizer()
        vec.fit(X)
        if self.target not in vec.categorical_:
            if given:
                raise ValueError(
                    f"The vectorizer of {name} does not encode target="
                    f"{self.target!r} as a categorical column (its categorical "
                    f"columns: {vec.categorical_}). List it in the vectorizer's "
                    "`categorical`."
                )
            # an inferred column that looked like an identifier was left out
            vec = SequenceVectorizer(categorical=[*vec.categorical_, self.target])
            vec.fit(X)
        return vec

    def _target_channel(self, Xr: RaggedSequences) -> int:
        name = type(self).__name__
        names = list(Xr.categorical_names)
        target = self.target
        if target is None and len(names) == 1:
            return 0
        if isinstance(target, str) and target in names:
            return names.index(target)
        if isinstance(target, Integral) and not isinstance(target, str) and (
            int(target) < len(names)
        ):
            return int(target)
        raise ValueError(
            f"{name}(target={target!r}) must name one of the categorical "
            f"channels of X {names} (or give its position); it is the channel "
            "whose next value is predicted. target=None works only with a single "
            "categorical channel."
        )

    def _predict_input(self, X) -> RaggedSequences:
        check_is_fitted(self, "net_")
        name = type(self).__name__
        if isinstance(X, pd.DataFrame):
            if self.vectorizer_ is None:
                raise TypeError(
                    f"{name} was fitted on vectorized sequences; pass X in the "
                    "same form (a DataFrame needs a fit on a sequence frame)."
                )
            return self.vectorizer_.transform(X)
        Xr, kind = as_ragged(X, caller=name)
        check_signature(Xr, kind, self.input_signature_, name)
        return Xr

    # ------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn to predict the next ``target`` value at every position.

        Parameters
        ----------
        X : pandas.DataFrame or RaggedSequences
            A sequence frame (one row per entity, list columns; vectorized by
            ``vectorizer``), or vectorized sequences (RaggedSequences or
            their padded dict), whose ids are then the labels.
        y : None
            Ignored (the targets are the sequences' own next values); present
            so that ``GridSearchCV(...).fit(X, y)`` works.

        Returns
        -------
        self
        """
        Xr, vec, classes, target = self._fit_input(X)
        name = type(self).__name__
        check_ids_in_range(Xr, Xr.cardinalities, name)
        if len(classes) < 1:
            raise ValueError(
                f"{name} found no {self.target!r} value to predict; the target "
                "channel holds only padding and unknown ids."
            )
        seed = self._draw_seed()
        device = self._resolve_device()
        module_kwargs = self._module_kwargs(Xr, target)
        with cpu_runtime(self.n_threads, keep_freed_memory=True):
            net, reason, train, valid = self._train(Xr, module_kwargs, seed, device)
            priors = self._fit_priors(net, Xr, train, valid, target, device)
        self.prior_weights_, self._transitions = priors
        self.vectorizer_ = vec
        self.classes_ = classes
        self.target_index_ = target
        self.input_signature_ = describe_input(Xr, "ragged")
        self.device_ = device
        self._seed = seed
        self.net_ = net
        self.stop_reason_ = reason
        self._record_history()
        return self

    def _draw_seed(self) -> int:
        if self.random_state is None:
            return int(np.random.SeedSequence().generate_state(1)[0] % (2**31 - 1))
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _resolve_device(self) -> str:
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if str(self.device).startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} was requested but CUDA is not available "
                "on this machine. Use device='cpu' or device='auto'."
            )
        return str(self.device)

    def _module_kwargs(self, Xr: RaggedSequences, target: int) -> dict:
        p = python_params(self)
        cards = [int(c) for c in Xr.cardinalities]
        if p["embedding_dim"] == "auto":
            emb = [auto_embedding_dim(c) for c in cards]
        else:
            emb = [p["embedding_dim"]] * len(cards)
        return {
            "cardinalities": cards,
            "embedding_dims": emb,
            "n_numeric": Xr.n_numeric,
            "numeric_dim": max(8, Xr.n_numeric) if Xr.n_numeric else 0,
            "target": target,
            "encoder": self._encoder(),
            "hidden_size": p["hidden_size"],
            "num_layers": p["num_layers"],
            "dropout": float(p["dropout"]),
            "tie_weights": bool(p["tie_weights"]),
            **self._encoder_kwargs(),
        }

    def _n_negatives(self, n_items: int) -> int | None:
        if self.loss == "sampled" or (
            self.loss == "auto" and n_items > MAX_FULL_SOFTMAX_ITEMS
        ):
            return int(self.n_negatives)
        return None

    def _split(self, Xr: RaggedSequences, seed: int):
        n = len(Xr)
        n_valid = math.ceil(float(self.validation_fraction) * n)
        if n - n_valid < 1:
            raise ValueError(
                f"early_stopping holds out validation_fraction="
                f"{self.validation_fraction} of the sequences, which leaves no "
                f"training sequence with {n} sequence{'s' if n != 1 else ''}. Use "
                "more sequences or early_stopping=False."
            )
        train, valid = train_test_split(np.arange(n), test_size=n_valid,
                                        random_state=seed)
        return Xr[np.sort(train)], Xr[np.sort(valid)]

    def _build_net(self, module_kwargs: dict, seed: int, device: str, valid_ds):
        p = python_params(self)
        n_items = module_kwargs["cardinalities"][module_kwargs["target"]]
        n_negatives = self._n_negatives(n_items)
        n_scored = n_items if n_negatives is None else n_negatives + 1
        floats = self._floats_per_event(module_kwargs)
        max_events = event_cap(n_scored, floats, p["batch_size"])
        full_validation = n_negatives is not None and n_items <= MAX_FULL_SOFTMAX_ITEMS
        valid_events = event_cap(n_items if full_validation else n_scored, floats,
                                 p["batch_size"])
        optimizer = p["optimizer"]
        optimizer = _OPTIMIZERS.get(optimizer, optimizer) if isinstance(
            optimizer, str) else optimizer
        callbacks = [
            ("training_guard", TrainingGuard()),
            ("early_stopping", IdleEarlyStopping(
                monitor="valid_loss", patience=p["n_iter_no_change"],
                threshold=float(p["tol"]), threshold_mode="abs",
                lower_is_better=True, load_best=True,
            )),
        ]
        if p["clip_grad_norm"] is not None:
            callbacks.append(("clip", GradientNormClipping(p["clip_grad_norm"])))
        if p["verbose"] >= 2:
            callbacks.append(("progress_bar", progress_bar()))
        extra = {"optimizer__momentum": 0.9} if optimizer is torch.optim.SGD else {}
        return NextEventSkorchNet(
            module=NextEventNet, seed=seed, n_negatives=n_negatives,
            full_validation=full_validation,
            **{f"module__{k}": v for k, v in module_kwargs.items()},
            criterion=torch.nn.Identity, optimizer=optimizer, lr=float(p["lr"]),
            optimizer__weight_decay=float(p["weight_decay"]),
            max_epochs=int(p["max_epochs"]), batch_size=int(p["batch_size"]),
            iterator_train=BucketBatchIterator, iterator_train__shuffle=True,
            iterator_train__random_state=np.random.default_rng(seed),
            iterator_train__max_events=max_events,
            iterator_valid=BucketBatchIterator,
            iterator_valid__max_events=valid_events,
            train_split=None if valid_ds is None else predefined_split(valid_ds),
            callbacks=callbacks, verbose=int(p["verbose"]), device=device, **extra,
        )

    def _train(self, Xr, module_kwargs, seed, device):
        valid_ds = None
        train = Xr
        if self.early_stopping:
            train, valid = self._split(Xr, seed)
            valid_ds = SequenceDataset(split_windows(valid, self._window()))
        train_ds = SequenceDataset(split_windows(train, self._window()))
        net = self._build_net(module_kwargs, seed, device, valid_ds)
        net.initialize()
        net.reseed(seed + 1)
        if net.n_negatives is not None:
            net.sampling_probs = _target_frequencies(
                train, module_kwargs["target"],
                module_kwargs["cardinalities"][module_kwargs["target"]])
        net.partial_fit(train_ds, None, epochs=int(self.max_epochs))
        net.set_params(train_split=None)  # keep no validation data
        reason = self._end_training(net, valid_ds is not None)
        return net, reason, train, (valid if valid_ds is not None else None)

    def _end_training(self, net, used_valid: bool) -> str:
        """Why training ended; restores the weights a non-finite loss or an
        interrupt calls for (see ``TrainingGuard``)."""
        callbacks = dict(net.callbacks_)
        guard = callbacks["training_guard"]
        del net.history[guard.epochs_done_:]
        outcome = guard.outcome(int(self.max_epochs), callbacks["early_stopping"],
                                used_valid)
        if outcome.reason in ("non_finite_loss", "interrupted"):
            if outcome.weights is None or outcome.epoch == 0:
                guard.release()
                if outcome.reason == "interrupted":
                    raise KeyboardInterrupt
                raise ValueError(
                    f"{type(self).__name__} stopped training: {outcome.detail}, "
                    f"before any epoch finished with finite weights. Lower lr "
                    f"(lr={self.lr}) or scale the numeric inputs."
                )
            net.module_.load_state_dict(outcome.weights)
        guard.release()
        net.module_.eval()
        return outcome.reason

    # ------------------------------------------------------------ priors
    def _fit_priors(self, net, Xr, train, valid, target, device):
        """``(prior_weights_, transition table)``: the count priors' weights
        chosen on the validation sequences (on the training sequences, with
        each predicted transition left out of the counts, without early
        stopping), then the transitions counted over every sequence."""
        empty = np.zeros((0, 3), dtype=np.int64)
        if self.priors is None:
            return dict(PRIOR_OFF), empty
        held_out = valid if valid is not None else train
        table = transition_table(train, target)
        window = self._window()
        steps = CHOICE_STEPS if window is None else min(CHOICE_STEPS, window - 1)
        n_items = net.module_.item_table.shape[0]
        positions = choice_positions(held_out, max(steps, 1), n_items)
        ids = held_out.categorical[:, target]
        positions = positions[ids[positions + 1] >= N_RESERVED_IDS]
        if not len(positions):
            return dict(PRIOR_OFF), empty
        p, j, counts, truth = position_entries(held_out, target, positions, table,
                                               leave_one_out=valid is None)
        settings = prior_settings()
        ndcg = np.zeros((len(settings), len(positions)))
        row_of = np.full(len(positions), -1)
        for which, scores in self._network_score_blocks(net, held_out, positions,
                                                         device):
            row_of[:] = -1
            row_of[which] = np.arange(len(which))
            e = np.flatnonzero(row_of[p] >= 0)
            ndcg[:, which] = settings_ndcg(scores, row_of[p[e]], j[e], counts[e],
                                           truth[which], int(self.k),
                                           bool(self.exclude_seen), settings)
        weights, _ = pick_prior_weights(settings, ndcg)
        if weights["transition"] > 0:
            return weights, transition_table(Xr, target)
        return weights, empty

    def _network_score_blocks(self, net, X, positions, device):
        """Yield ``(which, scores)``: the network's scores ``(len(which),
        n_ids)`` of the next id after ``positions[which]`` (global event
        indices of ``X``), in blocks of at most ``MAX_SCORE_FLOATS // 4``
        scores."""
        module = net.module_
        n_items = module.item_table.shape[0]
        seq = np.searchsorted(X.offsets, positions, side="right") - 1
        step = positions - X.offsets[seq]
        window = self._window()
        Xw = X if window is None else X.truncate(window)
        step = step - (X.lengths[seq] - Xw.lengths[seq])
        rows_all = np.unique(seq)
        rows_all = rows_all[np.argsort(Xw.lengths[rows_all], kind="stable")]
        rows_cap = max(1, event_cap(n_items, 0, 1) // (4 * CHOICE_STEPS))
        local = np.full(len(X), -1)
        where = torch.device(device)
        with torch.inference_mode():
            for rows, t in self._padded_batches(net, Xw, rows_all, rows_cap, where):
                local[:] = -1
                local[rows] = np.arange(len(rows))
                which = np.flatnonzero(local[seq] >= 0)
                q = module(*t)[torch.from_numpy(local[seq[which]]).to(where),
                               torch.from_numpy(step[which]).to(where)]
                yield which, module.scores(q).float().cpu().numpy()

    def _padded_batches(self, net, Xw, rows, rows_cap: int, device):
        """Yield ``(batch_rows, [categorical, numeric, lengths])``: the rows
        of ``Xw`` in the given order, cut into padded batches of at most
        ``rows_cap`` rows (and ``PREDICT_BATCH_SIZE``) and of at most the
        events the network's memory per event allows, as tensors on
        ``device``; the one batching of every scoring pass."""
        max_events = event_cap(self._floats_per_event(net.get_params_for("module")),
                               0, 1)
        chunks = np.zeros(len(rows), dtype=np.int64)
        starts, stops = cut_batches(Xw.lengths[rows], chunks,
                                    min(PREDICT_BATCH_SIZE, rows_cap), max_events)
        for start, stop in zip(starts, stops):
            batch = rows[start:stop]
            (cat, num), lens = pad_rows(Xw.offsets, [Xw.categorical, Xw.numeric], batch)
            yield batch, [torch.from_numpy(a).to(device) for a in (cat, num, lens)]

    def _record_history(self):
        history = self.net_.history
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        if self.early_stopping and len(history) and "valid_loss" in history[-1]:
            losses = [float(v) for v in history[:, "valid_loss"]]
            self.validation_loss_curve_ = losses
            self.best_epoch_ = int(np.argmin(losses)) + 1
            self.best_loss_ = float(min(losses))
        else:
            self.validation_loss_curve_ = None
            self.best_epoch_ = len(history)
            self.best_loss_ = float(min(self.loss_curve_))
        self.history_ = history_frame(history, self.best_epoch_, score=False)

    # --------------------------------------------------------- prediction
    def _topk_ids(self, Xr: RaggedSequences, k: int, exclude_seen: bool):
        """Ids of the ``k`` best next values after each sequence."""
        module = self.net_.module_
        target = self.target_index_
        n_items = int(self.input_signature_["cardinalities"][target])
        window = self._window()
        rows_cap = event_cap(n_items, 0, 1)  # rows x n_items scores per batch
        order = np.argsort(Xr.lengths, kind="stable")
        out = np.empty((len(Xr), k), dtype=np.int64)
        Xw = Xr if window is None else Xr.truncate(window)
        device = torch.device(self.device_)
        with torch.inference_mode(), cpu_runtime(self.n_threads, all_threads=False):
            for rows, t in self._padded_batches(self.net_, Xw, order, rows_cap, device):
                q = module(*t)
                last = q[torch.arange(len(rows)), (t[2] - 1).clamp(min=0)]
                scores = module.scores(last).float().cpu().numpy()
                add_priors(scores, Xr, rows, target, self._transitions,
                           self.prior_weights_)
                out[rows] = rank_last_steps(scores, Xr, rows, target, k, exclude_seen)
        return out

    def predict_topk(self, X, k=10, exclude_seen=True):
        """The ``k`` most likely next ``target`` values after each sequence.

        Parameters
        ----------
        X : pandas.DataFrame or RaggedSequences
            Histories, in the form ``fit`` received.
        k : int, default=10
            Values per sequence, at most ``len(classes_)``.
        exclude_seen : bool, default=True
            Leave out the values a sequence already holds (set False where
            users repeat items, e.g. re-purchases). Padding and the unknown
            id are never recommended.

        Returns
        -------
        labels : ndarray of shape (n_sequences, k)
            Original labels (``classes_``), best first, in input order. When
            fewer than ``k`` unseen values remain, the last columns repeat
            seen ones.
        """
        check_is_fitted(self, "net_")
        if isinstance(k, bool):
            raise TypeError(f"k must be an int >= 1, not a bool. Got {k!r}.")
        check_scalar(k, "k", Integral, min_val=1)
        if k > len(self.classes_):
            raise ValueError(
                f"k={k} is larger than the number of items ({len(self.classes_)}) "
                f"of {type(self).__name__}; pass k <= {len(self.classes_)}."
            )
        Xr = self._predict_input(X)
        ids = self._topk_ids(Xr, int(k), bool(exclude_seen))
        return self.classes_[ids - N_RESERVED_IDS]

    def predict(self, X):
        """The most likely next ``target`` value after each sequence
        (``predict_topk(X, k=1)[:, 0]``)."""
        return self.predict_topk(X, k=1)[:, 0]

    def score(self, X, y):
        """Hit rate at ``k`` (the estimator's parameter): the share of
        sequences whose true next value ``y`` is among
        ``predict_topk(X, k, exclude_seen=self.exclude_seen)``.

        Parameters
        ----------
        X : pandas.DataFrame or RaggedSequences
            Histories.
        y : array-like of shape (n_sequences,)
            The true next values (original labels), e.g. from
            :func:`~seqestimators.leave_last_out`.

        Returns
        -------
        score : float
        """
        k = min(int(self.k), len(self.classes_))
        top = self.predict_topk(X, k=k, exclude_seen=self.exclude_seen)
        return float(np.mean(topk_hits(top, y) > 0))

    # ----------------------------------------------------- item embeddings
    @property
    def item_embeddings_(self) -> np.ndarray:
        """``(len(classes_), dim)`` item vectors the scores are computed with,
        rows aligned with ``classes_``."""
        check_is_fitted(self, "net_")
        table = self.net_.module_.item_table.detach().float().cpu().numpy()
        return table[N_RESERVED_IDS:]

    def similar_items(self, item, n=10) -> np.ndarray:
        """The ``n`` items whose embeddings have the highest cosine
        similarity with ``item``'s (``item`` itself left out), most similar
        first.

        Parameters
        ----------
        item : label
            A value of ``classes_``.
        n : int, default=10
            Number of items returned, at most ``len(classes_) - 1``.

        Returns
        -------
        items : ndarray of shape (n,)
        """
        emb = self.item_embeddings_
        where = np.flatnonzero(self.classes_ == item)
        if not len(where):
            raise ValueError(
                f"{item!r} is not an item of {type(self).__name__}; classes_ holds "
                f"the {len(self.classes_)} items seen in fit."
            )
        check_scalar(n, "n", Integral, min_val=1, max_val=len(self.classes_) - 1)
        unit = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        sim = unit @ unit[where[0]]
        sim[where[0]] = -np.inf
        best = np.argsort(-sim, kind="stable")[: int(n)]
        return self.classes_[best]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        return tags


def _target_frequencies(X: RaggedSequences, target: int, n_items: int):
    """``(n_items,)`` float32 probabilities of the training targets (every
    event but the first of a sequence), add-one smoothed; reserved ids 0."""
    first = np.zeros(X.n_events, dtype=bool)
    first[X.offsets[:-1][X.lengths > 0]] = True
    counts = np.bincount(X.categorical[~first, target], minlength=n_items)
    counts = counts[:n_items].astype(np.float64) + 1.0
    counts[:N_RESERVED_IDS] = 0.0
    return torch.from_numpy((counts / counts.sum()).astype(np.float32))


def _shared_init(self, values: dict) -> None:
    for key, value in values.items():
        setattr(self, key, value)


@recommender_doc("lstm")
class LSTMSequenceRecommender(_BaseSequenceRecommender):
    """Recurrent next-event recommender (GRU4Rec style: LSTM or GRU).

    {doc}
    """

    _parameter_constraints: dict = {
        **_BaseSequenceRecommender._parameter_constraints,
        "cell": [StrOptions({"lstm", "gru"})],
    }

    def __init__(
        self, *, target=None, vectorizer=None, cell="gru", hidden_size=128,
        num_layers=1, embedding_dim="auto", dropout=0.1, tie_weights=True,
        loss="auto", n_negatives=256, lr=3e-3, optimizer="adam", weight_decay=0.0,
        batch_size=64, max_epochs=10, early_stopping=True, validation_fraction=0.1,
        n_iter_no_change=3, tol=1e-4, clip_grad_norm=1.0, k=10, exclude_seen=True,
        priors="auto", device="cpu",
        n_threads=None, random_state=None, verbose=0,
    ):
        _shared_init(self, {k: v for k, v in locals().items() if k != "self"})

    def _encoder(self) -> str:
        return self.cell

    def _floats_per_event(self, module_kwargs: dict) -> int:
        return 4 * int(module_kwargs["hidden_size"]) * int(module_kwargs["num_layers"])


@recommender_doc("transformer")
class TransformerSequenceRecommender(_BaseSequenceRecommender):
    """Self-attention next-event recommender (SASRec style).

    {doc}
    """

    _parameter_constraints: dict = {
        **_BaseSequenceRecommender._parameter_constraints,
        "num_heads": [_positive_int()],
        "max_positions": [_positive_int()],
    }

    def __init__(
        self, *, target=None, vectorizer=None, hidden_size=64, num_layers=2,
        num_heads=2, max_positions=200, embedding_dim="auto", dropout=0.1,
        tie_weights=True, loss="auto", n_negatives=256, lr=1e-3, optimizer="adam",
        weight_decay=0.0, batch_size=64, max_epochs=10, early_stopping=True,
        validation_fraction=0.1, n_iter_no_change=3, tol=1e-4, clip_grad_norm=1.0,
        k=10, exclude_seen=True, priors="auto", device="cpu", n_threads=None,
        random_state=None, verbose=0,
    ):
        _shared_init(self, {k: v for k, v in locals().items() if k != "self"})

    def _encoder(self) -> str:
        return "transformer"

    def _encoder_kwargs(self) -> dict:
        return {"num_heads": int(self.num_heads),
                "max_positions": int(self.max_positions)}

    def _window(self) -> int:
        return int(self.max_positions)

    def _fit_input(self, X):
        if int(self.hidden_size) % int(self.num_heads):
            raise ValueError(
                f"hidden_size={self.hidden_size} must be a multiple of "
                f"num_heads={self.num_heads}."
            )
        return super()._fit_input(X)

    def _floats_per_event(self, module_kwargs: dict) -> int:
        hidden = int(module_kwargs["hidden_size"])
        heads = int(module_kwargs["num_heads"])
        window = int(module_kwargs["max_positions"])
        return int(module_kwargs["num_layers"]) * (16 * hidden + heads * window)
