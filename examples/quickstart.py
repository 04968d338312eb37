"""
Quickstart: will this user buy?
===============================

An LSTM pipeline against a classic bag-of-events baseline, cross-validated on
the synthetic e-commerce log that ships with seqestimators. The target
``will_buy`` depends on the *order* of a user's events, which counts of event
types cannot see.

Run it with ``python examples/quickstart.py [n_users]`` (default 4000); it
prints a results table and saves the training curves to
``examples/output/quickstart_curves.png``.
"""

# %%
# Data: one row per event, then one row per user
# ----------------------------------------------
# ``to_sequences`` groups the long event log into a *sequence frame*: one row
# per user, list columns in time order. Rows are samples, so scikit-learn's
# splitters and scorers work on it unchanged.
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from seqestimators import LSTMSequenceClassifier, SequenceVectorizer, to_sequences
from seqestimators.datasets import make_event_log

N_USERS = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
events, targets = make_event_log(n_users=N_USERS, random_state=0)
sequences = to_sequences(events, by="user_id", order_by="timestamp",
                         columns=["timestamp", "event_type", "category", "price"])
y = targets.loc[sequences.index, "will_buy"].to_numpy()
print(f"{len(events):,} events of {len(sequences):,} users; "
      f"{y.mean():.0%} positive")


# %%
# The classic baseline: counts of each event type
# -----------------------------------------------
# What a data scientist writes first: a bag of events per user plus the
# sequence length, fed to a logistic regression.
def event_type_counts(frame: pd.DataFrame) -> np.ndarray:
    col = pd.Series(frame["event_type"]).array.__arrow_array__()
    lengths = np.asarray(pc.list_value_length(col))
    flat = pd.Series(np.asarray(pc.list_flatten(col), dtype=object))
    rows = np.repeat(np.arange(len(frame)), lengths)
    counts = pd.crosstab(rows, flat).reindex(range(len(frame)), fill_value=0)
    return np.column_stack([counts.to_numpy(), lengths]).astype(float)


baseline = make_pipeline(
    FunctionTransformer(event_type_counts), StandardScaler(), LogisticRegression()
)

# %%
# The sequence model
# ------------------
# ``SequenceVectorizer`` learns vocabularies and scaling per fold; the
# classifier trains an LSTM with early stopping on length-bucketed batches.
lstm = make_pipeline(
    SequenceVectorizer(max_len=100),
    LSTMSequenceClassifier(random_state=0),
)

# %%
# Cross-validation, side by side
# ------------------------------
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
rows = []
for name, model in [("bag of events + LogisticRegression", baseline),
                    ("SequenceVectorizer + LSTMSequenceClassifier", lstm)]:
    res = cross_validate(model, sequences, y, cv=cv, scoring="roc_auc")
    rows.append({
        "model": name,
        "ROC AUC": f"{res['test_score'].mean():.3f} ± {res['test_score'].std():.3f}",
        "fit time (s)": f"{res['fit_time'].mean():.1f}",
    })
    print(f"  {name}: ROC AUC {res['test_score'].mean():.3f}", flush=True)
table = pd.DataFrame(rows).set_index("model")
print()
print(table.to_string())

# %%
# Training curves
# ---------------
# ``history_`` is a DataFrame, one row per epoch: train and validation loss,
# validation accuracy, and ``best``, the epoch whose weights were restored.
X_train, X_test, y_train, y_test = train_test_split(
    sequences, y, test_size=0.25, stratify=y, random_state=0)
t0 = time.perf_counter()
lstm.fit(X_train, y_train)
clf = lstm[-1]
print(f"\nOne fit: {clf.n_iter_} epochs in {time.perf_counter() - t0:.1f} s, "
      f"best epoch {clf.best_epoch_}, held-out accuracy "
      f"{lstm.score(X_test, y_test):.3f}")
history = clf.history_[["epoch", "train_loss", "valid_loss", "valid_score", "best"]]
# the restored epoch and the last one
print(history[history["best"] | (history["epoch"] == clf.n_iter_)]
      .round(3).to_string(index=False))

# sphinx-gallery runs the examples from their folder, without __file__
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
out_dir = HERE / "output"
out_dir.mkdir(exist_ok=True)
try:
    import matplotlib

    matplotlib.use("Agg")
except ImportError:  # pragma: no cover - plotting is optional (the plot extra)
    sys.exit(0)
from seqestimators import plot_training_history  # noqa: E402

ax = plot_training_history(lstm)  # the pipeline's last step
ax.set_ylabel("cross-entropy")
ax.figure.tight_layout()
ax.figure.savefig(out_dir / "quickstart_curves.png", dpi=120)
print(f"saved {out_dir / 'quickstart_curves.png'}")
