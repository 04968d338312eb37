"""Next-event samples: every prefix of a sequence, labelled by the event after it."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.utils import check_random_state

from ..utils._compat import validate_params
from ..utils._validation import Int
from ._sequences import check_sequence_frame, common_offsets, read_list_column
from ._validation import RANDOM_STATE

__all__ = ["make_next_event_samples"]


@validate_params(
    {
        "sequences": "no_validation",
        "target": [Hashable],
        "min_prefix": [Int(1)],
        "max_per_entity": [Int(1), None],
        "random_state": RANDOM_STATE,
    },
    prefer_skip_nested_validation=True,
)
def make_next_event_samples(
    sequences,
    target: str,
    *,
    min_prefix: int = 1,
    max_per_entity: int | None = None,
    random_state=None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Turn sequences into (prefix -> next event) samples.

    A sequence of length ``L`` gives the prefixes of length ``min_prefix`` to
    ``L - 1``; the label of a prefix of length ``p`` is the ``target`` value
    of event ``p`` (0-based), the event right after it.

    Parameters
    ----------
    sequences : pandas.DataFrame, polars.DataFrame, pyarrow.Table or path
        Sequence frame (see :func:`to_sequences`), as a pandas or polars
        DataFrame, a pyarrow Table, RecordBatch or Dataset, or the path of a
        Parquet file; polars and Arrow frames without a pandas index are
        indexed by row position. Not modified.
    target : str
        List column whose next value is the label (e.g. ``"event_type"``).
    min_prefix : int, default=1
        Shortest prefix kept.
    max_per_entity : int, default=None
        Keep at most this many prefixes per entity, drawn at random (long
        sequences would otherwise dominate: their samples grow with ``L``).
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of ``max_per_entity``.

    Returns
    -------
    prefixes : pandas.DataFrame
        Sequence frame of the prefixes, indexed by ``(entity, "prefix_len")``.
        Use the entity level as ``groups`` for ``GroupKFold``.
    y : ndarray
        The next ``target`` value of each prefix.

    Notes
    -----
    Vectorized: one gather per column builds all prefixes; memory grows with
    the sum of the prefix lengths, so cap long sequences with
    ``max_per_entity`` or shorten them first (``max_len`` keeps only recent
    events at vectorizing time anyway).

    Examples
    --------
    >>> import pandas as pd
    >>> from seqestimators import make_next_event_samples
    >>> seqs = pd.DataFrame({"event": [["view", "cart", "buy"], ["view"]]},
    ...                     index=pd.Index([1, 2], name="user_id"))
    >>> prefixes, y = make_next_event_samples(seqs, "event")
    >>> prefixes["event"].tolist(), y.tolist()
    ([['view'], ['view', 'cart']], ['cart', 'buy'])
    """
    name = "make_next_event_samples"
    sequences = check_sequence_frame(sequences, caller=name)
    cols = {c: read_list_column(sequences, c, caller=name) for c in sequences.columns}
    if target not in cols:
        raise ValueError(
            f"target column {target!r} is not in the sequence frame; columns are "
            f"{list(sequences.columns)}."
        )
    offsets = common_offsets(list(cols.values()), sequences.index, caller=name)
    lengths = np.diff(offsets)
    # one sample per (row, prefix length p), p in [min_prefix, L - 1]
    n_prefixes = np.maximum(lengths - min_prefix, 0)
    row = np.repeat(np.arange(len(lengths)), n_prefixes)
    first = np.repeat(np.cumsum(n_prefixes) - n_prefixes, n_prefixes)
    p = np.arange(len(row)) - first + min_prefix
    if max_per_entity is not None and len(row):
        rng = check_random_state(random_state)
        key = rng.random_sample(len(row))
        order = np.lexsort((key, row))
        rank = np.empty(len(row), dtype=np.int64)
        rank[order] = np.arange(len(row)) - np.repeat(
            np.cumsum(n_prefixes) - n_prefixes, n_prefixes
        )
        keep = rank < max_per_entity
        row, p = row[keep], p[keep]
    if len(row) == 0:
        raise ValueError(
            f"No sequence is longer than min_prefix={min_prefix}: there is no "
            "prefix with a next event. Lower min_prefix or pass longer sequences."
        )
    starts = offsets[row]
    new_offsets = np.zeros(len(row) + 1, dtype=np.int64)
    np.cumsum(p, out=new_offsets[1:])
    gather = pa.array(
        np.arange(int(new_offsets[-1]), dtype=np.int64)
        + np.repeat(starts - new_offsets[:-1], p)
    )
    data = {}
    for c, col in cols.items():
        values = col.values.take(gather)
        data[c] = pd.arrays.ArrowExtensionArray(
            pa.LargeListArray.from_arrays(pa.array(new_offsets), values)
        )
    index = pd.MultiIndex.from_arrays(
        [sequences.index[row], p],
        names=[sequences.index.name or "entity", "prefix_len"],
    )
    prefixes = pd.DataFrame(data, index=index)
    y = cols[target].values.take(pa.array(starts + p)).to_numpy(zero_copy_only=False)
    return prefixes, y
