"""Checks of the estimators' parameters and of X against the fitted input.

- parameter constraints that scikit-learn's do not express: integers that are
  not bools, lists of skorch callbacks; numpy scalars become Python ones;
- categorical ids within the cardinalities;
- the input signature: X must come from the vectorizer the model was fitted
  with (same channels, names, cardinalities and vocabularies);
- a warm start may not change the architecture.
"""

from __future__ import annotations

import numpy as np
from skorch.callbacks import Callback

from ..data._ragged import RaggedSequences
from ..utils._compat import HasMethods
from ..utils._validation import Int

__all__ = [
    "ARCHITECTURE",
    "CallbackList",
    "IntNotBool",
    "check_architecture",
    "check_ids_in_range",
    "check_signature",
    "python_params",
]

#: parameters that shape the network: a warm start cannot change them
ARCHITECTURE = (
    "hidden_size", "num_layers", "bidirectional", "cell", "embedding_dim",
    "dropout", "pooling", "bag_pooling", "wide", "wide_ngrams", "ensemble_size",
)


#: integer constraint that refuses bools (``max_epochs=True`` is not 1 epoch):
#: the library's one integer rule, :func:`seqestimators.utils._validation.Int`
IntNotBool = Int


class CallbackList(HasMethods):
    """A list of skorch ``Callback`` instances or ``(name, Callback)`` tuples."""

    def __init__(self):
        super().__init__([])

    def is_satisfied_by(self, val):
        return isinstance(val, list) and all(map(_is_callback_entry, val))

    def __str__(self):
        return (
            "a list of skorch Callback instances or (name, Callback) tuples "
            "with a str name"
        )


def _is_callback_entry(entry) -> bool:
    if isinstance(entry, tuple):
        return (
            len(entry) == 2
            and isinstance(entry[0], str)
            and isinstance(entry[1], Callback)
        )
    return isinstance(entry, Callback)


def _as_python(value):
    """numpy scalars (np.int64 from np.arange in a grid, np.float64, np.bool_)
    as the Python scalars torch expects."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def python_params(estimator) -> dict:
    """The estimator's parameters, numpy scalars converted to Python ones."""
    return {
        k: _as_python(v) for k, v in estimator.get_params(deep=False).items()
    }


def check_ids_in_range(
    Xr: RaggedSequences, cardinalities, name: str, *, fitted: bool = False
) -> None:
    """Raise if a categorical id lies outside ``[0, cardinality)``: the
    embedding would fail with an opaque IndexError."""
    if not (Xr.n_categorical and Xr.n_events):
        return
    cat = Xr.categorical
    # small inputs (online prediction): two whole-array reductions are the
    # cheapest proof that every id is valid
    if cat.size <= 4096 and cat.min() >= 0 and cat.max() < min(cardinalities):
        return
    hi = cat.max(axis=0)
    lo = cat.min(axis=0)
    card = np.asarray(cardinalities)
    bad = np.flatnonzero((hi >= card) | (lo < 0))
    if not len(bad):
        return
    i = int(bad[0])
    found = (
        f"Categorical channel {i} ({Xr.categorical_names[i]!r}) has ids in "
        f"[{lo[i]}, {hi[i]}]"
    )
    if fitted:
        raise ValueError(
            f"{found}, but {name} was fitted with ids in [0, {card[i] - 1}]. Ids "
            "beyond the fitted vocabulary cannot be embedded: encode X with the "
            "SequenceVectorizer fitted with this model (unseen categories become "
            "the unknown id 1)."
        )
    raise ValueError(
        f"{found}, outside [0, {card[i] - 1}] given by its cardinality {card[i]}. "
        "Ids must be non-negative and below the channel's cardinality (0 is "
        "padding, 1 unknown); build X with SequenceVectorizer."
    )


_REENCODE = (
    "X must be encoded by the SequenceVectorizer fitted with this model; "
    "a vectorizer fitted on other data (another vocabulary) gives the same ids "
    "other meanings. Transform X with the fitted pipeline's vectorizer, or "
    "refit the model."
)


def check_signature(Xr: RaggedSequences, kind: str, sig: dict, name: str) -> None:
    """Raise if X does not have the channels, names, cardinalities and
    vocabularies of the fitted input ``sig`` (see ``describe_input``)."""
    if Xr.n_categorical != sig["n_categorical"] or Xr.n_numeric != sig["n_numeric"]:
        raise ValueError(
            f"X has {Xr.n_categorical} categorical and {Xr.n_numeric} numeric "
            f"channels, but {name} was fitted with {sig['n_categorical']} "
            f"categorical and {sig['n_numeric']} numeric channels. Transform X "
            "with the vectorizer fitted with this model."
        )
    if kind == "ragged" and sig.get("kind") == "ragged":
        _check_names(Xr, sig, name)
        _check_cardinalities(Xr, sig, name)
        fitted = sig.get("vocabulary_fingerprint")
        given = getattr(Xr, "vocabulary_fingerprint", None)
        if fitted is not None and given is not None and fitted != given:
            raise ValueError(
                f"X was encoded with other vocabularies than the data {name} "
                f"was fitted on (fingerprint {given!r}, fitted {fitted!r}). "
                + _REENCODE
            )
    check_ids_in_range(Xr, sig["cardinalities"], name, fitted=True)


def _check_names(Xr: RaggedSequences, sig: dict, name: str) -> None:
    for kind in ("categorical", "numeric"):
        fitted = sig.get(f"{kind}_names")
        given = channel_names(Xr, kind)
        if fitted is not None and given is not None and list(given) != fitted:
            raise ValueError(
                f"X has the {kind} channels {list(given)}, but {name} was "
                f"fitted with {fitted} (names and order must match). " + _REENCODE
            )


def _check_cardinalities(Xr: RaggedSequences, sig: dict, name: str) -> None:
    fitted = np.asarray(sig["cardinalities"], dtype=np.int64)
    given = np.asarray(Xr.cardinalities, dtype=np.int64)
    differ = np.flatnonzero(given != fitted)
    if not len(differ):
        return
    # a RaggedSequences built without cardinalities infers max id + 1 (at
    # least 2): such channels say nothing about the vocabulary
    if Xr.n_events:
        inferred = np.maximum(Xr.categorical[:, differ].max(axis=0) + 1, 2)
    else:
        inferred = np.full(len(differ), 2)
    declared = differ[given[differ] != inferred]
    if not len(declared):
        return
    i = int(declared[0])
    raise ValueError(
        f"Categorical channel {i} ({Xr.categorical_names[i]!r}) of X has "
        f"cardinality {given[i]}, but {name} was fitted with cardinality "
        f"{fitted[i]}. " + _REENCODE
    )


def channel_names(Xr: RaggedSequences, kind: str) -> tuple | None:
    """The channel names of X, None where they are the generated defaults
    (``cat0``, ``num0``...: inputs without names)."""
    names = tuple(getattr(Xr, f"{kind}_names"))
    prefix = "cat" if kind == "categorical" else "num"
    if names == tuple(f"{prefix}{i}" for i in range(len(names))):
        return None
    return names


def check_architecture(fitted: dict, wanted: dict, name: str) -> None:
    """Refuse a warm start whose parameters describe another network.

    ``fitted`` and ``wanted`` are keyword arguments of ``SequenceNet``."""
    changed = [k for k in wanted if k in fitted and fitted[k] != wanted[k]]
    if not changed:
        return
    pairs = ", ".join(f"{k}: {fitted[k]!r} -> {wanted[k]!r}" for k in changed)
    raise ValueError(
        f"warm_start=True continues training the fitted network of {name}, but "
        f"parameters that define its architecture changed ({pairs}). Set them "
        "back to the fitted values, or set warm_start=False to train a new "
        "network."
    )


