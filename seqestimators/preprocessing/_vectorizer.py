"""SequenceVectorizer: a sequence frame in, model-ready ragged arrays out.

The class orchestrates helpers of this package: column roles
(:mod:`._columns`), vocabularies (:mod:`._vocabulary`), scaling
(:mod:`._scaling`), time features (:mod:`._time_features`) and reference
times (:mod:`._reference`).
"""

from __future__ import annotations

import datetime
from numbers import Integral, Real

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..data._ops import keep_last
from ..data._out_of_core import SequencePartitions
from ..data._ragged import RaggedSequences
from ..data._sequences import (
    ListColumn,
    check_sequence_frame,
    common_offsets,
    row_label,
    timestamps_to_seconds,
    values_to_seconds,
)
from ..utils._compat import Interval, StrOptions, _fit_context
from ..utils._doc_link import DocLinkMixin
from ._cells import frame_of_cells
from ._columns import (
    check_numeric_type,
    check_scalar_events,
    read_column,
    resolve_columns,
)
from ._reference import (
    check_reference_name,
    check_reference_type,
    reference_column,
    reference_values,
)
from ._scaling import check_finite, fit_scaling, standardize
from ._streaming import fit_partitions, transform_partitions
from ._time_features import (
    TIME_UNITS,
    ages,
    calendar_channels,
    check_calendar,
    describe_time,
    epoch_to_datetime,
    first_negative,
    gaps,
    is_datetime_type,
    parse_iso,
    show_time,
    time_feature_names,
)
from ._vocabulary import encode, learn_vocabulary, vocabulary_fingerprint

__all__ = ["SequenceVectorizer"]

#: fitted and received time types that give the same gaps
_SAME_GAPS = {"numbers (seconds)", "datetimes (timezone-naive)"}


class SequenceVectorizer(
    DocLinkMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None
):
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
        None infers them: lists of strings, booleans or integers. An inferred
        column that looks like an identifier -- at least 50 distinct values,
        more than 90% of which occur in a single sequence, such as a session
        id or an epoch timestamp -- is left out with a warning (an embedding
        would learn one vector per entity); list it here to use it.
    numeric : list of str, default=None
        List columns whose values are numbers (price, quantity). None infers
        them: lists of floats, and of timedeltas (as seconds). Integer
        columns are treated as categorical unless listed here.
    time : str, "auto" or None, default="auto"
        List column of timestamps that must be non-decreasing within a row:
        datetimes, ISO 8601 strings (parsed with ``pd.to_datetime(...,
        format="ISO8601")``), or numbers (seconds, or see ``time_unit``). It
        adds the numeric channel ``<time>__log_gap``: ``log1p`` of the seconds
        since the previous event (0 for the first event), standardized.
        "auto" uses the only datetime or ISO 8601 string list column if there
        is exactly one; None adds no time feature. With inference of the
        categorical columns, an ISO 8601 string column that is not the time
        column raises a ValueError rather than becoming one category per
        time.
    time_unit : {"s", "ms", "us", "ns", "D"} or None, default=None
        Unit of a numeric time column holding epoch times (counted since
        1970-01-01 UTC): such times are read as timezone-naive datetimes, so
        that calendar features and datetime references work, and numeric
        references are read in the same unit. None reads a numeric time
        column as plain seconds. Requires a numeric time column, named with
        ``time``.
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
        such as ``"2024-03-01"``, or a number for a numeric time column: in
        seconds, or in ``time_unit``) is one reference for every row. An
        event after its reference raises a ValueError: it would leak the
        future into the features.
        Requires a time column.
    calendar : list of {"hour", "dayofweek", "month"}, default=None
        Calendar fields of each event's timestamp, each added as two cyclic
        channels ``<time>__<field>_sin`` and ``<time>__<field>_cos``: the hour
        of the day (fractional, so 06:00 gives ``hour_sin`` = 1), the day of
        the week (Monday=0) or the month (January=0), in the wall-clock time
        of the time column's timezone. Requires a datetime time column (or
        epoch numbers with ``time_unit``, read in UTC).

    Attributes
    ----------
    categorical_ : list of str
        The categorical columns used.
    numeric_ : list of str
        The numeric columns used.
    time_ : str or None
        The time column used.
    time_type_ : str or None
        What the time column held in ``fit``, such as ``"datetimes
        (timezone-naive)"`` or ``"numbers ('ms' since 1970-01-01)"`` (None
        without a time column or without events). ``transform`` raises a
        ValueError for a time column holding anything else (another timezone,
        unit or type), except that numbers in seconds and timezone-naive
        datetimes mix when the only time channel is the gap, which they give
        alike.
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
    vocabulary_fingerprint_ : str
        Digest of the vocabularies, carried by the output
        (``RaggedSequences.vocabulary_fingerprint``) so that an estimator
        refuses input encoded by another fitted vectorizer.
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

    Epoch times in milliseconds are times too, once their unit is given:

    >>> events["ms"] = [1_704_067_200_000, 1_704_067_260_000, 1_704_153_600_000]
    >>> seqs = to_sequences(events, order_by="ms", columns=["event", "ms"])
    >>> vec = SequenceVectorizer(time="ms", time_unit="ms", calendar=["hour"])
    >>> vec.fit(seqs).get_feature_names_out().tolist()
    ['event', 'ms__log_gap', 'ms__hour_sin', 'ms__hour_cos']
    """

    _parameter_constraints: dict = {
        "categorical": [list, tuple, None],
        "numeric": [list, tuple, None],
        "time": [str, None],
        "time_unit": [StrOptions(set(TIME_UNITS)), None],
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
        time_unit=None,
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
        self.time_unit = time_unit
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
        X : pandas or polars DataFrame, pyarrow.Table, path or SequencePartitions
            Sequence frame: one row per entity, list columns in time order.
            A polars DataFrame, a pyarrow Table, RecordBatch or Dataset, or
            the path of a Parquet file is read as a pandas frame first (see
            :func:`~seqestimators.to_sequences`). Not modified.
            :class:`~seqestimators.SequencePartitions` (an event log
            larger than memory) are fitted in one streaming pass over their
            partitions: the vocabularies count the values of every
            partition and the scaling combines their moments, so the result
            equals a fit on the whole frame.
        y : None
            Ignored.

        Returns
        -------
        self : SequenceVectorizer
        """
        if isinstance(X, SequencePartitions):
            return fit_partitions(self, X)
        X = check_sequence_frame(frame_of_cells(X), caller=type(self).__name__)
        self._resolve_columns(X)
        cols, offsets = self._read(X, fitting=True)
        keep = self._keep_index(offsets)
        n_events = int(offsets[-1]) if keep is None else len(keep)
        self.vocabularies_ = {}
        for c in self.categorical_:
            self.vocabularies_[c] = learn_vocabulary(
                self._kept(cols[c].values, keep),
                n_events,
                min_frequency=self.min_frequency,
                max_categories=self.max_categories,
            )
        self.cardinalities_ = [len(v) + 2 for v in self.vocabularies_.values()]
        self.vocabulary_fingerprint_ = vocabulary_fingerprint(self.vocabularies_)
        reference = self._reference(X, cols)
        numeric = self._numeric_block(cols, offsets, keep, X.index, reference)
        self.mean_, self.scale_ = fit_scaling(numeric)
        return self

    def _resolve_columns(self, X: pd.DataFrame) -> None:
        """Set the input features and the roles of the columns of ``X``."""
        check_reference_name(X, self.reference_time)
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        self.categorical_, self.numeric_, self.time_ = resolve_columns(
            X,
            categorical=self.categorical,
            numeric=self.numeric,
            time=self.time,
            reference=reference_column(X, self.reference_time),
            caller=type(self).__name__,
        )
        self.time_features_ = self._resolve_time_features()

    def _resolve_time_features(self) -> list[str]:
        calendar = check_calendar(self.calendar)
        if self.time_ is None:
            asked = []
            if self.reference_time is not None:
                asked.append(f"reference_time={self.reference_time!r}")
            if calendar:
                asked.append(f"calendar={self.calendar!r}")
            if self.time_unit is not None:
                asked.append(f"time_unit={self.time_unit!r}")
            if asked:
                raise ValueError(
                    f"{type(self).__name__}({', '.join(asked)}) needs a time column, "
                    f"but there is none (time={self.time!r}). Pass time=<column of "
                    "timestamps>."
                )
            return []
        return time_feature_names(self.reference_time is not None, calendar)

    # ------------------------------------------------------------ transform
    def transform(self, X) -> RaggedSequences:
        """Encode a sequence frame.

        Parameters
        ----------
        X : pandas or polars DataFrame, pyarrow.Table, path or SequencePartitions
            Sequence frame with the columns seen in ``fit``, of any type
            ``fit`` accepts. Not modified.

        Returns
        -------
        Xt : RaggedSequences
            Ragged categorical ids and scaled numeric values, indexed like
            ``X`` (by row position for a frame without a pandas index, such
            as a polars DataFrame). For
            :class:`~seqestimators.SequencePartitions`, the partitions
            are encoded one at a time into ``.npy`` files in the folder
            ``model_input`` of their directory (replacing an earlier one),
            and the arrays are memory-mapped from there (see
            :func:`~seqestimators.load_ragged`); rows come in partition
            order, indexed by entity (``X.index``).
        """
        check_is_fitted(self)
        if isinstance(X, SequencePartitions):
            return transform_partitions(self, X)
        X = frame_of_cells(X, self.feature_names_in_)
        X = check_sequence_frame(X, caller=type(self).__name__)
        cols, offsets = self._read(X, fitting=False)
        keep = self._keep_index(offsets)
        n_events = int(offsets[-1]) if keep is None else len(keep)
        categorical = np.empty((n_events, len(self.categorical_)), dtype=np.int64)
        for j, c in enumerate(self.categorical_):
            categorical[:, j] = encode(
                c,
                self._kept(cols[c].values, keep),
                self.vocabularies_[c],
                handle_unknown=self.handle_unknown,
            )
        reference = self._reference(X, cols)
        numeric = self._numeric_block(cols, offsets, keep, X.index, reference)
        numeric = standardize(
            numeric, self.mean_, self.scale_, self._numeric_channel_names()
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
            vocabularies=self.vocabularies_,
            vocabulary_fingerprint=self.vocabulary_fingerprint_,
        )

    # -------------------------------------------------------------- reading
    def _read(self, X: pd.DataFrame, *, fitting: bool):
        """The list columns used, read and checked, and their shared offsets;
        the time column as read for the time features."""
        name = type(self).__name__
        wanted = list(self.categorical_) + list(self.numeric_)
        if self.time_ is not None:
            wanted.append(self.time_)
        cols = {c: read_column(X, c, caller=name) for c in wanted}
        for col in cols.values():
            check_scalar_events(col)
        offsets = common_offsets(list(cols.values()), X.index, caller=name)
        for c in self.numeric_:
            check_numeric_type(cols[c])
        if self.time_ is not None:
            cols[self.time_] = self._read_time(cols[self.time_], fitting=fitting)
        return cols, offsets

    def _read_time(self, col: ListColumn, *, fitting: bool) -> ListColumn:
        """The time column with ISO 8601 strings and epoch numbers as
        timestamps; its type is recorded in fit and checked in transform."""
        what = f"Time column {col.name!r}"
        values, unit = col.values, self.time_unit
        t = values.type
        numeric = pa.types.is_integer(t) or pa.types.is_floating(t)
        if unit is not None and not (numeric or pa.types.is_null(t)):
            raise ValueError(
                f"time_unit={unit!r} is the unit of numeric epoch times, but {what} "
                f"holds {t}. Drop time_unit (datetimes carry their own unit), or "
                "name a numeric time column with time=<column>."
            )
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            values = parse_iso(values, what)
            received = describe_time(values.type, None)
        else:
            received = describe_time(t, unit)
        if fitting:
            self.time_type_ = received
        else:
            self._check_time_type(received)
        if unit is not None and numeric:
            values = epoch_to_datetime(values, unit, what)
        if values is col.values:
            return col
        return ListColumn(name=col.name, offsets=col.offsets, values=values)

    def _check_time_type(self, received: str | None) -> None:
        fitted = getattr(self, "time_type_", None)  # None: fitted before it existed
        if fitted is None or received is None or received == fitted:
            return
        if {fitted, received} <= _SAME_GAPS and self._time_features() == ["log_gap"]:
            return
        raise ValueError(
            f"Time column {self.time_!r} holds {received}, but this "
            f"{type(self).__name__} was fitted on {fitted}: its time features "
            "would be shifted. Convert the column to what fit saw (e.g. "
            "pd.to_datetime, Series.dt.tz_convert or tz_localize), set time_unit "
            "back to its value in fit, or fit again."
        )

    def _keep_index(self, offsets: np.ndarray) -> np.ndarray | None:
        """Flat index of the events kept by ``max_len`` (None: all)."""
        if self.max_len is None:
            return None
        kept = keep_last(offsets, self.max_len)
        return None if kept is None else kept[1]

    @staticmethod
    def _kept(values: pa.Array, keep: np.ndarray | None) -> pa.Array:
        return values if keep is None else values.take(pa.array(keep))

    # -------------------------------------------------------- time features
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
        arr, source, per_row = reference_values(X, ref, name)
        if self.time_unit is not None and (
            pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)
        ):
            arr = epoch_to_datetime(arr, self.time_unit, source)
        check_reference_type(arr.type, cols[self.time_].values.type, self.time_, source)
        seconds = values_to_seconds(arr, source)
        if not per_row:
            seconds = np.full(X.shape[0], seconds[0])
        return seconds, source

    def _numeric_channel_names(self) -> list[str]:
        names = list(self.numeric_)
        names += [f"{self.time_}__{f}" for f in self._time_features()]
        return names

    def _numeric_block(self, cols, offsets, keep, index, reference) -> np.ndarray:
        """Numeric channels then time features, one column at a time into a
        preallocated float64 block."""
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
            if pa.types.is_duration(values.type):
                put(j, values_to_seconds(values, f"Numeric column {c!r}"))
            else:
                put(j, np.asarray(values.cast(pa.float64()), dtype=np.float64))
        if features:
            self._time_block(cols, offsets, index, reference, features, put)
        check_finite(block, self._numeric_channel_names())
        return block

    def _time_block(self, cols, offsets, index, reference, features, put) -> None:
        """Write the time channels with ``put(column_position, flat_values)``.

        Gaps, ages and recencies are computed on the full sequences;
        truncation happens in ``put``.
        """
        j0 = len(self.numeric_)

        def put_feature(feature: str, values: np.ndarray) -> None:
            put(j0 + features.index(feature), values)

        time = cols[self.time_]
        seconds = timestamps_to_seconds(time)
        gap = gaps(seconds, offsets)
        event = first_negative(gap)
        if event is not None:
            row = int(np.searchsorted(offsets, event, side="right") - 1)
            raise ValueError(
                f"Time column {self.time_!r} is out of order in row "
                f"{row_label(index, row)!r} "
                "(a timestamp precedes the one before it). Sort each row by "
                "time, e.g. with seqestimators.to_sequences(events, "
                f"order_by={self.time_!r})."
            )
        np.log1p(gap, out=gap)
        put_feature("log_gap", gap)
        del gap
        if reference is not None:
            self._age_channels(time, seconds, offsets, index, reference, put_feature)
        del seconds
        fields = [f[: -len("_sin")] for f in features if f.endswith("_sin")]
        if fields:
            self._calendar_channels(time, fields, put_feature)

    def _age_channels(self, time, seconds, offsets, index, reference, put) -> None:
        """``log_age`` and ``log_recency``; ValueError for an event after its
        reference (it would leak the future into the features)."""
        ref_seconds, source = reference
        age, last_age, filled = ages(ref_seconds, seconds, offsets)
        late = first_negative(last_age)
        if late is not None:
            row, event = int(filled[late]), int(offsets[filled[late] + 1] - 1)
            raise ValueError(
                f"Row {row_label(index, row)!r} has an event at "
                f"{time.values[event].as_py()} after its reference time "
                f"{show_time(ref_seconds[row], time.values.type)} "
                f"({source}): features computed at the reference must not see "
                "later events, which would leak the future into training. Drop "
                "the events after the reference (make_window_labels keeps only "
                "events strictly before each cutoff) or use a later reference."
            )
        np.log1p(age, out=age)
        put("log_age", age)
        del age
        put("log_recency", np.repeat(np.log1p(last_age), np.diff(offsets)[filled]))

    def _calendar_channels(self, time: ListColumn, fields: list, put) -> None:
        t = time.values.type
        if not (is_datetime_type(t) or pa.types.is_null(t)):
            raise ValueError(
                f"calendar={fields} needs datetimes, but time column "
                f"{self.time_!r} holds {t}; convert it with pd.to_datetime, pass "
                "time_unit for epoch numbers, or drop calendar."
            )
        for field, sin, cos in calendar_channels(time.values, fields):
            put(f"{field}_sin", sin)
            put(f"{field}_cos", cos)

    # --------------------------------------------------------------- output
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
