"""
User embeddings and event attributions
======================================

A fitted sequence model is also a feature extractor: ``transform`` returns
each user's pooled sequence representation (what the network's head reads),
one row per user in input order. Here the embeddings of an
``LSTMSequenceClassifier`` trained on ``will_buy``:

- feed a HistGradientBoosting model, compared with the classic bag of events
  (counts of event types and categories, length, spend) on the same split;
- segment the users with KMeans, compared with clusters of the bag of events;

and ``event_attributions`` says which events of a user drove the prediction
(integrated gradients, one score per event and channel), drawn as a
timeline with ``plot_event_attributions``.

Run it with ``python examples/user_embeddings.py [n_users]`` (default 1500,
about 15 s on one core); it prints the scores and saves
``examples/output/user_embeddings.png``.
"""

# %%
# Data and a train/test split
# ---------------------------
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from sklearn.cluster import KMeans
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from seqestimators import (
    LSTMSequenceClassifier,
    SequenceVectorizer,
    event_attributions,
    plot_event_attributions,
    to_sequences,
)
from seqestimators.datasets import make_event_log

N_USERS = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
started = time.perf_counter()
events, targets = make_event_log(n_users=N_USERS, random_state=0)
X = to_sequences(events, columns=["timestamp", "event_type", "category", "price"])
y = targets.loc[X.index, "will_buy"].to_numpy()
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
print(f"{len(X):,} users ({len(X_train):,} train, {len(X_test):,} test), "
      f"{y.mean():.0%} positive")


# %%
# The baseline features: a bag of events
# --------------------------------------
def bag_of_events(frame: pd.DataFrame) -> np.ndarray:
    """Counts of each event type and category, the number of events and the
    total and mean price, per user."""
    rows = np.repeat(np.arange(len(frame)), frame["event_type"].map(len))
    parts = []
    for column in ("event_type", "category"):
        flat = np.asarray(pc.list_flatten(frame[column].array.__arrow_array__()),
                          dtype=object)
        parts.append(pd.crosstab(rows, flat).reindex(range(len(frame)), fill_value=0))
    prices = frame["price"].map(np.asarray)
    extra = np.column_stack([frame["event_type"].map(len), prices.map(np.sum),
                             prices.map(np.mean)])
    return np.column_stack([p.to_numpy() for p in parts] + [extra]).astype(float)


# the same vocabulary for train and test: one crosstab over both
bag = bag_of_events(pd.concat([X_train, X_test]))
bag_train, bag_test = bag[: len(X_train)], bag[len(X_train):]


def hgb():
    return HistGradientBoostingClassifier(max_iter=100, random_state=0)


scores = {}
scores["bag of events + HistGradientBoosting"] = roc_auc_score(
    y_test, hgb().fit(bag_train, y_train).predict_proba(bag_test)[:, 1]
)

# %%
# The embeddings: ``transform`` of a fitted sequence model
# --------------------------------------------------------
# The LSTM learns the representation on the training users only. Its
# embeddings of the *training* users are what it was fitted on, so a model
# stacked on them sees them at their best; the test scores are honest.
lstm = make_pipeline(
    SequenceVectorizer(),
    LSTMSequenceClassifier(hidden_size=16, max_epochs=15, random_state=0),
).fit(X_train, y_train)
emb_train, emb_test = lstm.transform(X_train), lstm.transform(X_test)
print(f"embeddings: {emb_test.shape[1]} columns "
      f"({lstm[-1].get_feature_names_out()[0]}, ...)")

scores["LSTM alone"] = roc_auc_score(y_test, lstm.predict_proba(X_test)[:, 1])
scores["embeddings + HistGradientBoosting"] = roc_auc_score(
    y_test, hgb().fit(emb_train, y_train).predict_proba(emb_test)[:, 1]
)
both_train = np.column_stack([emb_train, bag_train])
both_test = np.column_stack([emb_test, bag_test])
scores["embeddings + bag of events + HistGradientBoosting"] = roc_auc_score(
    y_test, hgb().fit(both_train, y_train).predict_proba(both_test)[:, 1]
)
print("\nwill_buy, test ROC AUC")
for name, value in scores.items():
    print(f"  {name:<52} {value:.3f}")


# %%
# Segments: KMeans on the embeddings
# ----------------------------------
# Four segments of the test users, from the embeddings and from the
# standardized bag of events. How far apart are the segments' buying rates?
# The share of the variance of ``will_buy`` between the segments says how
# much of the target the segmentation separates (0: none, 1: all).
def between_share(labels: np.ndarray, target: np.ndarray) -> float:
    rates = pd.Series(target).groupby(labels).transform("mean")
    return float(((rates - target.mean()) ** 2).mean() / target.var())


segmenters = {
    "embeddings": make_pipeline(StandardScaler(), KMeans(4, n_init=5, random_state=0)),
    "bag of events": make_pipeline(
        FunctionTransformer(np.log1p), StandardScaler(),
        KMeans(4, n_init=5, random_state=0),
    ),
}
segments = {
    "embeddings": segmenters["embeddings"].fit_predict(emb_test),
    "bag of events": segmenters["bag of events"].fit_predict(bag_test),
}
print("\nsegments of the test users (KMeans, 4 clusters)")
for name, labels in segments.items():
    rates = pd.Series(y_test).groupby(labels).mean().sort_values()
    print(f"  {name:<14} buy rate per segment {np.round(rates.to_numpy(), 2)}, "
          f"share of will_buy's variance between segments "
          f"{between_share(labels, y_test):.2f}")


# %%
# Which events drove a prediction?
# --------------------------------
# ``event_attributions`` integrates the gradients from a baseline (no event
# embeddings, numeric values at their training mean) to each user's events:
# one list of scores per user and column, summing (up to ``delta``) to the
# change of the log-odds of buying.
sample = X_test.iloc[:100]
result = event_attributions(lstm, sample)
print("\nmean |attribution| per column (log-odds):")
print(result.channel_importance.round(3).to_string())
print(f"completeness: max |delta| {np.abs(result.delta).max():.4f} for "
      f"max |output - baseline| {np.abs(result.output - result.baseline).max():.2f}")

buyer = result.output.argmax()
user = sample.index[buyer]
totals = np.sum([np.asarray(result.attributions.at[user, c])
                 for c in result.attributions], axis=0)
top = np.argsort(-np.abs(totals))[:3]
kinds = np.asarray(sample.at[user, "event_type"])
print(f"user {user}: P(buy) = {lstm.predict_proba(sample.loc[[user]])[0, 1]:.2f}, "
      f"strongest events: "
      + ", ".join(f"#{i} {kinds[i]} ({totals[i]:+.2f})" for i in sorted(top)))

ax = plot_event_attributions(result, user, X=sample, label="event_type")
# sphinx-gallery runs the examples from their folder, without __file__
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
out = HERE / "output"
out.mkdir(exist_ok=True)
ax.figure.savefig(out / "user_embeddings.png", dpi=120, bbox_inches="tight")
print(f"saved examples/output/user_embeddings.png "
      f"({time.perf_counter() - started:.0f} s in all)")
