"""Permutation importance of the channels (columns) of a sequence frame."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.utils import Bunch, check_random_state

from ..data._sequences import _is_list_type
from ..utils._compat import HasMethods, Interval, StrOptions, validate_params

__all__ = ["permutation_importance"]

#: below this share of rows that can move, a channel's importance is flagged
#: as understated
_MIN_MOVABLE_SHARE = 0.5


@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": [pd.DataFrame],
        "y": ["array-like", None],
        "channels": [list, tuple, None],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def permutation_importance(
    estimator, X, y, *, channels=None, scoring=None, n_repeats=5, random_state=None
):
    """Permutation importance of each channel of a sequence frame.

    For each channel (column of ``X``), the score of the fitted ``estimator``
    drops by how much when the channel's lists are handed to other rows:
    ``importance = baseline score - score with the channel permuted``, over
    ``n_repeats`` permutations. Unlike
    :func:`sklearn.inspection.permutation_importance`, which moves each list
    to a row of another length (and the estimator rejects the frame), a list
    moves only to a row **of the same length**:

    - each row keeps one value per event in every channel, so the other
      channels stay aligned with the moved one, event by event;
    - each moved list keeps its events together and in order: what the
      model loses is the channel's sequence as a whole, as a scalar feature
      is lost in scikit-learn's version;
    - no event is invented or dropped. Cutting or padding lists to fit
      another row would change the sequence lengths (which the models read)
      or insert made-up events, and the importance would mix the channel's
      content with that artificial change.

    The result is thus the importance of a channel *given the sequence
    lengths* (a conditional permutation importance). A row whose length no
    other row shares keeps its own list; ``permuted_fraction`` reports the
    share of rows that can move, and a ``UserWarning`` says when it is below
    one half (the importance is then understated: score on more rows).
    Columns that do not hold lists (e.g. a reference time per row) are
    permuted over all rows, as scikit-learn does.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator or Pipeline that takes the sequence frame ``X``,
        e.g. ``make_pipeline(SequenceVectorizer(), LSTMSequenceClassifier())``.
    X : pandas.DataFrame
        Sequence frame (see :func:`seqestimators.to_sequences`): one row per
        entity, list columns of equal length in each row. Not modified.
    y : array-like of shape (n_samples,) or None
        Targets, passed to the scorer.
    channels : list of str or None, default=None
        Columns to permute, one at a time; None permutes every column.
    scoring : str, callable or None, default=None
        A scikit-learn scorer name, a callable ``scorer(estimator, X, y)``, or
        None for ``estimator.score``.
    n_repeats : int, default=5
        Permutations per channel.
    random_state : int, RandomState instance or None, default=None
        Seed of the permutations.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``importances`` of shape (n_channels, n_repeats),
        ``importances_mean`` and ``importances_std`` of shape (n_channels,),
        as in scikit-learn; ``channels`` (the column of each row of those
        arrays), ``baseline_score`` and ``permuted_fraction`` (per channel,
        the share of rows whose length another row shares).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from seqestimators import (LSTMSequenceClassifier, SequenceVectorizer,
    ...                            permutation_importance, to_sequences)
    >>> from seqestimators.datasets import make_event_log
    >>> events, targets = make_event_log(n_users=200, random_state=0)
    >>> X = to_sequences(events, columns=["timestamp", "event_type", "price"])
    >>> y = targets.loc[X.index, "will_buy"].to_numpy()
    >>> pipe = make_pipeline(SequenceVectorizer(), LSTMSequenceClassifier(
    ...     hidden_size=4, max_epochs=2, random_state=0)).fit(X, y)
    >>> result = permutation_importance(pipe, X, y, n_repeats=2, random_state=0)
    >>> list(result.channels), result.importances.shape
    (['timestamp', 'event_type', 'price'], (3, 2))
    """
    names = _channel_names(X, channels)
    scorer = check_scoring(estimator, scoring=scoring)
    rng = check_random_state(random_state)
    baseline = float(scorer(estimator, X, y))
    importances = np.empty((len(names), n_repeats))
    fractions = np.empty(len(names))
    for i, name in enumerate(names):
        column = X[name]
        groups = _length_groups(column)
        fractions[i] = _movable_share(groups)
        if fractions[i] < _MIN_MOVABLE_SHARE:
            _warn_few_movable(name, fractions[i])
        for r in range(n_repeats):
            permuted = X.copy(deep=False)
            permuted[name] = column.array.take(_permutation_within(groups, rng))
            importances[i, r] = baseline - float(scorer(estimator, permuted, y))
    return Bunch(
        importances_mean=importances.mean(axis=1),
        importances_std=importances.std(axis=1),
        importances=importances,
        channels=np.asarray(names, dtype=object),
        baseline_score=baseline,
        permuted_fraction=fractions,
    )


def _channel_names(X: pd.DataFrame, channels) -> list:
    if not X.columns.is_unique:
        duplicated = X.columns[X.columns.duplicated()][0]
        raise ValueError(
            f"The sequence frame has the column {duplicated!r} twice; "
            "permutation_importance needs unique column names."
        )
    if channels is None:
        return list(X.columns)
    names = list(channels)
    if not names:
        raise ValueError("channels is empty: pass column names of X, or None.")
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise ValueError(
            f"channels names {missing[0]!r}, which is not a column of X; the "
            f"columns are {list(X.columns)}."
        )
    return names


def _length_groups(column: pd.Series) -> np.ndarray:
    """The rows' list lengths (-1 for a missing cell); all zeros for a column
    of scalars, whose values may go to any row."""
    dtype = column.dtype
    arr = None
    if isinstance(dtype, pd.ArrowDtype):
        if _is_list_type(dtype.pyarrow_dtype):
            arr = pa.array(column.array)
    elif pd.api.types.is_object_dtype(dtype):
        try:
            arr = pa.array(column.to_numpy(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = None  # not lists of one type: the estimator will say so
        if arr is not None and not _is_list_type(arr.type):
            arr = None
    if arr is None:
        return np.zeros(len(column), dtype=np.int64)
    lengths = pc.fill_null(pc.list_value_length(arr), -1)
    return np.asarray(lengths, dtype=np.int64)


def _permutation_within(groups: np.ndarray, rng) -> np.ndarray:
    """``perm`` with ``groups[perm] == groups``, uniform within each group:
    row ``perm[i]`` gives its list to row ``i``."""
    receivers = np.argsort(groups, kind="stable")
    donors = np.lexsort((rng.random_sample(len(groups)), groups))
    perm = np.empty_like(receivers)
    perm[receivers] = donors
    return perm


def _movable_share(groups: np.ndarray) -> float:
    if not len(groups):
        return 0.0
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    return float(np.mean(counts[inverse] > 1))


def _warn_few_movable(name, share: float) -> None:
    warnings.warn(
        f"Only {share:.0%} of the rows of column {name!r} share their length "
        "with another row. A list moves only to a row of the same length, so "
        "the other rows keep their own and the importance of this column is "
        "understated. Score on more rows.",
        UserWarning,
        stacklevel=4,  # the caller of permutation_importance (validate_params)
    )
