"""SequenceVectorizer: a sequence frame in, model-ready ragged arrays out."""

from __future__ import annotations

import datetime
from numbers import Integral, Real

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..data._ops import keep_last
from ..data._ragged import RaggedSequences
from ..data._sequences import (
    ListColumn,
    check_sequence_frame,
    common_offsets,
    read_list_column,
    row_label,
    timestamps_to_seconds,
    values_to_seconds,
)
from ..utils._compat import Interval, StrOptions, _fit_context

__all__ = ["SequenceVectorizer"]

PAD_ID = 0
UNKNOWN_ID = 1
_GAP_SUFFIX = "__log_gap"
#: calendar fields; each adds a ``_sin`` and a ``_cos`` channel
_CALENDAR_FIELDS = ("hour", "dayofweek", "month")
_NS_PER_DAY = 86_400 * 10**9


def _is_datetime_type(t: pa.DataType) -> bool:
    return pa.types.is_timestamp(t) or pa.types.is_date(t)


def _is_seconds_type(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_duration(t)


def _tz_kind(tz) -> str:
    return f"timezone-aware ({tz})" if tz is not None else "timezone-naive"


def _local_ns(values: pa.Array) -> np.ndarray:
    """Datetimes as int64 nanoseconds of their wall-clock time (local time of
    a timezone-aware column), for calendar features."""
    t = values.type
    if pa.types.is_null(t):
        return np.zeros(len(values), dtype=np.int64)
    if pa.types.is_timestamp(t) and t.tz is not None:
        values = pc.local_timestamp(values)
    ns = pc.cast(values, pa.timestamp("ns"))
    return np.asarray(ns.cast(pa.int64()), dtype=np.int64)


def _calendar_fraction(local_ns: np.ndarray, field: str) -> np.ndarray:
    """Position of each time in the field's cycle, in [0, 1)."""
    if field == "hour":  # fractional hour of the day
        return np.mod(local_ns, _NS_PER_DAY) / _NS_PER_DAY
    if field == "dayofweek":  # Monday=0, as pandas; 1970-01-01 was a Thursday
        return np.mod(np.floor_divide(local_ns, _NS_PER_DAY) + 3, 7) / 7.0
    months = local_ns.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    return np.mod(months, 12) / 12.0  # month: January=0


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
        features are computed before truncation.
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
    reference_time : str, datetime, number or None, default=None
        The moment each sequence is looked at from, such as the cutoff of a
        point-in-time label (:func:`~seqestimators.make_window_labels`). It
        adds two channels: ``<time>__log_age``, ``log1p`` of the seconds from
        each event to the reference, and ``<time>__log_recency``, ``log1p`` of
        the seconds from the row's last event to the reference, repeated at
        every event of the row. A string naming a column of the frame (one
        time per row) or a level of its index (such as the ``"cutoff"`` level
        of ``make_window_labels``' history) gives each row its own reference,
        read again in ``transform``; that column is not vectorized. Any other
        value (a ``pd.Timestamp``, ``datetime``, ``np.datetime64``, a string
        such as ``"2024-03-01"``, or a number of seconds for a numeric time
        column) is one reference for every row. An event after its reference
        raises a ValueError: it would leak the future into the features.
        Requires a time column.
    calendar : list of {"hour", "dayofweek", "month"}, default=None
        Calendar fields of each event's timestamp, each added as two cyclic
        channels ``<time>__<field>_sin`` and ``<time>__<field>_cos``: the hour
        of the day (fractional, so 06:00 gives ``hour_sin`` = 1), the day of
        the week (Monday=0) or the month (January=0), in the wall-clock time
        of the time column's timezone. Requires a datetime time column.

    Attributes
    ----------
    categorical_ : list of str
        The categorical columns used.
    numeric_ : list of str
        The numeric columns used.
    time_ : str or None
        The time column used.
    time_features_ : list of str
        The time channels, in order, each named ``<time>__<feature>``:
        ``"log_gap"``, then ``"log_age"`` and ``"log_recency"`` with
        ``reference_time``, then ``"<field>_sin"`` and ``"<field>_cos"`` per
        ``calendar`` field. Empty when ``time_`` is None.
    vocabularies_ : dict of str to ndarray
        Per categorical column, the known categories; the category at position
        ``i`` is encoded as id ``i + 2`` (0 is padding, 1 unknown).
    cardinalities_ : list of int
        Number of ids per categorical channel (``len(vocabulary) + 2``).
    mean_, scale_ : ndarray of shape (n_numeric_channels,)
        Standardization learned for the numeric channels (numeric columns,
        then time features). Every time channel is standardized, the cyclic
        calendar channels included.
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

    With ``reference_time``, the scaling of the age and recency channels is
    learned in ``fit`` while the references are read from each frame: scoring
    new cutoffs with a fitted pipeline is the intended use. The recency is one
    value per row, repeated at each event so that the model reads it at every
    step; its ``mean_`` and ``scale_`` therefore weigh rows by their number of
    (kept) events.

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

    Ages and recency relative to a reference time, plus the day of the week:

    >>> events["timestamp"] = pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02"])
    >>> vec = SequenceVectorizer(reference_time="2024-01-10", calendar=["dayofweek"])
    >>> vec.fit(to_sequences(events)).time_features_
    ['log_gap', 'log_age', 'log_recency', 'dayofweek_sin', 'dayofweek_cos']
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
        "reference_time": [str, Real, datetime.date, np.datetime64, None],
        "calendar": [list, tuple, None],
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
        reference_time=None,
        calendar=None,
    ):
        self.categorical = categorical
        self.numeric = numeric
        self.time = time
        self.max_len = max_len
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.handle_unknown = handle_unknown
        self.reference_time = reference_time
        self.calendar = calendar

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
        ref = self.reference_time
        if isinstance(ref, str) and ref not in X.columns:
            levels = [level for level in X.index.names if level is not None]
            if ref not in levels:  # a time, or a name that matches nothing
                self._scalar_reference(ref, X, levels)
        self._resolve_columns(X)
        self.time_features_ = self._resolve_time_features()
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
        reference = self._reference(X, cols)
        numeric = self._numeric_block(
            cols, offsets, keep, X.index, reference, scaled=False
        )
        mean, std = _mean_std(numeric)
        self.mean_ = mean
        self.scale_ = np.where(_is_constant(mean, std, len(numeric)), 1.0, std)
        return self

    def _resolve_columns(self, X: pd.DataFrame) -> None:
        name = type(self).__name__
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        given = list(self.categorical or []) + list(self.numeric or [])
        explicit_time = [self.time] if self.time not in (None, "auto") else []
        reference = self._reference_column(X)
        if reference is not None and reference in given + explicit_time:
            raise ValueError(
                f"Column {reference!r} is the reference_time column (one time per "
                "row) and cannot also be a categorical, numeric or time column."
            )
        for c in given + explicit_time:
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
                if c == reference:  # one time per row, not a sequence
                    continue
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
        reference = self._reference(X, cols)
        numeric = self._numeric_block(
            cols, offsets, keep, X.index, reference, scaled=True
        )
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
        kept = keep_last(offsets, self.max_len)
        return None if kept is None else kept[1]

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

    # -------------------------------------------------------- time features
    def _reference_column(self, X: pd.DataFrame):
        """The reference_time column of ``X`` (None: no such column)."""
        ref = self.reference_time
        if isinstance(ref, str) and ref in X.columns:
            return ref
        return None

    def _resolve_time_features(self) -> list[str]:
        name = type(self).__name__
        calendar = list(self.calendar or [])
        unknown = [c for c in calendar if c not in _CALENDAR_FIELDS]
        if unknown:
            raise ValueError(
                f"calendar fields {unknown} are not supported; choose among "
                f"{list(_CALENDAR_FIELDS)}, e.g. calendar=['hour', 'dayofweek']."
            )
        if len(set(calendar)) != len(calendar):
            raise ValueError(f"calendar lists a field twice: {calendar}; each once.")
        if self.time_ is None:
            asked = []
            if self.reference_time is not None:
                asked.append(f"reference_time={self.reference_time!r}")
            if calendar:
                asked.append(f"calendar={self.calendar!r}")
            if asked:
                raise ValueError(
                    f"{name}({', '.join(asked)}) needs a time column, but there is "
                    f"none (time={self.time!r}). Pass time=<column of timestamps>."
                )
            return []
        features = ["log_gap"]
        if self.reference_time is not None:
            features += ["log_age", "log_recency"]
        for field in calendar:
            features += [f"{field}_sin", f"{field}_cos"]
        return features

    def _time_features(self) -> list[str]:
        # models fitted before time_features_ existed had the gap only
        default = ["log_gap"] if self.time_ is not None else []
        return list(getattr(self, "time_features_", default))

    def _reference(self, X: pd.DataFrame, cols) -> tuple[np.ndarray, str] | None:
        """Per-row reference times in seconds, and how to name them in errors.

        None when the fitted vectorizer has no reference channels.
        """
        if "log_age" not in self._time_features():
            return None
        name = type(self).__name__
        ref = self.reference_time
        if ref is None:
            raise ValueError(
                f"This {name} was fitted with a reference_time, which is now None; "
                "set it back or fit again."
            )
        levels = [level for level in X.index.names if level is not None]
        per_row = isinstance(ref, str) and (ref in X.columns or ref in levels)
        if per_row and ref in X.columns:
            values = X[ref]
            if isinstance(values, pd.DataFrame):
                raise ValueError(
                    f"Column name {ref!r} is duplicated in the sequence frame."
                )
            source = f"reference_time column {ref!r}"
        elif per_row:
            values = X.index.get_level_values(ref)
            source = f"reference_time index level {ref!r}"
        else:
            source = f"reference_time={ref!r}"
            values = [self._scalar_reference(ref, X, levels)]
        try:
            arr = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            raise TypeError(
                f"{source} must hold one time per row (datetimes, or numbers in "
                "seconds); its values could not be read as one type."
            ) from None
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if pa.types.is_dictionary(arr.type):
            arr = arr.cast(arr.type.value_type)
        if arr.null_count:
            missing = np.asarray(pc.is_null(arr), dtype=bool)
            first = row_label(X.index, int(np.flatnonzero(missing)[0]))
            raise ValueError(
                f"{source} must give a time for every row, but {int(missing.sum())} "
                f"of {len(arr)} rows are missing (NaN/NaT/None), the first being row "
                f"{first!r}. Fill them, or drop those rows before {name}."
            )
        self._check_reference_type(arr.type, cols[self.time_].values.type, source)
        seconds = values_to_seconds(arr, source)
        if not per_row:
            seconds = np.full(X.shape[0], seconds[0])
        return seconds, source

    def _scalar_reference(self, ref, X: pd.DataFrame, levels: list):
        """A scalar reference_time as a float (seconds) or a pd.Timestamp."""
        if isinstance(ref, Real) and not isinstance(ref, bool | np.bool_):
            return float(ref)
        try:
            ts = pd.Timestamp(ref)
        except (TypeError, ValueError):
            if isinstance(ref, str):
                raise ValueError(
                    f"reference_time={ref!r} is neither a column of the sequence "
                    "frame, nor an index level, nor a time that pd.Timestamp can "
                    f"parse. Available columns: {list(X.columns)}; index levels: "
                    f"{levels}."
                ) from None
            raise TypeError(
                "reference_time must be a column or index level name, a time or a "
                f"number of seconds; got {type(ref).__name__} {ref!r}."
            ) from None
        if pd.isna(ts):
            raise ValueError(
                f"reference_time={ref!r} is a missing time (NaT); pass a time, or "
                "the name of a column or index level holding one per row."
            )
        return ts

    def _check_reference_type(self, ref_type, time_type, source: str) -> None:
        if not (_is_datetime_type(ref_type) or _is_seconds_type(ref_type)):
            raise TypeError(
                f"{source} must hold times (datetimes, or numbers in seconds); got "
                f"values of type {ref_type}."
            )
        if pa.types.is_null(time_type):  # no events at all: nothing to compare
            return
        column = f"Time column {self.time_!r}"
        if _is_datetime_type(time_type) and not _is_datetime_type(ref_type):
            raise TypeError(
                f"{column} holds datetimes but {source} holds {ref_type}; pass "
                "datetimes (e.g. pd.Timestamp('2024-03-01')) as the reference."
            )
        if _is_seconds_type(time_type) and not _is_seconds_type(ref_type):
            raise TypeError(
                f"{column} holds numbers (seconds) but {source} holds datetimes; "
                "pass the reference as a number in the unit of the time column."
            )
        tz_time = getattr(time_type, "tz", None)
        tz_ref = getattr(ref_type, "tz", None)
        if (tz_time is None) != (tz_ref is None):
            raise TypeError(
                f"{column} is {_tz_kind(tz_time)} but {source} is "
                f"{_tz_kind(tz_ref)}; naive "
                "and aware times cannot be compared. Localize the naive one (e.g. "
                "Series.dt.tz_localize('UTC') or Timestamp.tz_localize('UTC')), or "
                "make both naive."
            )

    def _numeric_channel_names(self) -> list[str]:
        names = list(self.numeric_)
        names += [f"{self.time_}__{f}" for f in self._time_features()]
        return names

    def _numeric_block(
        self, cols, offsets, keep, index, reference, *, scaled: bool
    ) -> np.ndarray:
        """Numeric channels then time features, one column at a time into a
        preallocated block (float64 in fit, scaled float32 in transform)."""
        features = self._time_features()
        n_channels = len(self.numeric_) + len(features)
        n_kept = int(offsets[-1]) if keep is None else len(keep)
        block = np.zeros((n_kept, n_channels), dtype=np.float64)

        def put(j: int, column: np.ndarray) -> None:
            block[:, j] = column if keep is None else column[keep]

        for j, c in enumerate(self.numeric_):
            values = cols[c].values
            if pa.types.is_null(values.type):
                continue
            put(j, np.asarray(values.cast(pa.float64()), dtype=np.float64))
        if features:
            self._time_block(cols, offsets, index, reference, features, put)
        if n_channels and not np.all(np.isfinite(block)):
            bad = np.flatnonzero(~np.isfinite(block).all(axis=0))[0]
            raise ValueError(
                f"Numeric channel {self._numeric_channel_names()[bad]!r} holds "
                "infinite values; replace them before vectorizing."
            )
        if scaled:
            return self._standardize(block)
        return block

    def _time_block(self, cols, offsets, index, reference, features, put) -> None:
        """Write the time channels with ``put(column_position, flat_values)``.

        Every array here is one value per event (or per row) and computed with
        numpy on the flat timestamps; truncation happens in ``put``, after the
        gaps, ages and recencies were computed on the full sequences.
        """
        j0 = len(self.numeric_)
        time = cols[self.time_]
        seconds = timestamps_to_seconds(time)
        lengths = np.diff(offsets)
        gap = np.diff(seconds, prepend=seconds[:1] if len(seconds) else seconds)
        starts = offsets[:-1][lengths > 0]
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
        put(j0 + features.index("log_gap"), gap)
        del gap
        if reference is not None:
            ref_seconds, source = reference
            age = np.repeat(ref_seconds, lengths)
            age -= seconds
            filled = np.flatnonzero(lengths > 0)
            last_age = age[offsets[1:][filled] - 1]  # rows are sorted by time
            if np.any(last_age < 0):
                k = int(np.flatnonzero(last_age < 0)[0])
                row, event = int(filled[k]), int(offsets[filled[k] + 1] - 1)
                raise ValueError(
                    f"Row {row_label(index, row)!r} has an event at "
                    f"{time.values[event].as_py()} after its reference time "
                    f"{self._show_time(ref_seconds[row], time.values.type)} "
                    f"({source}): features computed at the reference must not see "
                    "later events, which would leak the future into training. Drop "
                    "the events after the reference (make_window_labels keeps only "
                    "events strictly before each cutoff) or use a later reference."
                )
            np.log1p(age, out=age)
            put(j0 + features.index("log_age"), age)
            del age
            recency = np.repeat(np.log1p(last_age), lengths[filled])
            put(j0 + features.index("log_recency"), recency)
            del recency
        del seconds
        fields = [f[: -len("_sin")] for f in features if f.endswith("_sin")]
        if not fields:
            return
        t = time.values.type
        if not (_is_datetime_type(t) or pa.types.is_null(t)):
            raise ValueError(
                f"calendar={fields} needs datetimes, but time column "
                f"{self.time_!r} holds {t}; convert it with pd.to_datetime, or "
                "drop calendar."
            )
        local = _local_ns(time.values)
        for field in fields:
            angle = _calendar_fraction(local, field)
            angle *= 2 * np.pi
            put(j0 + features.index(f"{field}_sin"), np.sin(angle))
            put(j0 + features.index(f"{field}_cos"), np.cos(angle))

    @staticmethod
    def _show_time(seconds: float, time_type) -> object:
        """A reference in seconds, shown like the time column's values."""
        if not _is_datetime_type(time_type):
            return seconds
        tz = getattr(time_type, "tz", None)
        ns = pa.array([round(seconds * 1e9)], pa.int64())
        return ns.cast(pa.timestamp("ns", tz=tz))[0].as_py()

    def _standardize(self, block: np.ndarray) -> np.ndarray:
        """``(block - mean_) / scale_`` as float32, in place on ``block``.

        Values near the float64 limit are divided first so that ``x - mean``
        cannot overflow; a value whose standardized form exceeds float32 (far
        outside the range seen in fit) is an error, not an infinity.
        """
        if not len(block):
            return block.astype(np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            safe = (
                np.isfinite(block.max(axis=0) - self.mean_).all()
                and np.isfinite(block.min(axis=0) - self.mean_).all()
            )
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
