"""
Churn and repurchase: point-in-time labels, recency features, a count model
===========================================================================

Two questions asked of an event log at a cutoff date:

- **churn**: will the user have no event at all in the next 30 days?
- **repurchase count**: how many purchases will they make in those 30 days?

The labels come from the window after each cutoff, the features only from the
events before it (``make_window_labels``). Two cutoffs give two samples per
user; ``GroupKFold`` keeps a user's samples on one side of every split.

Side by side, cross-validated:

- the classic recency-frequency-monetary (RFM) features, with a
  LogisticRegression / HistGradientBoosting for churn and a Poisson
  HistGradientBoostingRegressor for the count;
- ``SequenceVectorizer(reference_time="cutoff")`` + LSTM: each event's time
  before the cutoff and the user's recency become input channels; the count
  model uses ``LSTMSequenceRegressor(loss="poisson")``;
- the same LSTM without the reference time, to show what recency is worth,
  and with a squared-error loss, to show what the Poisson objective is worth.

Run it with ``python examples/churn_and_repurchase.py [n_users]``; it prints a
table and saves ``examples/output/churn_and_repurchase.png``.
"""

# %%
# Point-in-time labels
# --------------------
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer, mean_poisson_deviance
from sklearn.model_selection import GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceVectorizer,
    make_window_labels,
)
from seqestimators.datasets import make_event_log

N_USERS = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
events, _ = make_event_log(n_users=N_USERS, random_state=0)
history, labels = make_window_labels(
    events,
    cutoff=["2024-02-15", "2024-03-01"],
    horizon="30D",
    target_event=("event_type", "purchase"),
    value="price",
    columns=["timestamp", "event_type", "category", "price"],
)
groups = labels["group"].to_numpy()
y_churn = labels["churn"].to_numpy()
y_count = labels["n_converted"].to_numpy()
print(f"{len(events):,} events, {len(history):,} (user, cutoff) samples; "
      f"churn rate {y_churn.mean():.0%}, mean purchases {y_count.mean():.2f}")


# %%
# RFM features
# ------------
# Recency (days from the last event and from the last purchase to the cutoff),
# frequency (events, purchases, active days), monetary (spend) and tenure,
# computed from the history's list columns without a loop over users.
def rfm(frame: pd.DataFrame) -> np.ndarray:
    def flat(column):
        arr = pa.array(frame[column], from_pandas=True)
        return arr, np.asarray(pc.list_flatten(arr))

    ts_list, ts = flat("timestamp")
    _, kind = flat("event_type")
    _, price = flat("price")
    lengths = np.asarray(pc.list_value_length(ts_list), dtype=np.int64)
    rows = np.repeat(np.arange(len(frame)), lengths)
    cutoff = frame.index.get_level_values("cutoff").to_numpy()
    age_days = (cutoff[rows] - ts) / np.timedelta64(1, "D")
    bought = kind == "purchase"

    def per_row(values, how):
        out = np.full(len(frame), np.nan if how != "sum" else 0.0)
        if how == "sum":
            np.add.at(out, rows, values)
        else:
            tmp = np.full(len(frame), np.inf)
            np.minimum.at(tmp, rows, values)
            out = np.where(np.isinf(tmp), np.nan, tmp)
        return out

    recency = per_row(age_days, "min")
    tenure = -per_row(-age_days, "min")
    purchase_recency = per_row(np.where(bought, age_days, np.inf), "min")
    days = np.floor(age_days)
    active_days = pd.Series(days).groupby(rows).nunique().reindex(
        range(len(frame)), fill_value=0).to_numpy()
    return np.column_stack([
        recency,
        np.nan_to_num(purchase_recency, nan=365.0),
        lengths,
        per_row(bought.astype(float), "sum"),
        active_days,
        per_row(np.where(bought, price, 0.0), "sum"),
        tenure,
    ])


rfm_features = FunctionTransformer(rfm)

# %%
# Models
# ------
columns = dict(categorical=["event_type", "category"], numeric=["price"],
               time="timestamp", max_len=100)
lstm_args = dict(hidden_size=32, max_epochs=40, n_iter_no_change=6, random_state=0)
churn_models = {
    "majority class": DummyClassifier(),
    "RFM + LogisticRegression": make_pipeline(
        rfm_features, FunctionTransformer(np.log1p), StandardScaler(),
        LogisticRegression(max_iter=1000)),
    "RFM + HistGradientBoosting": make_pipeline(
        rfm_features, HistGradientBoostingClassifier(random_state=0)),
    "LSTM, no reference time": make_pipeline(
        SequenceVectorizer(**columns), LSTMSequenceClassifier(**lstm_args)),
    "LSTM + reference_time='cutoff'": make_pipeline(
        SequenceVectorizer(**columns, reference_time="cutoff"),
        LSTMSequenceClassifier(**lstm_args)),
}
count_models = {
    "mean count": DummyRegressor(),
    "RFM + HistGradientBoosting(poisson)": make_pipeline(
        rfm_features, HistGradientBoostingRegressor(loss="poisson", random_state=0)),
    "LSTM(poisson), no reference time": make_pipeline(
        SequenceVectorizer(**columns),
        LSTMSequenceRegressor(loss="poisson", **lstm_args)),
    "LSTM(squared_error) + reference_time='cutoff'": make_pipeline(
        SequenceVectorizer(**columns, reference_time="cutoff"),
        LSTMSequenceRegressor(loss="squared_error", **lstm_args)),
    "LSTM(poisson) + reference_time='cutoff'": make_pipeline(
        SequenceVectorizer(**columns, reference_time="cutoff"),
        LSTMSequenceRegressor(loss="poisson", **lstm_args)),
}


# Poisson deviance needs positive predictions; a squared-error model can
# predict <= 0, which is clipped to a tiny rate (a fair, lenient reading).
def poisson_deviance(y_true, y_pred):
    return mean_poisson_deviance(y_true, np.clip(y_pred, 1e-6, None))


deviance = make_scorer(poisson_deviance, greater_is_better=False)

# %%
# Cross-validation, users kept together
# -------------------------------------
cv = GroupKFold(n_splits=3)
rows = []


def evaluate(task, models, y, scoring, sign):
    for name, model in models.items():
        t0 = time.perf_counter()
        res = cross_validate(model, history, y, groups=groups, cv=cv,
                             scoring=scoring, error_score="raise")
        score = sign * res["test_score"]
        rows.append({"task": task, "model": name, "score": score.mean(),
                     "std": score.std(), "seconds": time.perf_counter() - t0})
        print(f"  {task:<14} {name:<42} {score.mean():.3f} ± {score.std():.3f}",
              flush=True)


print("\nchurn: ROC AUC (higher is better)")
evaluate("churn", churn_models, y_churn, "roc_auc", 1)
print("\npurchases: mean Poisson deviance (lower is better)")
evaluate("purchases", count_models, y_count, deviance, -1)

table = pd.DataFrame(rows)
table["score"] = [f"{m:.3f} ± {s:.3f}" for m, s in zip(table["score"], table["std"])]
table["seconds"] = table["seconds"].round(1)
print()
print(table.drop(columns="std").set_index(["task", "model"]).to_string())

# %%
# Plot
# ----
# sphinx-gallery runs the examples from their folder, without __file__
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
out_dir = HERE / "output"
out_dir.mkdir(exist_ok=True)
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover - plotting is optional
    sys.exit(0)
scores = pd.DataFrame(rows)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
TITLES = [("churn", "ROC AUC (higher is better)"),
          ("purchases", "Poisson deviance (lower is better)")]
for ax, (task, label) in zip(axes, TITLES):
    part = scores[scores["task"] == task]
    ax.barh(part["model"], part["score"], xerr=part["std"], color="tab:blue")
    ax.invert_yaxis()
    ax.set_xlabel(label)
    ax.set_title(task)
    if task == "churn":
        ax.set_xlim(0.4, 1.0)
fig.tight_layout()
fig.savefig(out_dir / "churn_and_repurchase.png", dpi=110)
print(f"\nsaved {out_dir / 'churn_and_repurchase.png'}")
