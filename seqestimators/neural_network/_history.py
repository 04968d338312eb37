"""The training history as a DataFrame: the estimators' ``history_``.

skorch records a :class:`skorch.callbacks.History` (``net_.history``): one
dict per epoch with its per-batch entries. ``history_`` is what people look
at: a :class:`pandas.DataFrame` with one row per epoch and a stable set of
columns, whatever ran.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["HISTORY_COLUMNS", "history_frame"]

#: the columns every ``history_`` has, in this order; NaN where an epoch did
#: not record the value (``valid_*`` without validation data)
HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_score", "dur")

#: per-epoch entries left out: the per-batch records, and skorch's running
#: "best so far" flags (``best`` marks the restored epoch instead)
_LEFT_OUT = ("batches",)


def history_frame(history, best_epoch: int | None, *, score: bool = True):
    """``history`` (skorch History, or a list of per-epoch dicts) as a frame.

    One row per epoch: ``epoch`` (1-based, counting on across warm starts),
    ``train_loss``, ``valid_loss``, ``valid_score`` (left out when ``score``
    is False), ``dur`` (seconds), ``best`` (True on ``best_epoch``, the epoch
    whose weights the model holds), then the other scalar entries recorded
    (batch counts, the learning rate of a scheduler, ...).
    """
    rows = [
        {
            k: v
            for k, v in row.items()
            if k not in _LEFT_OUT and not k.endswith("_best") and _is_scalar(v)
        }
        for row in history
    ]
    core = [c for c in HISTORY_COLUMNS if score or c != "valid_score"]
    frame = pd.DataFrame.from_records(rows, columns=_columns(rows, core))
    frame = frame.astype({c: "float64" for c in core if c != "epoch"})
    frame["epoch"] = frame["epoch"].astype("int64")
    best = -1 if best_epoch is None else int(best_epoch)
    frame.insert(len(core), "best", frame["epoch"].to_numpy() == best)
    return frame


def _columns(rows: list[dict], core: list[str]) -> list[str]:
    extra = dict.fromkeys(k for row in rows for k in row if k not in core)
    return [*core, *extra]


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool | np.generic)
