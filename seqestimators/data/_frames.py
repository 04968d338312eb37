"""One rule for the frames the data layer accepts.

Event logs and sequence frames arrive as pandas DataFrames, polars DataFrames
(or LazyFrames), pyarrow Tables, RecordBatches and Datasets, or the path of a
Parquet file. :func:`as_pandas_frame` turns each of them into the pandas frame
the rest of the library works on:

- a pandas DataFrame is returned as it is (never copied, never modified);
- a polars LazyFrame is collected first;
- everything else goes through Arrow: ``polars.DataFrame.to_arrow``,
  ``Dataset.to_table``, ``pyarrow.parquet.read_table``, then
  ``Table.to_pandas``. Scalar columns get pandas' usual dtypes, as if the frame
  had been built in pandas; list columns stay Arrow-backed
  (``pandas.ArrowDtype``), so a sequence frame's list cells are read as flat
  values and offsets, never as Python objects. The pandas index stored in an
  Arrow schema (a Parquet file written by pandas) is restored; other inputs
  get a ``RangeIndex``.

polars is optional: it is never imported here. Its frames are recognised by
the module of their type, and their own methods convert them.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ACCEPTED", "as_pandas_frame", "type_name"]

#: the accepted inputs, as error messages name them
ACCEPTED = (
    "a pandas DataFrame, a polars DataFrame or LazyFrame, a pyarrow Table, "
    "RecordBatch or Dataset, or the path of a Parquet file"
)

#: what to do with the usual wrong inputs, by type name
_HINTS = {
    "list": "wrap records in pd.DataFrame(records) (or polars.DataFrame)",
    "dict": "wrap a dict of columns in pd.DataFrame(columns)",
    "numpy.ndarray": "wrap an array in pd.DataFrame(array, columns=[...])",
    "pandas.Series": "turn a Series into a frame with series.to_frame()",
    "polars.Series": "turn a Series into a frame with series.to_frame()",
}
#: hints that win over the caller's: what scikit-learn's splitters make of
#: the rows of a RecordBatch
_SPLIT_HINTS = {
    "pyarrow.StructArray": "scikit-learn splits a RecordBatch into a "
    "StructArray; pass a Table instead (pa.Table.from_batches([batch]))",
}


def type_name(obj) -> str:
    """The type of ``obj`` as an error message names it: ``list``,
    ``numpy.ndarray``, ``polars.DataFrame``.

    Examples
    --------
    >>> import numpy as np
    >>> type_name([1]), type_name(np.zeros(2)), type_name(None)
    ('list', 'numpy.ndarray', 'NoneType')
    """
    t = type(obj)
    module = t.__module__.split(".")[0]
    return t.__qualname__ if module == "builtins" else f"{module}.{t.__qualname__}"


def _is_polars(obj, *names: str) -> bool:
    """Whether ``obj`` is one of polars' ``names`` classes (or a subclass),
    without importing polars."""
    return any(
        c.__module__.split(".")[0] == "polars" and c.__name__ in names
        for c in type(obj).__mro__
    )


def _is_dataset(obj) -> bool:
    """Whether ``obj`` is a ``pyarrow.dataset.Dataset`` (that module is
    loaded by whoever made one)."""
    ds = sys.modules.get("pyarrow.dataset")
    return ds is not None and isinstance(obj, ds.Dataset)


def as_pandas_frame(
    obj, *, name: str = "events", what: str = "", hint: str | None = None
) -> pd.DataFrame:
    """``obj`` as a pandas DataFrame; TypeError naming its type otherwise.

    Parameters
    ----------
    obj : object
        The frame received: see the module docstring for what is accepted.
        Not modified.
    name : str, default="events"
        How the error message names the argument.
    what : str, default=""
        The start of the error message; empty gives ``"<name> must be"``.
    hint : str, default=None
        What to do, ending the error message; None picks one by the type
        received (how to make a frame of a list, a dict, an array, a Series).

    Returns
    -------
    frame : pandas.DataFrame
        ``obj`` itself when it is a pandas DataFrame, else a new frame.

    Examples
    --------
    >>> import pyarrow as pa
    >>> as_pandas_frame(pa.table({"user_id": [1, 2], "event": ["view", "buy"]}))
       user_id event
    0        1  view
    1        2   buy
    >>> as_pandas_frame([{"user_id": 1}])
    Traceback (most recent call last):
    ...
    TypeError: events must be a pandas DataFrame, a polars DataFrame or \
LazyFrame, a pyarrow Table, RecordBatch or Dataset, or the path of a Parquet \
file; got list instead: wrap records in pd.DataFrame(records) (or \
polars.DataFrame).
    """
    if isinstance(obj, pd.DataFrame):
        return obj
    table = _as_table(obj, name)
    if table is None:
        received = type_name(obj)
        hint = _SPLIT_HINTS.get(received) or hint or _HINTS.get(received)
        raise TypeError(
            f"{what or f'{name} must be'} {ACCEPTED}; got {received} instead"
            + (f": {hint}." if hint else ".")
        )
    return _to_pandas(_plain_views(table))


def _as_table(obj, name: str) -> pa.Table | None:
    """``obj`` as an Arrow table; None for an input that is not accepted."""
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    if _is_dataset(obj):
        return obj.to_table()
    if _is_polars(obj, "LazyFrame"):
        obj = obj.collect()
    if _is_polars(obj, "DataFrame"):
        return obj.to_arrow()
    if isinstance(obj, str | os.PathLike):
        return _read_parquet(obj, name)
    return None


def _read_parquet(path, name: str) -> pa.Table:
    import pyarrow.parquet as pq

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{name} is the path {path!r}, which does not exist. A path must name "
            "a Parquet file (or a folder of them)."
        )
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(
            f"{name} is the path {path!r}, which could not be read as Parquet "
            f"({exc}). Read other formats yourself, e.g. with pd.read_csv, and "
            "pass the frame."
        ) from None


# ------------------------------------------------------------ Arrow types
def _plain_type(t: pa.DataType) -> pa.DataType:
    """``t`` with Arrow's view types (string_view, list_view, ...) as the
    large types the readers of this package know, inside lists too."""
    if _is(t, "is_string_view"):
        return pa.large_string()
    if _is(t, "is_binary_view"):
        return pa.large_binary()
    if _is(t, "is_list_view") or _is(t, "is_large_list_view"):
        return pa.large_list(_plain_type(t.value_type))
    if pa.types.is_list(t):
        return pa.list_(_plain_type(t.value_type))
    if pa.types.is_large_list(t):
        return pa.large_list(_plain_type(t.value_type))
    if pa.types.is_fixed_size_list(t):
        return pa.list_(_plain_type(t.value_type), t.list_size)
    return t


def _is(t: pa.DataType, check: str) -> bool:
    # view types appeared in pyarrow 16; older versions have none
    test = getattr(pa.types, check, None)
    return test is not None and test(t)


def _plain_views(table: pa.Table) -> pa.Table:
    fields = [f.with_type(_plain_type(f.type)) for f in table.schema]
    if all(f.type == g.type for f, g in zip(fields, table.schema)):
        return table
    columns = [
        _plain_column(col, f.type) if f.type != col.type else col
        for col, f in zip(table.columns, fields)
    ]
    return pa.Table.from_arrays(
        columns, schema=pa.schema(fields, metadata=table.schema.metadata)
    )


def _plain_column(col: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    """``col`` cast to ``target``; list views rebuilt from their lengths, as
    pyarrow's cast from a list view to a list garbles the last offset."""
    if _is(col.type, "is_list_view") or _is(col.type, "is_large_list_view"):
        chunks = [_from_list_view(chunk) for chunk in col.chunks]
        col = pa.chunked_array(chunks, type=pa.large_list(col.type.value_type))
    return col.cast(target)


def _from_list_view(arr: pa.Array) -> pa.LargeListArray:
    lengths = np.asarray(pc.list_value_length(arr).fill_null(0), dtype=np.int64)
    offsets = np.zeros(len(arr) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    mask = arr.is_null() if arr.null_count else None
    return pa.LargeListArray.from_arrays(
        pa.array(offsets), arr.flatten(), mask=mask
    )


def _is_nested_list(t: pa.DataType) -> bool:
    return (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
    )


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Usual pandas dtypes for scalar columns; ``pandas.ArrowDtype`` for list
    columns and for the columns that were ArrowDtype when pandas wrote the
    table (read from its pandas metadata, which pandas itself fails to parse
    for parametrized types such as ``large_list<timestamp[ns]>[pyarrow]``)."""
    arrow_typed = set()
    meta = table.schema.pandas_metadata or {}
    for col in meta.get("columns", []):
        field = col.get("field_name", col.get("name"))
        if str(col.get("numpy_type", "")).endswith("[pyarrow]"):
            if field in table.schema.names:
                arrow_typed.add(table.schema.field(field).type)

    def mapper(t: pa.DataType):
        return pd.ArrowDtype(t) if _is_nested_list(t) or t in arrow_typed else None

    return table.to_pandas(types_mapper=mapper)
