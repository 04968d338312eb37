"""NumpyEncoder: raw event lists in, model input out, with numpy alone.

It replays a fitted :class:`~seqestimators.SequenceVectorizer` from its
state exported as data (:func:`vectorizer_state`): the same ids, time
features and scaling, without pandas, pyarrow, scikit-learn, skorch or
torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real

import numpy as np

from ._times import EventError, calendar_fraction, local_ns, time_reader

__all__ = ["NumpyEncoder", "pad_encoded"]

#: accepted Python types of each vocabulary kind
_KIND_TYPES = {
    "str": (str,),
    "int": (Integral,),
    "bool": (bool, np.bool_),
    "float": (Real,),
}
_LISTS = (list, tuple, np.ndarray)


def _check_list(instance: Mapping, name: str, where: str):
    if name not in instance:
        given = sorted(str(k) for k in instance)
        raise EventError(
            f"{where} lacks the column {name!r}; the model needs one list per "
            f"column, got the keys {given}."
        )
    values = instance[name]
    if not isinstance(values, _LISTS):
        raise EventError(
            f"{where}: column {name!r} must be a list of event values, got "
            f"{type(values).__name__}."
        )
    return values


def pad_encoded(encoded, n_categorical: int, n_numeric: int, min_steps: int = 1):
    """Right-padded ``(categorical, numeric, lengths)`` of encoded sequences
    (pairs of per-event arrays), at least ``min_steps`` steps long.

    Examples
    --------
    >>> import numpy as np
    >>> one = (np.array([[2], [3]]), np.zeros((2, 0), dtype=np.float32))
    >>> cat, num, lengths = pad_encoded([one], 1, 0, min_steps=3)
    >>> cat[0, :, 0].tolist(), lengths.tolist()
    ([2, 3, 0], [2])
    """
    lengths = np.asarray([len(c) for c, _ in encoded], dtype=np.int64)
    T = max(int(lengths.max(initial=0)), int(min_steps))
    cat = np.zeros((len(encoded), T, n_categorical), dtype=np.int64)
    num = np.zeros((len(encoded), T, n_numeric), dtype=np.float32)
    for i, (c, x) in enumerate(encoded):
        cat[i, : len(c)] = c
        num[i, : len(x)] = x
    return cat, num, lengths


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the float range
        return False


def _vocabulary_table(spec: Mapping) -> tuple[dict, tuple]:
    kind = spec["kind"]
    values = spec["values"]
    if kind == "bool":
        values = [bool(v) for v in values]
    return {v: i + 2 for i, v in enumerate(values)}, _KIND_TYPES.get(kind, (object,))


class NumpyEncoder:
    """Encode raw event lists as a fitted ``SequenceVectorizer`` would.

    Parameters
    ----------
    state : dict
        The vectorizer's state as exported by :func:`vectorizer_state` (plain
        JSON data: vocabularies, scaling, time settings).

    Attributes
    ----------
    columns : list of str
        The event columns every sequence must hold, each a list of the same
        length: categorical, numeric, then the time column.
    reference : str or None
        The key of each sequence's own reference time (a vectorizer fitted
        with a per-row ``reference_time``), else None.

    Examples
    --------
    >>> state = {"categorical": ["event"], "numeric": [], "time": None,
    ...          "vocabularies": {"event": {"kind": "str", "values": ["view", "buy"]}},
    ...          "time_kind": None, "time_unit": None, "time_tz": None,
    ...          "time_features": [], "reference": None, "max_len": None,
    ...          "handle_unknown": "ignore", "mean": [], "scale": []}
    >>> cat, num, lengths = NumpyEncoder(state).encode(
    ...     [{"event": ["view", "buy", "cart"]}, {"event": []}])
    >>> cat[..., 0].tolist(), num.shape, lengths.tolist()
    ([[2, 3, 1], [0, 0, 0]], (2, 3, 0), [3, 0])
    """

    def __init__(self, state: Mapping):
        self.state = state
        self.categorical = list(state["categorical"])
        self.numeric = list(state["numeric"])
        self.time = state["time"]
        self.columns = self.categorical + self.numeric + (
            [self.time] if self.time is not None else [])
        self._tables = [_vocabulary_table(state["vocabularies"][c])
                        for c in self.categorical]
        self._features = list(state["time_features"])
        self._read_time = time_reader(state["time_kind"] or "seconds",
                                      state["time_unit"])
        ref = state["reference"]
        self.reference = ref["name"] if ref is not None and ref["per_row"] else None
        self._mean = np.asarray(state["mean"], dtype=np.float64)
        self._scale = np.asarray(state["scale"], dtype=np.float64)
        self._numeric_names = self.numeric + [f"{self.time}__{f}"
                                              for f in self._features]

    # ------------------------------------------------------------ public
    def encode(self, instances: Sequence[Mapping], min_steps: int = 1):
        """Model input of a batch of sequences.

        Parameters
        ----------
        instances : sequence of dict
            One mapping per sequence: column name -> list of event values,
            in time order (plus the reference time under :attr:`reference`
            when the model has one per sequence). Not modified.
        min_steps : int, default=1
            Pad to at least this many steps.

        Returns
        -------
        categorical : ndarray of shape (n, T, n_categorical), int64
        numeric : ndarray of shape (n, T, n_numeric), float32
        lengths : ndarray of shape (n,), int64
        """
        encoded = [self.encode_one(x, where=f"sequence {i}")
                   for i, x in enumerate(instances)]
        return pad_encoded(encoded, len(self.categorical), len(self._numeric_names),
                           min_steps)

    def encode_one(self, instance: Mapping, where: str = "sequence"):
        """``(categorical (L, n_categorical) int64, numeric (L, n_numeric)
        float32)`` of one sequence of ``L`` kept events; :class:`EventError`
        for input the vectorizer would refuse."""
        if not isinstance(instance, Mapping):
            raise EventError(
                f"{where} must be an object mapping column names to lists of "
                f"event values, got {type(instance).__name__}."
            )
        lists = [_check_list(instance, c, where) for c in self.columns]
        n = len(lists[0]) if lists else 0
        for name, values in zip(self.columns, lists):
            if len(values) != n:
                raise EventError(
                    f"{where}: the event lists differ in length ({self.columns[0]!r} "
                    f"has {n} events, {name!r} {len(values)}); every column must "
                    "hold one value per event."
                )
        cat = np.empty((n, len(self.categorical)), dtype=np.int64)
        for j, name in enumerate(self.categorical):
            cat[:, j] = self._ids(name, lists[j], self._tables[j], where)
        block = np.zeros((n, len(self._numeric_names)), dtype=np.float64)
        for j, name in enumerate(self.numeric):
            block[:, j] = self._numbers(name, lists[len(self.categorical) + j], where)
        if self.time is not None:
            self._time_block(instance, lists[-1], block, where)
        max_len = self.state["max_len"]
        if max_len is not None and n > max_len:
            cat, block = cat[n - max_len :], block[n - max_len :]
        return cat, self._standardize(block, where)

    # ---------------------------------------------------------- channels
    def _ids(self, name, values, table, where) -> list:
        vocab, types = table
        kind = self.state["vocabularies"][name]["kind"]
        for v in values:
            if not isinstance(v, types) or (
                types[0] is not bool and isinstance(v, bool | np.bool_)
            ):
                raise EventError(
                    f"{where}: column {name!r} holds {type(v).__name__} {v!r}, but "
                    f"the model's categories are {kind} values; send the same type as "
                    "in fit."
                )
        ids = [vocab.get(v, 1) for v in values]
        if self.state["handle_unknown"] == "error" and 1 in ids:
            bad = values[ids.index(1)]
            raise EventError(
                f"{where}: column {name!r} holds the category {bad!r}, unseen in "
                "fit, and the model was fitted with handle_unknown='error'."
            )
        return ids

    @staticmethod
    def _numbers(name, values, where) -> np.ndarray:
        for v in values:
            if not isinstance(v, Real) or not _finite(v):
                raise EventError(
                    f"{where}: numeric column {name!r} holds {type(v).__name__} "
                    f"{v!r}; send finite numbers."
                )
        return np.asarray(values, dtype=np.float64)

    def _standardize(self, block: np.ndarray, where: str) -> np.ndarray:
        block -= self._mean
        block /= self._scale
        limit = np.finfo(np.float32).max
        if block.size and not (np.abs(block) <= limit).all():
            bad = int(np.flatnonzero(~(np.abs(block) <= limit).all(axis=0))[0])
            raise EventError(
                f"{where}: numeric channel {self._numeric_names[bad]!r} holds values "
                "too large to standardize with the statistics learned in fit."
            )
        return block.astype(np.float32)

    # ------------------------------------------------------------- times
    def _time_block(self, instance, values, block, where) -> None:
        """The time channels of one sequence, written into ``block``."""
        what = f"{where}: time column {self.time!r}"
        read = [self._read_time(v, what) for v in values]
        seconds = np.asarray([s for s, _ in read], dtype=np.float64)
        j0 = len(self.numeric)
        gap = np.diff(seconds, prepend=seconds[:1])
        if (gap < 0).any():
            event = int(np.flatnonzero(gap < 0)[0])
            raise EventError(
                f"{what} is out of order: event {event} ({values[event]!r}) "
                f"precedes the event before it ({values[event - 1]!r}). Send each "
                "sequence's events in time order."
            )
        block[:, j0 + self._features.index("log_gap")] = np.log1p(gap)
        if "log_age" in self._features:
            self._age_channels(instance, seconds, values, block, what, where)
        fields = [f[: -len("_sin")] for f in self._features if f.endswith("_sin")]
        if fields and len(read):
            wall = local_ns(np.asarray([ns for _, ns in read], dtype=np.int64),
                            self.state["time_tz"])
            for field in fields:
                angle = calendar_fraction(wall, field) * (2 * np.pi)
                block[:, j0 + self._features.index(f"{field}_sin")] = np.sin(angle)
                block[:, j0 + self._features.index(f"{field}_cos")] = np.cos(angle)

    def _reference_seconds(self, instance, where) -> float:
        ref = self.state["reference"]
        if not ref["per_row"]:
            return float(ref["seconds"])
        if self.reference not in instance:
            raise EventError(
                f"{where} lacks its reference time {self.reference!r}: the model "
                "was fitted with one reference time per sequence; send it as a "
                "time like the events' times."
            )
        return self._read_time(instance[self.reference],
                               f"{where}: reference time {self.reference!r}")[0]

    def _age_channels(self, instance, seconds, values, block, what, where) -> None:
        ref = self._reference_seconds(instance, where)
        if not len(seconds):
            return
        age = ref - seconds
        if age[-1] < 0:
            raise EventError(
                f"{what} has an event at {values[-1]!r} after the sequence's "
                "reference time: features computed at the reference must not "
                "see later events. Drop the events after the reference."
            )
        j0 = len(self.numeric)
        block[:, j0 + self._features.index("log_age")] = np.log1p(age)
        block[:, j0 + self._features.index("log_recency")] = np.log1p(age[-1])
