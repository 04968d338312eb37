"""How the estimators' defaults were chosen.

Cross-validates a small grid of settings around the defaults on two tasks and
prints one table per task (also written to ``benchmarks/results/``):

- ``behaviour``: ``make_event_log`` users, the order-dependent ``will_buy``
  target, ``SequenceVectorizer(max_len=100)`` + ``LSTMSequenceClassifier``,
  3-fold ROC AUC;
- ``numeric``: a small univariate sequence task (300 noisy sine waves of two
  frequencies, 0.15 and 0.45 rad per step, random phase, noise 0.5, 40 steps,
  a 2-D array) — the kind of data people try first.

Each row reports the mean score, its spread, the mean epochs trained and the
mean fit time of a fold, all measured in the same run.

    python benchmarks/defaults_experiment.py [--users 2000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline

from seqestimators import LSTMSequenceClassifier, SequenceVectorizer, to_sequences
from seqestimators.datasets import make_event_log

VARIANTS = {
    "defaults": {},
    "hidden_size=32": {"hidden_size": 32},
    "hidden_size=128": {"hidden_size": 128},
    "lr=1e-3": {"lr": 1e-3},
    "lr=1e-2": {"lr": 1e-2},
    "num_layers=2": {"num_layers": 2},
    "cell=gru": {"cell": "gru"},
    "pooling=mean": {"pooling": "mean"},
    "batch_size=64": {"batch_size": 64},
    "n_iter_no_change=5": {"n_iter_no_change": 5},
    "early_stopping=False, max_epochs=30": {"early_stopping": False, "max_epochs": 30},
}


def behaviour_task(n_users: int):
    events, targets = make_event_log(n_users=n_users, random_state=0)
    X = to_sequences(events, columns=["timestamp", "event_type", "category", "price"])
    y = targets.loc[X.index, "will_buy"].to_numpy()

    def model(**params):
        return make_pipeline(
            SequenceVectorizer(max_len=100),
            LSTMSequenceClassifier(random_state=0, **params),
        )

    return X, y, model, "roc_auc"


def numeric_task():
    rng = np.random.RandomState(0)
    n, L = 300, 40
    y = rng.randint(0, 2, n)
    freq = np.where(y == 1, 0.45, 0.15)
    t = np.arange(L)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    X = np.sin(freq[:, None] * t + phase) + 0.5 * rng.normal(size=(n, L))

    def model(**params):
        return LSTMSequenceClassifier(random_state=0, **params)

    return X.astype(np.float32), y, model, "roc_auc"


def run(task_name, X, y, make_model, scoring):
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    rows = []
    for name, params in VARIANTS.items():
        model = make_model(**params)
        t0 = time.perf_counter()
        res = cross_validate(
            clone(model), X, y, cv=cv, scoring=scoring, return_estimator=True
        )
        epochs = [est[-1].n_iter_ if hasattr(est, "steps") else est.n_iter_
                  for est in res["estimator"]]
        rows.append({
            "task": task_name,
            "variant": name,
            "score": round(float(res["test_score"].mean()), 4),
            "score_std": round(float(res["test_score"].std()), 4),
            "epochs": round(float(np.mean(epochs)), 1),
            "fit_s": round(float(res["fit_time"].mean()), 2),
            "wall_s": round(time.perf_counter() - t0, 1),
        })
        print(rows[-1], flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 is stable on a loaded machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = run("numeric", *numeric_task())
    rows += run("behaviour", *behaviour_task(args.users))
    table = pd.DataFrame(rows)
    print()
    print(table.to_markdown(index=False))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "defaults_experiment.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
