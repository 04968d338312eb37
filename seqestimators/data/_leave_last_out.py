"""Leave-last-out splits for next-event evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..utils._compat import validate_params
from ..utils._validation import Int
from ._ops import segment_event_index
from ._sequences import check_sequence_frame, common_offsets, read_list_column

__all__ = ["leave_last_out"]


@validate_params(
    {
        "sequences": "no_validation",
        "target": [str],
        "n_last": [Int(1)],
        "min_history": [Int(1)],
    },
    prefer_skip_nested_validation=True,
)
def leave_last_out(
    sequences,
    target: str,
    *,
    n_last: int = 1,
    min_history: int = 1,
) -> tuple[pd.DataFrame, pd.Series]:
    """Split each sequence into its history and the event(s) held out after it.

    The standard protocol for next-event recommenders: fit on the histories
    (or on other users' full sequences), then ask for the next ``target``
    value after each history and compare with the held-out one.

    Parameters
    ----------
    sequences : pandas.DataFrame, polars.DataFrame, pyarrow.Table or path
        Sequence frame (see :func:`to_sequences`), as a pandas or polars
        DataFrame, a pyarrow Table, RecordBatch or Dataset, or the path of a
        Parquet file; polars and Arrow frames without a pandas index are
        indexed by row position. Not modified.
    target : str
        List column whose held-out value is the label (e.g. ``"item_id"``).
    n_last : int, default=1
        Hold out the last ``n_last`` events; the label is the first of them
        (the event right after the history). ``n_last=2`` gives a validation
        split: histories end two events early.
    min_history : int, default=1
        Sequences with fewer than ``min_history + n_last`` events are left out.

    Returns
    -------
    history : pandas.DataFrame
        The sequence frame without the held-out events, same columns and
        index (rows too short are dropped).
    y : pandas.Series
        The ``target`` value of the first held-out event, indexed like
        ``history``.

    Examples
    --------
    >>> import pandas as pd
    >>> from seqestimators import leave_last_out
    >>> seqs = pd.DataFrame({"item": [["a", "b", "c"], ["d"], ["e", "f"]]},
    ...                     index=pd.Index([1, 2, 3], name="user_id"))
    >>> history, y = leave_last_out(seqs, "item")
    >>> history["item"].tolist(), y.tolist()
    ([['a', 'b'], ['e']], ['c', 'f'])
    """
    name = "leave_last_out"
    sequences = check_sequence_frame(sequences, caller=name)
    if target not in sequences.columns:
        raise ValueError(
            f"target column {target!r} is not in the sequence frame; columns are "
            f"{list(sequences.columns)}."
        )
    cols = {c: read_list_column(sequences, c, caller=name) for c in sequences.columns}
    offsets = common_offsets(list(cols.values()), sequences.index, caller=name)
    lengths = np.diff(offsets)
    rows = np.flatnonzero(lengths >= min_history + n_last)
    if not len(rows):
        raise ValueError(
            f"No sequence has at least min_history + n_last = "
            f"{min_history + n_last} events; nothing can be held out."
        )
    keep = lengths[rows] - n_last
    new_offsets, gather = segment_event_index(offsets[rows], keep)
    gather, pa_offsets = pa.array(gather), pa.array(new_offsets)
    data = {
        c: pd.arrays.ArrowExtensionArray(
            pa.LargeListArray.from_arrays(pa_offsets, col.values.take(gather))
        )
        for c, col in cols.items()
    }
    index = sequences.index[rows]
    labels = cols[target].values.take(pa.array(offsets[rows] + keep))
    y = pd.Series(labels.to_numpy(zero_copy_only=False), index=index, name=target)
    return pd.DataFrame(data, index=index), y
