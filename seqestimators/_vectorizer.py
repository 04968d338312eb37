"""SequenceVectorizer: a sequence frame in, model-ready ragged arrays out."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._compat import Interval, StrOptions, _fit_context
from ._ragged import RaggedSequences
from ._sequences import (
    ListColumn,
    check_sequence_frame,
    common_offsets,
    read_list_column,
    row_label,
    timestamps_to_seconds,
)

__all__ = ["SequenceVectorizer"]

PAD_ID = 0
UNKNOWN_ID = 1
_GAP_SUFFIX = "__log_gap"


def _element_kind(col: ListColumn) -> str:
    """'categorical', 'numeric' or 'time' from a list column's element type."""
    t = col.values.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "time"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    if pa.types.is_null(t):
        return "categorical"
    if (
        pa.types.is_integer(t)
        or pa.types.is_boolean(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    ):
        return "categorical"
    return "unsupported"


def _mean_std(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation of a float64 ``(n, d)`` block.

    Columns whose plain statistics overflow float64 (values near 1e308) are
    computed on the values divided by their largest magnitude and scaled
    back, so every finite column gets a finite mean and standard deviation.
    """
    if not block.shape[0]:
        return np.zeros(block.shape[1]), np.ones(block.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        mean = block.mean(axis=0, dtype=np.float64)
        std = block.std(axis=0, dtype=np.float64)
    bad = ~(np.isfinite(mean) & np.isfinite(std))
    if bad.any():
        peak = np.abs(block[:, bad]).max(axis=0)
        unit = block[:, bad] / np.where(peak > 0, peak, 1.0)
        mean[bad] = unit.mean(axis=0) * peak
        std[bad] = unit.std(axis=0) * peak
    return mean, std


def _is_constant(mean: np.ndarray, std: np.ndarray, n: int) -> np.ndarray:
    """Columns whose standard deviation is zero up to rounding.

    The mean of ``n`` equal values carries a rounding error of about
    ``n * eps * |mean|``, so a constant column of large values gets a tiny
    nonzero ``std`` (scikit-learn's StandardScaler has the same test); as a
    scale it would blow rounding noise up to large values.
    """
    eps = np.finfo(np.float64).eps
    rounding = np.sqrt(n * eps) * std + n * eps * np.abs(mean)
    return (std <= 1e-12) | (std <= rounding)


class SequenceVectorizer(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Turn a sequence frame into ragged model input.

    Learns a vocabulary per categorical column and a scaling per numeric
    column in ``fit``; inside a :class:`~sklearn.pipeline.Pipeline` it is thus
    refitted on each cross-validation fold, and nothing about the test fold
    leaks into training. ``transform`` returns a
    :class:`~seqestimators.RaggedSequences`: flat event arrays plus offsets,
    whose memory grows with the number of events. Padding happens per batch in
    the estimators; :meth:`RaggedSequences.to_padded` gives padded arrays.

    Parameters
    ----------
    categorical : list of str, default=None
        List columns whose values are categories (event type, item, category).
        None infers them: lists of strings, booleans or integers.
    numeric : list of str, default=None
        List columns whose values are numbers (price, quantity). None infers
        them: lists of floats. Integer columns are treated as categorical
        unless listed here.
    time : str, "auto" or None, default="auto"
        List column of timestamps (datetimes, or numbers in seconds) that must
        be non-decreasing within a row. It adds the numeric channel
        ``<time>__log_gap``: ``log1p`` of the seconds since the previous
        event (0 for the first event), standardized. "auto" uses the only
        datetime list column if there is exactly one; None adds no time
        feature.
    max_len : int, default=None
        Keep only the most recent ``max_len`` events of each sequence. Time
        gaps are computed before truncation.
    min_frequency : int or float, default=1
        Categories seen fewer times than this in ``fit`` (a count, or a
        fraction of the events when a float in (0, 1)) are left out of the
        vocabulary and encoded as unknown.
    max_categories : int, default=None
        Keep at most this many of the most frequent categories per column
        (ties broken by value).
    handle_unknown : {"ignore", "error"}, default="ignore"
        "ignore" encodes categories unseen in ``fit`` as id 1; "error" raises
        for any category outside the vocabulary (unseen in ``fit``, or left
        out by ``min_frequency``/``max_categories``).

    Attributes
    ----------
    categorical_ : list of str
        The categorical columns used.
    numeric_ : list of str
        The numeric columns used.
    time_ : str or None
        The time column used.
    vocabularies_ : dict of str to ndarray
        Per categorical column, the known categories; the category at position
        ``i`` is encoded as id ``i + 2`` (0 is padding, 1 unknown).
    cardinalities_ : list of int
        Number of ids per categorical channel (``len(vocabulary) + 2``).
    mean_, scale_ : ndarray of shape (n_numeric_channels,)
        Standardization learned for the numeric channels (numeric columns,
        then time features).
    feature_names_in_ : ndarray of str
        Columns of the frame seen in ``fit``.
    n_features_in_ : int
        Number of columns of the frame seen in ``fit``.

    See Also
    --------
    to_sequences : Build a sequence frame from a long event log.
    RaggedSequences : The output container.

    Notes
    -----
    An entity with an empty list (no events) becomes a sequence of length 0.
    The estimators accept such sequences and predict them from an empty
    history, so all empty sequences get the same prediction.

    Examples
    --------
    >>> import pandas as pd
    >>> from seqestimators import SequenceVectorizer, to_sequences
    >>> events = pd.DataFrame({"user_id": [1, 1, 2],
    ...                        "event": ["view", "buy", "view"],
    ...                        "price": [1.0, 2.0, 3.0]})
    >>> X = SequenceVectorizer().fit_transform(to_sequences(events, order_by=None))
    >>> X.to_padded()["categorical"].shape
    (2, 2, 1)
    >>> X.lengths.tolist()
    [2, 1]
    """

    _parameter_constraints: dict = {
        "categorical": [list, tuple, None],
        "numeric": [list, tuple, None],
        "time": [str, None],
        "max_len": [Interval(Integral, 1, None, closed="left"), None],
        "min_frequency": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
        ],
        "max_categories": [Interval(Integral, 1, None, closed="left"), None],
        "handle_unknown": [StrOptions({"ignore", "error"})],
    }

    def __init__(
        self,
        *,
        categorical=None,
        numeric=None,
        time="auto",
        max_len=None,
        min_frequency=1,
        max_categories=None,
        handle_unknown="ignore",
    ):
        self.categorical = categorical
        self.numeric = numeric
        self.time = time
        self.max_len = max_len
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.handle_unknown = handle_unknown

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn vocabularies and numeric scaling from a sequence frame.

        Parameters
        ----------
        X : pandas.DataFrame
            Sequence frame: one row per entity, list columns in time order.
        y : None
            Ignored.

        Returns
        -------
        self : SequenceVectorizer
        """
        check_sequence_frame(X, caller=type(self).__name__)
        self._resolve_columns(X)
        cols, offsets = self._read(X)
        keep = self._keep_index(offsets)
        self.vocabularies_ = {}
        n_events = int(offsets[-1]) if keep is None else len(keep)
        for name in self.categorical_:
            values = cols[name].values
            if keep is not None:
                values = values.take(pa.array(keep))
            self.vocabularies_[name] = self._learn_vocabulary(values, n_events)
        self.cardinalities_ = [len(v) + 2 for v in self.vocabularies_.values()]
        numeric = self._numeric_block(cols, offsets, keep, X.index, scaled=False)
        mean, std = _mean_std(numeric)
        self.mean_ = mean
        self.scale_ = np.where(_is_constant(mean, std, len(numeric)), 1.0, std)
        return self

    def _resolve_columns(self, X: pd.DataFrame) -> None:
        name = type(self).__name__
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        given = list(self.categorical or []) + list(self.numeric or [])
        for c in given + ([self.time] if self.time not in (None, "auto") else []):
            if c not in X.columns:
                raise ValueError(
                    f"Column {c!r} passed to {name} is missing from the sequence "
                    f"frame. Available columns: {list(X.columns)}."
                )
        overlap = set(self.categorical or []) & set(self.numeric or [])
        if overlap:
            raise ValueError(
                f"Columns {sorted(overlap)} are listed as both categorical and "
                "numeric; list each column once."
            )
        kinds = {}
        needs_inference = (
            self.categorical is None or self.numeric is None or self.time == "auto"
        )
        if needs_inference:
            for c in X.columns:
                col = read_list_column(X, c, caller=name)
                kinds[c] = _element_kind(col)
        if self.time == "auto":
            explicit = set(self.categorical or []) | set(self.numeric or [])
            times = [c for c, k in kinds.items() if k == "time" and c not in explicit]
            if len(times) > 1:
                raise ValueError(
                    f"{name}(time='auto') found several timestamp list columns "
                    f"{times}; pass time=<column> to choose one (or time=None)."
                )
            self.time_ = times[0] if times else None
        else:
            self.time_ = self.time
        taken = {self.time_}
        if self.categorical is None:
            self.categorical_ = [
                c
                for c, k in kinds.items()
                if k == "categorical"
                and c not in taken
                and c not in (self.numeric or [])
            ]
        else:
            self.categorical_ = list(self.categorical)
        if self.numeric is None:
            self.numeric_ = [
                c
                for c, k in kinds.items()
                if k == "numeric" and c not in taken and c not in self.categorical_
            ]
        else:
            self.numeric_ = list(self.numeric)
        if self.time_ in self.categorical_ or self.time_ in self.numeric_:
            raise ValueError(
                f"Column {self.time_!r} is the time column and cannot also be "
                "categorical or numeric."
            )
        if not (self.categorical_ or self.numeric_ or self.time_):
            unsupported = [c for c, k in kinds.items() if k == "unsupported"]
            raise ValueError(
                f"{name} found no usable list column (categorical, numeric or time)"
                + (
                    f"; unsupported element types in {unsupported}"
                    if unsupported
                    else ""
                )
                + ". Pass categorical=[...] and/or numeric=[...]."
            )

    def _learn_vocabulary(self, values: pa.Array, n_events: int) -> np.ndarray:
        if len(values) == 0 or pa.types.is_null(values.type):
            return np.asarray([], dtype=object)
        counts = pc.value_counts(values)
        cats = counts.field("values").to_numpy(zero_copy_only=False)
        freq = np.asarray(counts.field("counts"), dtype=np.int64)
        threshold = self.min_frequency
        if isinstance(threshold, Real) and not isinstance(threshold, Integral):
            threshold = threshold * n_events
        keep = freq >= threshold
        cats, freq = cats[keep], freq[keep]
        # frequency descending, ties by value for determinism
        try:
            by_value = np.argsort(cats, kind="stable")
        except TypeError:
            by_value = np.arange(len(cats))
        cats, freq = cats[by_value], freq[by_value]
        order = np.argsort(-freq, kind="stable")
        if self.max_categories is not None:
            order = order[: self.max_categories]
        return cats[order]

    # ------------------------------------------------------------ transform
    def transform(self, X) -> RaggedSequences:
        """Encode a sequence frame.

        Parameters
        ----------
        X : pandas.DataFrame
            Sequence frame with the columns seen in ``fit``. Not modified.

        Returns
        -------
        Xt : RaggedSequences
            Ragged categorical ids and scaled numeric values, indexed like
            ``X``.
        """
        check_is_fitted(self)
        check_sequence_frame(X, caller=type(self).__name__)
        cols, offsets = self._read(X)
        keep = self._keep_index(offsets)
        n_events = int(offsets[-1]) if keep is None else len(keep)
        categorical = np.empty((n_events, len(self.categorical_)), dtype=np.int64)
        for j, name in enumerate(self.categorical_):
            values = cols[name].values
            if keep is not None:
                values = values.take(pa.array(keep))
            categorical[:, j] = self._encode(name, values, offsets, X.index)
        numeric = self._numeric_block(cols, offsets, keep, X.index, scaled=True)
        if keep is not None:
            lengths = np.minimum(np.diff(offsets), self.max_len)
            offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
        return RaggedSequences(
            offsets,
            categorical,
            numeric,
            categorical_names=self.categorical_,
            numeric_names=self._numeric_channel_names(),
            cardinalities=self.cardinalities_,
            index=X.index,
        )

    def _read(self, X: pd.DataFrame):
        name = type(self).__name__
        wanted = list(self.categorical_) + list(self.numeric_)
        if self.time_ is not None:
            wanted.append(self.time_)
        cols = {c: read_list_column(X, c, caller=name) for c in wanted}
        offsets = common_offsets(list(cols.values()), X.index, caller=name)
        for c in self.numeric_:
            t = cols[c].values.type
            if not (
                pa.types.is_integer(t)
                or pa.types.is_floating(t)
                or pa.types.is_boolean(t)
                or pa.types.is_decimal(t)
                or pa.types.is_null(t)
            ):
                raise TypeError(
                    f"Numeric column {c!r} holds lists of {t}, not numbers. List it "
                    "as categorical, or convert it to numbers."
                )
        return cols, offsets

    def _keep_index(self, offsets: np.ndarray) -> np.ndarray | None:
        """Flat index of the events kept by ``max_len`` (None: all)."""
        if self.max_len is None:
            return None
        lengths = np.diff(offsets)
        keep = np.minimum(lengths, self.max_len)
        if np.array_equal(keep, lengths):
            return None
        new_offsets = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(keep, out=new_offsets[1:])
        starts = offsets[1:] - keep
        return np.arange(int(new_offsets[-1]), dtype=np.int64) + np.repeat(
            starts - new_offsets[:-1], keep
        )

    def _encode(self, name, values: pa.Array, offsets, index) -> np.ndarray:
        vocab = self.vocabularies_[name]
        if len(values) == 0:
            return np.zeros(0, dtype=np.int64)
        if len(vocab) == 0:
            pos = pa.nulls(len(values), pa.int32())
        else:
            try:
                pos = pc.index_in(values, value_set=pa.array(vocab))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                raise TypeError(
                    f"Column {name!r} holds lists of {values.type}, which cannot be "
                    f"compared with the categories seen in fit ({vocab[:3]!r}...). "
                    "Pass the same value types to fit and transform."
                ) from None
        unknown = pc.is_null(pos)
        if self.handle_unknown == "error" and pc.any(unknown).as_py():
            bad = pc.unique(values.filter(unknown))[:5].to_pylist()
            raise ValueError(
                f"Column {name!r} has categories unseen in fit (or left out of "
                f"the vocabulary by min_frequency/max_categories), e.g. {bad}. "
                "Use handle_unknown='ignore' to encode them as the unknown id 1."
            )
        ids = np.asarray(pc.fill_null(pos, -1), dtype=np.int64)
        return ids + 2 if not len(vocab) == 0 else np.full(len(ids), UNKNOWN_ID)

    def _numeric_channel_names(self) -> list[str]:
        names = list(self.numeric_)
        if self.time_ is not None:
            names.append(f"{self.time_}{_GAP_SUFFIX}")
        return names

    def _numeric_block(self, cols, offsets, keep, index, *, scaled: bool) -> np.ndarray:
        """Numeric channels then time features, one column at a time into a
        preallocated block (float64 in fit, scaled float32 in transform)."""
        n_channels = len(self.numeric_) + (self.time_ is not None)
        n_kept = int(offsets[-1]) if keep is None else len(keep)
        block = np.zeros((n_kept, n_channels), dtype=np.float64)
        for j, c in enumerate(self.numeric_):
            values = cols[c].values
            if pa.types.is_null(values.type):
                continue
            column = np.asarray(values.cast(pa.float64()), dtype=np.float64)
            block[:, j] = column if keep is None else column[keep]
        if self.time_ is not None:
            seconds = timestamps_to_seconds(cols[self.time_])
            gap = np.diff(seconds, prepend=seconds[:1] if len(seconds) else seconds)
            del seconds
            starts = offsets[:-1][np.diff(offsets) > 0]
            gap[starts] = 0.0
            if np.any(gap < 0):
                event = int(np.flatnonzero(gap < 0)[0])
                row = int(np.searchsorted(offsets, event, side="right") - 1)
                raise ValueError(
                    f"Time column {self.time_!r} is out of order in row "
                    f"{row_label(index, row)!r} "
                    "(a timestamp precedes the one before it). Sort each row by "
                    "time, e.g. with seqestimators.to_sequences(events, "
                    f"order_by={self.time_!r})."
                )
            np.log1p(gap, out=gap)
            block[:, -1] = gap if keep is None else gap[keep]
        if n_channels and not np.all(np.isfinite(block)):
            bad = np.flatnonzero(~np.isfinite(block).all(axis=0))[0]
            raise ValueError(
                f"Numeric channel {self._numeric_channel_names()[bad]!r} holds "
                "infinite values; replace them before vectorizing."
            )
        if scaled:
            return self._standardize(block)
        return block

    def _standardize(self, block: np.ndarray) -> np.ndarray:
        """``(block - mean_) / scale_`` as float32, in place on ``block``.

        Values near the float64 limit are divided first so that ``x - mean``
        cannot overflow; a value whose standardized form exceeds float32 (far
        outside the range seen in fit) is an error, not an infinity.
        """
        if not len(block):
            return block.astype(np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            safe = np.isfinite(block.max(axis=0) - self.mean_).all() and np.isfinite(
                block.min(axis=0) - self.mean_
            ).all()
            if safe:
                block -= self.mean_
                block /= self.scale_
            else:
                block /= self.scale_
                block -= self.mean_ / self.scale_
        # column extremes, not an elementwise test: no temporary array
        limit = np.finfo(np.float32).max
        high, low = block.max(axis=0), block.min(axis=0)
        fits = (high <= limit) & (low >= -limit)  # False for NaN too
        if not fits.all():
            bad = int(np.flatnonzero(~fits)[0])
            peak = max(abs(float(high[bad])), abs(float(low[bad])))
            raise ValueError(
                f"Numeric channel {self._numeric_channel_names()[bad]!r} holds "
                "values too large to standardize with the statistics learned in "
                f"fit (mean {self.mean_[bad]:.3g}, scale {self.scale_[bad]:.3g}): "
                f"scaled values reach {peak:.3g}, beyond the float32 range. Clip "
                "or rescale the column (e.g. with a log) before vectorizing."
            )
        return block.astype(np.float32)

    def set_output(self, *, transform=None):
        """Accept only the default output container.

        The output is a :class:`~seqestimators.RaggedSequences` of ragged
        event arrays, which has no DataFrame form. Like scikit-learn's
        :class:`~sklearn.feature_extraction.text.HashingVectorizer`, the
        vectorizer ignores the global ``transform_output`` configuration.

        Parameters
        ----------
        transform : {"default"} or None, default=None
            "default" and None leave the output unchanged; "pandas" and
            "polars" raise a ValueError.

        Returns
        -------
        self : SequenceVectorizer
        """
        if transform not in (None, "default"):
            raise ValueError(
                f"{type(self).__name__} cannot output {transform!r} containers: "
                "it returns RaggedSequences (ragged event arrays), which have no "
                "DataFrame form. Use set_output(transform='default'), and "
                "RaggedSequences.to_padded() for padded arrays."
            )
        return self

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the output channels: categorical, then numeric.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        return np.asarray(
            list(self.categorical_) + self._numeric_channel_names(), dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = []
        return tags
