"""Vocabularies of categorical columns: learned from flat Arrow values in
``fit``, used to encode them as integer ids in ``transform``.

Id 0 is padding and id 1 the unknown category; the category at position
``i`` of a vocabulary is id ``i + 2``.
"""

from __future__ import annotations

import hashlib
from numbers import Integral, Real

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "PAD_ID",
    "UNKNOWN_ID",
    "choose_categories",
    "encode",
    "learn_vocabulary",
    "merge_counts",
]

PAD_ID = 0
UNKNOWN_ID = 1


def learn_vocabulary(
    values: pa.Array, n_events: int, *, min_frequency, max_categories
) -> np.ndarray:
    """The categories kept for one column, most frequent first.

    ``min_frequency`` is a count, or a fraction of ``n_events`` when a float
    in (0, 1); ties in frequency are broken by value.

    Examples
    --------
    >>> import pyarrow as pa
    >>> values = pa.array(["b", "a", "b", "c"])
    >>> learn_vocabulary(values, 4, min_frequency=1, max_categories=2).tolist()
    ['b', 'a']
    """
    if len(values) == 0 or pa.types.is_null(values.type):
        return np.asarray([], dtype=object)
    return choose_categories(
        pc.value_counts(values), n_events,
        min_frequency=min_frequency, max_categories=max_categories,
    )


def merge_counts(a: pa.StructArray | None, b: pa.StructArray) -> pa.StructArray:
    """Sum two ``pyarrow.compute.value_counts`` results (``values``,
    ``counts``) into one, for vocabularies learned over several chunks.

    Examples
    --------
    >>> import pyarrow as pa, pyarrow.compute as pc
    >>> merged = merge_counts(pc.value_counts(pa.array(["a", "b"])),
    ...                       pc.value_counts(pa.array(["b"])))
    >>> sorted(zip(merged.field("values").to_pylist(),
    ...            merged.field("counts").to_pylist()))
    [('a', 1), ('b', 2)]
    """
    if a is None or len(a) == 0:
        return b
    if len(b) == 0:
        return a
    table = pa.table({
        "values": pa.concat_arrays([a.field("values"), b.field("values").cast(
            a.field("values").type)]),
        "counts": pa.concat_arrays([a.field("counts"), b.field("counts")]),
    })
    summed = table.group_by("values").aggregate([("counts", "sum")])
    return pa.StructArray.from_arrays(
        [summed.column("values").combine_chunks(),
         summed.column("counts_sum").combine_chunks().cast(pa.int64())],
        names=["values", "counts"],
    )


def choose_categories(
    counts: pa.StructArray, n_events: int, *, min_frequency, max_categories
) -> np.ndarray:
    """The vocabulary of a column from the counts of its values (a
    ``pyarrow.compute.value_counts`` result); see :func:`learn_vocabulary`."""
    if len(counts) == 0 or pa.types.is_null(counts.field("values").type):
        return np.asarray([], dtype=object)
    cats = counts.field("values").to_numpy(zero_copy_only=False)
    freq = np.asarray(counts.field("counts"), dtype=np.int64)
    threshold = min_frequency
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
    if max_categories is not None:
        order = order[:max_categories]
    return cats[order]


def encode(
    name: str, values: pa.Array, vocab: np.ndarray, *, handle_unknown: str
) -> np.ndarray:
    """Ids of flat ``values`` in ``vocab`` (int64); unknown values get id 1,
    or raise a ValueError naming the column with ``handle_unknown="error"``.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> vocab = np.array(["b", "a"], dtype=object)
    >>> encode("ev", pa.array(["a", "z", "b"]), vocab, handle_unknown="ignore")
    array([3, 1, 2])
    """
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
    if handle_unknown == "error" and pc.any(unknown).as_py():
        bad = pc.unique(values.filter(unknown))[:5].to_pylist()
        raise ValueError(
            f"Column {name!r} has categories unseen in fit (or left out of "
            f"the vocabulary by min_frequency/max_categories), e.g. {bad}. "
            "Use handle_unknown='ignore' to encode them as the unknown id 1."
        )
    ids = np.asarray(pc.fill_null(pos, -1), dtype=np.int64)
    return ids + 2 if not len(vocab) == 0 else np.full(len(ids), UNKNOWN_ID)


def vocabulary_fingerprint(vocabularies: dict) -> str:
    """A short digest of the channel names, order and vocabularies: equal
    for the same encoding, different (with overwhelming probability) for any
    other. Vectorized (``pandas.util.hash_array``), computed once in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> a = vocabulary_fingerprint({"item": np.array(["x", "y"], dtype=object)})
    >>> b = vocabulary_fingerprint({"item": np.array(["y", "x"], dtype=object)})
    >>> len(a), a == b
    (16, False)
    """
    digest = hashlib.sha256()
    for name, values in vocabularies.items():
        values = np.asarray(values)
        digest.update(f"{name}\x00{values.dtype.kind}\x00{len(values)}\x00".encode())
        digest.update(pd.util.hash_array(values, categorize=False).tobytes())
    return digest.hexdigest()[:16]

