"""Per-event attributions (integrated gradients), aligned to the sequence
frame."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch

from ..data._sequences import check_sequence_frame, read_list_column
from ..neural_network._base import _BaseSequenceEstimator
from ..nn._attributions import integrated_gradients
from ..preprocessing import SequenceVectorizer
from ..preprocessing._cells import frame_of_cells
from ..utils._compat import HasMethods, Interval, validate_params
from ..utils._cpu import cpu_runtime

__all__ = ["event_attributions"]

#: completeness error always tolerated, in units of the explained value
_ATOL = 1e-6


@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": "no_validation",
        "target": "no_validation",
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "rtol": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def event_attributions(estimator, X, *, target=None, n_steps=32, rtol=0.01):
    """How much each event of each sequence moved the prediction.

    Integrated gradients: for each sequence, the explained output (below) is
    integrated along the straight path from a baseline to the input, in the
    per-event inputs of the network at once: the embedding vector of each
    categorical value (baseline: the zero vector), each scaled numeric value
    (baseline: 0, the training mean) and the wide path's weight of each
    event's id (baseline: no weight). The attribution of an event in a
    channel is its share of the difference ``output - baseline``: the
    attributions of a sequence sum to it, up to the error of the integral
    (``delta``, smaller with more ``n_steps``). Positive values push towards
    the explained class (or a higher value).

    Parameters
    ----------
    estimator : estimator or Pipeline
        A fitted LSTM or Transformer sequence classifier or regressor, or a
        fitted Pipeline ending with one (e.g. ``SequenceVectorizer`` then the
        estimator).
    X : sequence frame, or what the estimator accepts
        The sequences to explain (a sequence frame for a pipeline). Not
        modified.
    target : class label, int or None, default=None
        What is explained. Classifiers: the log-odds ``log(p / (1 - p))`` of
        the class ``target``; None: the second class for two classes (the
        positive one), each row's predicted class otherwise. Regressors: the
        output of index ``target`` (None: the only one) in the scale of
        ``predict``, or its log-rate with ``loss="poisson"``.
    n_steps : int, default=32
        Nodes of the path integral (composite Gauss-Legendre, panels placed
        where the explained value changes along the path). The network runs
        on ``n_steps + 2`` copies of each sequence, with gradients.
    rtol : float, default=0.01
        Completeness tolerance: a sequence whose attributions miss
        ``output - baseline`` by more than ``rtol`` of its scale (the larger
        of ``|output - baseline|`` and the sum of the absolute attributions)
        is integrated again with 4, then 16 times the nodes; a UserWarning
        says how many still miss it.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``attributions``: a DataFrame with the index of the sequences, one
        column per channel, one list of scores per row with one score per
        event, in the events' order. With a pipeline whose vectorizer is a
        :class:`~seqestimators.SequenceVectorizer` the columns are those of
        ``X`` that the model reads (the time features summed into the time
        column); events that ``max_len`` cut off score 0. Otherwise the
        columns are the model's channels (``categorical_names`` then
        ``numeric_names`` of the encoded sequences).
        ``channel_importance``: a Series, per column, the mean over the
        sequences of the summed absolute attributions of their events.
        ``output``, ``baseline`` and ``delta`` (arrays of shape (n,)): the
        explained value at the input and at the baseline, and
        ``output - baseline - sum of the attributions``.
        ``target``: what was explained, per row (the class label, or the
        output's index).

    See Also
    --------
    plot_event_attributions : One sequence's events coloured by attribution.
    permutation_importance : Channel importance from the drop in score.

    Examples
    --------
    >>> from seqestimators import (LSTMSequenceClassifier, SequenceVectorizer,
    ...                            event_attributions, make_sequence_pipeline,
    ...                            to_sequences)
    >>> from seqestimators.datasets import make_event_log
    >>> events, targets = make_event_log(n_users=100, random_state=0)
    >>> X = to_sequences(events, columns=["event_type", "price"])
    >>> y = targets.loc[X.index, "will_buy"].to_numpy()
    >>> pipe = make_sequence_pipeline(SequenceVectorizer(), LSTMSequenceClassifier(
    ...     hidden_size=4, max_epochs=2, random_state=0)).fit(X, y)
    >>> result = event_attributions(pipe, X.head(3), n_steps=16)
    >>> list(result.attributions.columns)
    ['event_type', 'price']
    >>> [len(s) for s in result.attributions["event_type"]] == [
    ...     len(s) for s in X.head(3)["event_type"]]
    True
    >>> bool(abs(result.delta).max() < 1e-3)
    True
    """
    model, Xt, vectorizer = _model_and_input(estimator, X)
    Xr = model._checked_input(Xt)
    explained = _explained_output(model, Xr, target)
    scores, output, baseline = _attribute(model, Xr, explained["fn"], n_steps, rtol)
    names = list(Xr.categorical_names) + list(Xr.numeric_names)
    index = Xr.index if Xr.index is not None else pd.RangeIndex(len(Xr))
    if vectorizer is not None:
        columns, scores, offsets = _to_frame_columns(vectorizer, X, Xr, names, scores)
    else:
        columns, offsets = names, Xr.offsets
    frame = pd.DataFrame(
        {c: _list_series(offsets, scores[:, j], index) for j, c in enumerate(columns)},
        index=index,
    )
    rows = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    per_row = np.zeros((len(offsets) - 1, len(columns)))
    np.add.at(per_row, rows, np.abs(scores))
    totals = np.zeros(len(offsets) - 1)
    np.add.at(totals, rows, scores.sum(axis=1))
    return Bunch(
        attributions=frame,
        channel_importance=pd.Series(
            per_row.mean(axis=0), index=columns, name="mean |attribution|"
        ),
        output=output,
        baseline=baseline,
        delta=output - baseline - totals,
        target=explained["target"],
    )


def _model_and_input(estimator, X):
    """The sequence estimator, ``X`` as it reaches it, and the pipeline's
    SequenceVectorizer (None without one)."""
    vectorizer = None
    model, Xt = estimator, X
    if isinstance(estimator, Pipeline):
        model = estimator.steps[-1][1]
        Xt = estimator[:-1].transform(X)
        steps = [s for _, s in estimator.steps[:-1] if s not in (None, "passthrough")]
        if len(steps) == 1 and isinstance(steps[0], SequenceVectorizer):
            vectorizer = steps[0]
    if not isinstance(model, _BaseSequenceEstimator):
        raise TypeError(
            "event_attributions explains an LSTM or Transformer sequence "
            "classifier or regressor, or a Pipeline ending with one; got "
            f"{type(model).__name__}. Pass the fitted estimator or pipeline."
        )
    return model, Xt, vectorizer


def _explained_output(model, Xr, target) -> dict:
    """The explained value as a torch function of the network's outputs,
    and the target of each row."""
    n = len(Xr)
    if is_classifier(model):
        classes = model.classes_
        if target is None and len(classes) == 2:
            k = np.ones(n, dtype=np.int64)
        elif target is None:
            k = model._forward(Xr).argmax(axis=1).astype(np.int64)
        else:
            found = np.flatnonzero(classes == target)
            if not len(found):
                raise ValueError(
                    f"target={target!r} is not a class of the classifier; its "
                    f"classes are {classes.tolist()}. Pass one of them, or None."
                )
            k = np.full(n, found[0], dtype=np.int64)
        return {"fn": _log_odds(k), "target": classes[k]}
    n_outputs = model._n_outputs()
    if target is None and n_outputs > 1:
        raise ValueError(
            f"The regressor has {n_outputs} outputs: pass target=<index of the "
            "output> to say which one to explain."
        )
    j = 0 if target is None else target
    if not isinstance(j, Integral) or isinstance(j, bool) or not 0 <= j < n_outputs:
        raise ValueError(
            f"target must be the index of an output, an int in [0, "
            f"{n_outputs - 1}], or None; got {target!r}."
        )
    j = int(j)
    if model._fitted_loss == "poisson":
        scale, shift = 1.0, 0.0
    else:
        scale, shift = float(model.y_scale_[j]), float(model.y_mean_[j])

    def value(out, rows):
        return out[:, j] * scale + shift

    return {"fn": lambda rows: value, "target": np.full(n, j)}


def _log_odds(k: np.ndarray):
    """Per batch of rows, the log-odds of class ``k[row]`` from the outputs."""

    def for_rows(rows: np.ndarray):
        target = torch.from_numpy(k[rows])

        def log_odds(out, index):
            t = target.to(out.device)[index]
            logp = torch.log_softmax(out.double(), dim=1)
            own = logp.gather(1, t.unsqueeze(1)).squeeze(1)
            mask = torch.nn.functional.one_hot(t, out.shape[1]).bool()
            return own - logp.masked_fill(mask, float("-inf")).logsumexp(dim=1)

        return log_odds

    return for_rows


def _attribute(model, Xr, fn, n_steps: int, rtol: float):
    """Attributions per event and channel ``(n_events, n_channels)``, the
    explained output and its baseline, in input order. Sequences whose
    attributions miss ``output - baseline`` by more than ``rtol`` of it are
    integrated again with 4 and then 16 times the nodes (the scale: the
    larger of ``|output - baseline|`` and the summed absolute attributions,
    which is larger when they cancel out)."""
    scores = np.zeros((Xr.n_events, Xr.n_categorical + Xr.n_numeric))
    output, baseline = np.zeros(len(Xr)), np.zeros(len(Xr))
    rows = np.arange(len(Xr))
    with cpu_runtime(model.n_threads, all_threads=False):
        for steps in (n_steps, 4 * n_steps, 16 * n_steps):
            _integrate(model, Xr, fn, steps, rows, (scores, output, baseline))
            gap = output[rows] - baseline[rows]
            spans = [scores[Xr.offsets[r]:Xr.offsets[r + 1]] for r in rows]
            totals = np.array([span.sum() for span in spans])
            mass = np.maximum(np.abs(gap), [np.abs(span).sum() for span in spans])
            rows = rows[np.abs(gap - totals) > rtol * mass + _ATOL]
            if not len(rows):
                break
    if len(rows):
        warnings.warn(
            f"The attributions of {len(rows)} sequence(s) still miss "
            f"output - baseline by more than rtol={rtol} of its scale with "
            f"n_steps={16 * n_steps} (see result.delta): the explained value "
            "changes too abruptly along the path. Raise n_steps.",
            UserWarning,
            stacklevel=3,
        )
    return scores, output, baseline


def _integrate(model, Xr, fn, n_steps: int, rows: np.ndarray, out) -> None:
    """Integrated gradients of ``rows`` into ``out = (scores, output,
    baseline)``."""
    scores, output, baseline = out
    module = model.net_.module_.eval()
    factor = n_steps + 2
    for batch in model._prediction_batches(Xr[rows], factor=factor):
        for part in _attention_parts(model, Xr, rows[batch], factor):
            cat, num, lengths = model._batch_tensors(Xr, part)
            res = integrated_gradients(
                module, cat, num, lengths, fn(part), n_steps=n_steps
            )
            per_event = torch.cat([res["categorical"], res["numeric"]], dim=2)
            steps = np.arange(cat.shape[1])
            real = steps[None, :] < lengths.cpu().numpy()[:, None]
            events = Xr.offsets[part][:, None] + steps[None, :]
            scores[events[real]] = per_event.cpu().double().numpy()[real]
            output[part] = res["output"].cpu().double().numpy()
            baseline[part] = res["baseline"].cpu().double().numpy()


def _attention_parts(model, Xr, rows: np.ndarray, factor: int) -> list:
    """``rows`` split so that a Transformer's attention weights of the
    ``factor`` copies stay within its cap (other models: ``[rows]``)."""
    if not hasattr(model, "_max_batch_pairs"):
        return [rows]
    longest = int(max(1, Xr.lengths[rows].max()))
    cap = max(1, model._max_batch_pairs(training=True) // (factor * longest**2))
    return np.array_split(rows, int(np.ceil(len(rows) / cap)))


def _to_frame_columns(vectorizer, X, Xr, names, scores):
    """The channels' scores summed into the frame's columns (time features
    into the time column) and placed at the frame's events (those that
    ``max_len`` cut off score 0)."""
    time = vectorizer.time_
    owner = [c if time is None or not c.startswith(f"{time}__") else time
             for c in names]
    columns = [c for c in vectorizer.feature_names_in_ if c in owner]
    summed = np.zeros((len(scores), len(columns)))
    for j, c in enumerate(owner):
        summed[:, columns.index(c)] += scores[:, j]
    lengths = Xr.lengths
    if vectorizer.max_len is not None:
        frame = check_sequence_frame(
            frame_of_cells(X, vectorizer.feature_names_in_),
            caller="event_attributions",
        )
        first = read_list_column(frame, columns[0], caller="event_attributions")
        lengths = first.lengths
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    cut = lengths - Xr.lengths
    event = np.arange(Xr.n_events) - np.repeat(Xr.offsets[:-1], Xr.lengths)
    out = np.zeros((int(offsets[-1]), len(columns)))
    out[np.repeat(offsets[:-1] + cut, Xr.lengths) + event] = summed
    return columns, out, offsets


def _list_series(offsets: np.ndarray, values: np.ndarray, index) -> pd.Series:
    """A list column (Arrow ``large_list<double>``) from flat values."""
    arr = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(values))
    return pd.Series(pd.arrays.ArrowExtensionArray(arr), index=index)
