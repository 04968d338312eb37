"""Everything the estimators accept as X, turned into RaggedSequences.

Accepted inputs (one sample = one sequence):

- :class:`RaggedSequences`, the output of :class:`SequenceVectorizer`;
- its padded form, a dict ``{"categorical": (n, L, c) ints, "numeric":
  (n, L, d) floats, "lengths": (n,) ints}`` (one of categorical/numeric may
  be left out);
- a 3-D float array ``(n, L, d)``: ``n`` sequences of ``L`` steps with ``d``
  numeric channels, all of length ``L``;
- a 2-D float array ``(n, L)``: ``n`` univariate sequences of ``L`` steps.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.sparse import issparse
from sklearn.utils.validation import check_array

from ..data._ragged import RaggedSequences

__all__ = ["as_ragged", "describe_input"]


def _padded_to_ragged(X: Mapping, caller: str) -> RaggedSequences:
    allowed = {"categorical", "numeric", "lengths"}
    extra = set(X) - allowed
    if extra:
        raise ValueError(
            f"{caller} got a dict with unexpected keys {sorted(extra)}; expected "
            "'categorical' and/or 'numeric', and 'lengths' (the padded output of "
            "RaggedSequences.to_padded())."
        )
    if "lengths" not in X:
        raise ValueError(
            f"{caller} got a dict without the 'lengths' key. A padded input needs "
            "'lengths' (n,) and 'categorical' (n, L, c) and/or 'numeric' (n, L, d), "
            "as returned by RaggedSequences.to_padded()."
        )
    if "categorical" not in X and "numeric" not in X:
        raise ValueError(
            f"{caller} got a dict with neither 'categorical' nor 'numeric'; at "
            "least one is required."
        )
    lengths = _padded_lengths(X["lengths"])
    n = len(lengths)
    arrays = {}
    for key in ("categorical", "numeric"):
        if key not in X:
            continue
        arr = np.asarray(X[key])
        if arr.ndim != 3 or arr.shape[0] != n:
            raise ValueError(
                f"'{key}' must have shape (n, L, channels) with n = len(lengths) = "
                f"{n}; got shape {arr.shape}."
            )
        arrays[key] = arr
    widths = {a.shape[1] for a in arrays.values()}
    if len(widths) > 1:
        raise ValueError(
            "'categorical' and 'numeric' have different padded lengths "
            f"{sorted(widths)}; both must be (n, L, ...) with the same L."
        )
    L = widths.pop()
    if n and (lengths.min() < 0 or lengths.max() > L):
        raise ValueError(
            f"'lengths' must lie in [0, {L}] (the padded length); got values in "
            f"[{lengths.min()}, {lengths.max()}]."
        )
    mask = np.arange(L)[None, :] < lengths[:, None]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    cat = arrays.get("categorical")
    if cat is not None:
        if not np.issubdtype(cat.dtype, np.integer):
            raise TypeError(
                f"'categorical' must hold integer ids; got dtype {cat.dtype}."
            )
        cat = cat[mask]
    num = arrays.get("numeric")
    if num is not None:
        num = _as_float(num, caller)[mask]
    return RaggedSequences(offsets, cat, num)


def _padded_lengths(lengths) -> np.ndarray:
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(
            f"'lengths' must be a 1-D integer array; got shape {lengths.shape} and "
            f"dtype {lengths.dtype}."
        )
    return lengths


def _as_float(arr: np.ndarray, caller: str) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{caller} expects numeric values; got an array of dtype {arr.dtype}."
        )
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(
            f"Input contains NaN or infinity; {caller} needs finite numeric values. "
            "Fill or drop missing values first (e.g. with SimpleImputer)."
        )
    return arr


def as_ragged(X, *, caller: str, estimator=None, reset: bool = True):
    """Convert any accepted X to ``(RaggedSequences, kind)``.

    ``kind`` is "ragged", "padded", "array3d" or "array2d". 2-D arrays go
    through scikit-learn's ``validate_data`` on ``estimator`` so that
    ``n_features_in_`` (the fixed sequence length) and feature names follow
    scikit-learn's rules.
    """
    if isinstance(X, RaggedSequences):
        if X.n_numeric and not np.isfinite(X.numeric).all():
            raise ValueError(
                f"Input contains NaN or infinity; {caller} needs finite numeric "
                "values."
            )
        if len(X) == 0:
            raise ValueError(f"{caller} got 0 sequences; at least 1 is required.")
        return X, "ragged"
    if isinstance(X, Mapping) and not issparse(X):
        out = _padded_to_ragged(X, caller)
        if len(out) == 0:
            raise ValueError(f"{caller} got 0 sequences; at least 1 is required.")
        return out, "padded"
    if isinstance(X, pd.DataFrame) and X.shape[1] and any(
        isinstance(X[c].dtype, pd.ArrowDtype) or X[c].dtype == object
        for c in X.columns
    ):
        raise TypeError(
            f"{caller} got a DataFrame with list or object columns. Vectorize "
            "sequence frames first: Pipeline([('vec', SequenceVectorizer()), "
            f"('model', {caller}())]) or SequenceVectorizer().fit_transform(X)."
        )
    ndim = getattr(X, "ndim", None)
    if ndim is None and not issparse(X):
        ndim = np.asarray(X, dtype=object).ndim
    if ndim is not None and ndim > 3:
        raise ValueError(
            f"{caller} got an array with {ndim} dimensions (shape "
            f"{np.shape(X)}). Expected sequences as a 3-D array (n_sequences, "
            "n_steps, n_channels), a 2-D array (n_sequences, n_steps), a "
            "RaggedSequences or a padded dict."
        )
    if ndim == 3:
        arr = check_array(
            X,
            allow_nd=True,
            dtype=[np.float32, np.float64],
            ensure_all_finite=True,
            input_name="X",
            estimator=caller,
        )
        n, L, d = arr.shape
        if L == 0 or d == 0:
            raise ValueError(
                f"{caller} got a 3-D array of shape {arr.shape}; each sequence needs "
                "at least one step and one channel."
            )
        offsets = np.arange(n + 1, dtype=np.int64) * L
        return RaggedSequences(offsets, None, arr.reshape(n * L, d)), "array3d"
    if estimator is not None:
        from sklearn.utils.validation import validate_data

        arr = validate_data(
            estimator,
            X,
            reset=reset,
            dtype=[np.float32, np.float64],
            ensure_all_finite=True,
        )
    else:
        arr = check_array(X, dtype=[np.float32, np.float64], estimator=caller)
    n, L = arr.shape
    offsets = np.arange(n + 1, dtype=np.int64) * L
    return RaggedSequences(offsets, None, arr.reshape(n * L, 1)), "array2d"


def describe_input(X: RaggedSequences, kind: str) -> dict:
    """The input signature that must match between fit and predict
    (``check_signature``): channel counts and cardinalities, and for a
    :class:`RaggedSequences` (``kind="ragged"``) its channel names (None when
    generated) and the fingerprint of its vocabularies, when it carries one
    (``vocabulary_fingerprint``)."""
    from ._validation import channel_names

    ragged = kind == "ragged"
    names = {
        f"{k}_names": list(channel_names(X, k) or ()) or None if ragged else None
        for k in ("categorical", "numeric")
    }
    return {
        "n_categorical": X.n_categorical,
        "n_numeric": X.n_numeric,
        "cardinalities": list(X.cardinalities),
        "kind": kind,
        **names,
        "vocabulary_fingerprint": getattr(X, "vocabulary_fingerprint", None)
        if ragged
        else None,
    }
