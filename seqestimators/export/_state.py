"""The fitted state of a pipeline as plain data (JSON): what the
:class:`~seqestimators.export.NumpyEncoder` needs of the vectorizer, and
what turns the network's raw output into predictions."""

from __future__ import annotations

import re

import numpy as np

__all__ = ["FORMAT", "FORMAT_VERSION", "estimator_state", "vectorizer_state"]

#: name and version of the exported state
FORMAT = "seqestimators-export"
FORMAT_VERSION = 1


def _vocabulary(name: str, values: np.ndarray) -> dict:
    values = np.asarray(values)
    if values.dtype.kind == "b":
        return {"kind": "bool", "values": [bool(v) for v in values]}
    if values.dtype.kind in "iu":
        return {"kind": "int", "values": [int(v) for v in values]}
    if values.dtype.kind == "f":
        return {"kind": "float", "values": [float(v) for v in values]}
    if not len(values):
        return {"kind": "any", "values": []}
    if all(isinstance(v, str) for v in values):
        return {"kind": "str", "values": [str(v) for v in values]}
    kinds = sorted({type(v).__name__ for v in values})
    raise TypeError(
        f"Categorical column {name!r} holds {kinds} categories; export supports "
        "strings, integers, booleans and floats. Convert the column (e.g. to "
        "strings) before fitting the pipeline."
    )


def _time_kind(vec) -> tuple[str | None, str | None]:
    """``(kind, tz)`` of the time column, from ``time_type_``."""
    if vec.time_ is None:
        return None, None
    described = getattr(vec, "time_type_", None)
    if described is None or described in ("numbers (seconds)", "durations"):
        return "seconds", None
    if described.startswith("numbers ("):
        return "epoch", None
    if described == "datetimes (timezone-naive)":
        return "naive", None
    match = re.fullmatch(r"datetimes in (.+)", described)
    if match:
        return "aware", match.group(1)
    raise ValueError(f"Unknown time column type {described!r}.")


def _reference(vec) -> dict | None:
    """How each sequence's reference time is found: its own (``per_row``,
    under ``name``) or one for all (``seconds``)."""
    if "log_age" not in vec._time_features():
        return None
    ref = vec.reference_time
    columns = set(vec.feature_names_in_.tolist())
    if isinstance(ref, str) and ref in columns:
        return {"per_row": True, "name": ref}
    import pandas as pd
    import pyarrow as pa

    from ..data._sequences import values_to_seconds
    from ..preprocessing._reference import scalar_reference
    from ..preprocessing._time_features import epoch_to_datetime

    try:
        scalar = scalar_reference(ref, pd.DataFrame())
    except ValueError:  # a string naming an index level
        return {"per_row": True, "name": ref}
    arr = pa.array([scalar])
    if vec.time_unit is not None and not pa.types.is_timestamp(arr.type):
        arr = epoch_to_datetime(arr, vec.time_unit, "reference_time")
    return {"per_row": False, "seconds": float(values_to_seconds(arr, "ref")[0])}


def vectorizer_state(vec) -> dict:
    """The state of a fitted ``SequenceVectorizer`` as JSON-ready data.

    Parameters
    ----------
    vec : SequenceVectorizer
        Fitted.

    Returns
    -------
    dict
        Columns, vocabularies, time settings, truncation and scaling: the
        input of :class:`~seqestimators.export.NumpyEncoder`.

    Examples
    --------
    >>> import pandas as pd
    >>> from seqestimators import SequenceVectorizer
    >>> frame = pd.DataFrame({"event": [["view", "buy"], ["view"]]})
    >>> state = vectorizer_state(SequenceVectorizer().fit(frame))
    >>> state["vocabularies"]["event"]
    {'kind': 'str', 'values': ['view', 'buy']}
    """
    kind, tz = _time_kind(vec)
    return {
        "categorical": list(vec.categorical_),
        "numeric": list(vec.numeric_),
        "time": vec.time_,
        "vocabularies": {c: _vocabulary(c, v) for c, v in vec.vocabularies_.items()},
        "time_kind": kind,
        "time_unit": vec.time_unit if kind == "epoch" else None,
        "time_tz": tz,
        "time_features": vec._time_features(),
        "reference": _reference(vec),
        "max_len": None if vec.max_len is None else int(vec.max_len),
        "handle_unknown": vec.handle_unknown,
        "mean": [float(v) for v in vec.mean_],
        "scale": [float(v) for v in vec.scale_],
    }


def _label(value):
    return value.item() if isinstance(value, np.generic) else value


def estimator_state(est) -> dict:
    """What turns the network's raw outputs into the estimator's
    predictions: the classes, or the loss and target scaling.

    Parameters
    ----------
    est : fitted sequence classifier or regressor

    Returns
    -------
    dict

    Examples
    --------
    >>> import numpy as np
    >>> from seqestimators import LSTMSequenceRegressor
    >>> X = np.random.RandomState(0).normal(size=(20, 3, 1)).astype("float32")
    >>> reg = LSTMSequenceRegressor(hidden_size=2, max_epochs=1, random_state=0)
    >>> estimator_state(reg.fit(X, np.arange(20.0)))["task"]
    'regression'
    """
    name = type(est).__name__
    if hasattr(est, "classes_") and hasattr(est, "predict_proba"):
        return {"task": "classification", "estimator": name,
                "classes": [_label(c) for c in est.classes_]}
    if hasattr(est, "y_mean_"):
        return {"task": "regression", "estimator": name, "loss": est._fitted_loss,
                "y_mean": [float(v) for v in est.y_mean_],
                "y_scale": [float(v) for v in est.y_scale_],
                "y_ndim": int(est._y_ndim)}
    raise TypeError(
        f"export supports the sequence classifiers and regressors; got {name}. "
        "Recommenders are not exported yet."
    )
