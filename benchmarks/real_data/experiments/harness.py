"""Cross-validation harness of the experiments (3 folds, same folds for all).

Usage::

    python harness.py TASK MODEL [MODEL ...] [--seeds 0 1] [--quick]

MODEL is a name of ``candidates.CANDIDATES`` or of the classic baselines
(``classic:<name>`` or ``classic:all``). One JSON line per (task, model, seed,
fold) is appended to ``results.jsonl`` next to this file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
# SEQ_TASKS_DIR: a frozen copy of benchmarks/real_data (the suite is being
# edited in parallel); the default is the suite itself
sys.path.insert(0, os.environ.get("SEQ_TASKS_DIR", str(HERE.parent)))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.metrics import accuracy_score, mean_poisson_deviance, roc_auc_score  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold  # noqa: E402

torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")

RESULTS = HERE / "results.jsonl"


def folds(task, n_splits=3):
    if task.kind == "count":
        cv = KFold(n_splits, shuffle=True, random_state=0)
    else:
        cv = StratifiedKFold(n_splits, shuffle=True, random_state=0)
    return list(cv.split(task.X, task.y))


def score(task, est, X, y):
    if task.metric == "roc_auc":
        return roc_auc_score(y, est.predict_proba(X)[:, 1])
    if task.metric == "accuracy":
        return accuracy_score(y, est.predict(X))
    pred = np.clip(np.asarray(est.predict(X), dtype=float).ravel(), 1e-6, None)
    return mean_poisson_deviance(y, pred)


def predictions(task, est, X):
    if task.kind == "count":
        return np.clip(np.asarray(est.predict(X), dtype=float).ravel(), 1e-6, None)
    return est.predict_proba(X)


def score_pred(task, pred, y, classes=None):
    if task.metric == "roc_auc":
        return roc_auc_score(y, pred[:, 1])
    if task.metric == "accuracy":
        return accuracy_score(y, classes[pred.argmax(1)])
    return mean_poisson_deviance(y, pred)


def run(task, name, est, seeds, n_splits=3):
    rows = []
    for k, (tr, te) in enumerate(folds(task, n_splits)):
        Xtr, Xte = task.X.iloc[tr], task.X.iloc[te]
        preds = []
        for seed in seeds:
            e = clone(est)
            params = e.get_params()
            for key in params:
                if key.endswith("random_state"):
                    e.set_params(**{key: seed})
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                e.fit(Xtr, task.y[tr])
            dt = time.perf_counter() - t
            p = predictions(task, e, Xte)
            preds.append(p)
            classes = getattr(e, "classes_", None)
            s = score_pred(task, p, task.y[te], classes)
            last = e[-1] if hasattr(e, "steps") else e
            epochs = np.ravel(getattr(last, "n_iter_", 0)).max()
            row = dict(task=task.name, model=name, seed=seed, fold=k, score=s,
                       fit_s=dt, epochs=int(epochs))
            rows.append(row)
            print(json.dumps(row), flush=True)
        if len(seeds) > 1:
            s = score_pred(task, np.mean(preds, axis=0), task.y[te], classes)
            row = dict(task=task.name, model=name + " [seed-avg]", seed=-1, fold=k,
                       score=s, fit_s=None, epochs=0)
            rows.append(row)
            print(json.dumps(row), flush=True)
    with open(RESULTS, "a") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    return rows


def main():
    import candidates
    from models import classic_models
    from tasks import TASKS

    ap = argparse.ArgumentParser()
    ap.add_argument("task")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = ap.parse_args()
    task = TASKS[args.task]()
    print(task.summary(), flush=True)
    for name in args.models:
        if name.startswith("classic:"):
            models = classic_models(task, 0)
            want = name[len("classic:"):]
            for cname, est in models.items():
                if want in ("all", cname):
                    run(task, "classic:" + cname, est, [0])
        else:
            run(task, name, candidates.make(name, task), args.seeds)


if __name__ == "__main__":
    main()
