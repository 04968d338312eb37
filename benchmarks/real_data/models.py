"""Model registry of the real-data suite.

``LIBRARY_MODELS`` holds the seqestimators models, ``classic_models(task)``
the baselines a data scientist tries first. To benchmark another library
model (a Transformer estimator, changed defaults), add an entry to
``LIBRARY_MODELS``: a name and a function ``(task, seed) -> estimator``. The
estimator is fitted on the task's sequence frame ``task.X`` as it is, so a
pipeline starting with ``SequenceVectorizer`` is the usual shape. Every
entry below passes ``random_state`` and nothing else: the suite measures the
defaults.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceVectorizer,
    TransformerSequenceClassifier,
    TransformerSequenceRegressor,
)

try:
    from tasks import Task, flatten, list_lengths
except ImportError:  # pragma: no cover
    from .tasks import Task, flatten, list_lengths


def _lstm_defaults(task: Task, seed: int):
    if task.kind == "count":
        return make_pipeline(SequenceVectorizer(),
                             LSTMSequenceRegressor(random_state=seed))
    return make_pipeline(SequenceVectorizer(),
                         LSTMSequenceClassifier(random_state=seed))


def _transformer_defaults(task: Task, seed: int):
    if task.kind == "count":
        return make_pipeline(SequenceVectorizer(),
                             TransformerSequenceRegressor(random_state=seed))
    return make_pipeline(SequenceVectorizer(),
                         TransformerSequenceClassifier(random_state=seed))


#: name -> (task, seed) -> unfitted estimator taking ``task.X``
LIBRARY_MODELS: dict[str, Callable] = {
    "LSTM (defaults)": _lstm_defaults,
    "Transformer (defaults)": _transformer_defaults,
}


def library_models(task: Task, seed: int) -> dict:
    return {name: make(task, seed) for name, make in LIBRARY_MODELS.items()}


# ---------------------------------------------------------------------------
# features of the classic baselines (stateless, computed per fold)
# ---------------------------------------------------------------------------
def tokens(X: pd.DataFrame, columns: list[str], ngram: bool) -> list[str]:
    """One document per sequence: its categorical values as tokens.

    Tokens are ``column=value``; values holding '|' (MovieLens genres) give one
    token per part. With ``ngram`` (one column) the bare values are kept in
    order, so CountVectorizer's n-grams are k-mers."""
    docs = [[] for _ in range(len(X))]
    for col in columns:
        rows, values = flatten(X, col)
        values = values.astype(str)
        if ngram:
            words = values
        else:
            words = np.char.add(f"{col}=", values)
            words = np.char.replace(words, "|", f" {col}=")
        for r, w in zip(rows.tolist(), words.tolist(), strict=True):
            docs[r].append(w)
    return [" ".join(d) for d in docs]


def aggregates(X: pd.DataFrame, task: Task) -> pd.DataFrame:
    """RFM-style aggregates: length, time span and gaps, per numeric column
    mean/std/min/max/first/last/sum, distinct values per categorical column,
    plus the task's own ``extra_features``."""
    out = {"length": list_lengths(X, X.columns[0]).astype(float)}
    n = len(X)
    for col in task.numeric:
        rows, values = flatten(X, col)
        g = pd.Series(values.astype(float)).groupby(rows)
        for how in ("mean", "std", "min", "max", "first", "last", "sum"):
            out[f"{col}_{how}"] = g.agg(how).reindex(range(n)).to_numpy()
    for col in task.categorical:
        rows, values = flatten(X, col)
        out[f"{col}_nunique"] = (pd.Series(values).groupby(rows).nunique()
                                 .reindex(range(n), fill_value=0).to_numpy())
    if task.time:
        rows, ts = flatten(X, task.time)
        sec = pd.Series(ts.astype("datetime64[us]").astype(np.int64) / 1e6)
        g = sec.groupby(rows)
        span = (g.max() - g.min()).reindex(range(n)).to_numpy()
        gaps = sec.diff().where(pd.Series(rows).diff() == 0)
        gg = gaps.groupby(rows)
        out["log_span"] = np.log1p(span)
        out["log_gap_mean"] = np.log1p(gg.mean().reindex(range(n)).to_numpy())
        out["log_gap_last"] = np.log1p(gg.last().reindex(range(n)).to_numpy())
        out["log_gap_max"] = np.log1p(gg.max().reindex(range(n)).to_numpy())
    frame = pd.DataFrame(out)
    if task.extra_features is not None:
        frame = pd.concat([frame, task.extra_features(X)], axis=1)
    return frame


def pooled(X: pd.DataFrame, task: Task) -> np.ndarray:
    """Mean and standard deviation of every numeric channel over time."""
    cols = []
    for col in task.numeric:
        rows, values = flatten(X, col)
        g = pd.Series(values.astype(float)).groupby(rows)
        cols += [g.mean().to_numpy(), g.std(ddof=0).fillna(0).to_numpy()]
    return np.column_stack(cols)


# ---------------------------------------------------------------------------
# the classic baselines
# ---------------------------------------------------------------------------
#: a second k-mer baseline for token strings, with the longest k-mers that
#: the library's ``wide_ngrams="auto"`` chooses on gene_families (round 5):
#: the library's linear model and this one then see the same k-mers
LONGER_KMERS = 8


def classic_models(task: Task, seed: int = 0) -> dict:
    """name -> unfitted estimator taking ``task.X``; tried first by a data
    scientist. The best of them is reported as 'best classic'."""
    models = {}
    ngram = task.ngram_range != (1, 1)
    join = FunctionTransformer(tokens, kw_args=dict(columns=task.categorical,
                                                    ngram=ngram))
    agg = FunctionTransformer(aggregates, kw_args=dict(task=task))
    vec_args = dict(tokenizer=str.split, token_pattern=None, lowercase=False,
                    ngram_range=task.ngram_range)
    bag = "k-mer" if ngram else "bag of events"
    if task.kind == "count":
        models["mean"] = DummyRegressor()
        models["aggregates + HGB(poisson)"] = make_pipeline(
            agg, HistGradientBoostingRegressor(loss="poisson", random_state=seed))
        models["aggregates + PoissonRegressor"] = make_pipeline(
            agg, FunctionTransformer(_fill), StandardScaler(),
            PoissonRegressor(alpha=1e-2, max_iter=1000))
        return models
    models["prior"] = DummyClassifier(strategy="prior")
    if task.categorical:
        for C in (1.0, 0.1):
            models[f"{bag} log-counts + LR(C={C:g})"] = make_pipeline(
                join, CountVectorizer(**vec_args), FunctionTransformer(_log1p),
                LogisticRegression(C=C, max_iter=2000))
            models[f"{bag} TF-IDF + LR(C={C:g})"] = make_pipeline(
                join, TfidfVectorizer(sublinear_tf=True, **vec_args),
                LogisticRegression(C=C, max_iter=2000))
        if ngram:  # the longest k-mers of the library's rule on gene_families
            longer = {**vec_args, "ngram_range": (1, LONGER_KMERS)}
            models[f"k-mer (1-{LONGER_KMERS}) log-counts + LR(C=1)"] = make_pipeline(
                join, CountVectorizer(**longer), FunctionTransformer(_log1p),
                LogisticRegression(C=1.0, max_iter=2000))
    if task.numeric and not task.categorical:
        pool = FunctionTransformer(pooled, kw_args=dict(task=task))
        for C in (1.0, 0.1):
            models[f"mean/std pooling + LR(C={C:g})"] = make_pipeline(
                pool, StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    models["aggregates + HGB"] = make_pipeline(
        agg, HistGradientBoostingClassifier(random_state=seed))
    return models


def _log1p(counts):
    return counts.log1p()


def _fill(A):
    A = np.asarray(A, dtype=float)
    return np.where(np.isfinite(A), A, 0.0)


#: baselines shown for reference but never reported as 'best classic'
REFERENCE = {"prior", "mean"}
