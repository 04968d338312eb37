"""Reads the fits blend_probe.py recorded (DIR/*.npz) and the baselines of
../results.csv: per task, the library's score under rules that choose
between or average the trained network and the linear model, paired
against the best classic baseline (positive = library better, also for
the deviance). RESULTS.md, round 5.

    python blend_table.py DIR
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from _paired import best_classic, paired_cell
from sklearn.metrics import accuracy_score, mean_poisson_deviance, roc_auc_score

ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def predictions(kind, raw):
    """Probabilities (classifiers) or rates (counts) from raw outputs."""
    if kind == "count":
        return np.exp(raw.astype(np.float64))[:, 0]
    z = raw.astype(np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def score(kind, y, p):
    if kind == "count":
        return mean_poisson_deviance(y, p)
    if kind == "binary":
        return roc_auc_score(y, p[:, 1])
    classes = np.unique(y)
    assert len(classes) == p.shape[1]
    return accuracy_score(y, classes[p.argmax(axis=1)])


def loss(kind, y, p):
    """Mean validation loss of predictions ``p`` (log loss or deviance)."""
    if kind == "count":
        return mean_poisson_deviance(y, np.clip(p, 1e-12, None))
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean())


def rules(d):
    """The test predictions of each rule for one fit."""
    kind = str(d["kind"])
    net, lin = (predictions(kind, d[k]) for k in ("test_network", "test_linear"))
    z = float(d["z"]) if "z" in d.files else np.inf
    avg = (net + lin) / 2
    # the average of the raw outputs (logits, log-rates): one network, its
    # wide weights averaged with the refitted linear model's, head halved
    mid = predictions(kind, (d["test_network"] + d["test_linear"]) / 2)
    out = {"linear": lin, "network": net, "now (z<-1)": net if z < -1 else lin,
           "avg if z<-1": avg if z < -1 else lin,
           "avg always": avg, "avg raw always": mid,
           "avg raw if z<-1": mid if z < -1 else lin,
           "net z<-1, avg z<0": net if z < -1 else (avg if z < 0 else lin)}
    if "test_linear_train" in d.files:
        # the network with its wide path swapped for the refitted one (the
        # wide path adds to the raw output)
        raw = d["test_network"] - d["test_linear_train"] + d["test_linear"]
        refit = predictions(kind, raw)
        out["network, wide refit"] = refit
        out["now, wide refit"] = refit if z < -1 else lin
        out["linear, no refit"] = predictions(kind, d["test_linear_train"])
    if "valid_network" in d.files:
        vn, vl = (predictions(kind, d[k]) for k in ("valid_network", "valid_linear"))
        y = d["valid_y"]
        best = min(ALPHAS, key=lambda a: loss(kind, y, a * vn + (1 - a) * vl))
        out["alpha on valid"] = best * net + (1 - best) * lin
    return out, z


def main(folder):
    rows = []
    for path in sorted(Path(folder).glob("*.npz")):
        task, seed, fold = path.stem.rsplit("-", 2)
        d = np.load(path)
        kind = str(d["kind"])
        preds, z = rules(d)
        for rule, p in preds.items():
            rows.append(dict(task=task, seed=int(seed), fold=int(fold), rule=rule,
                             z=z, score=score(kind, d["y_test"], p)))
    fits = pd.DataFrame(rows)
    table = []
    for task, g in fits.groupby("task", sort=False):
        best, lower = best_classic(task)
        row = {"task": task, "fits": g.seed.size // g.rule.nunique(),
               "best classic": round(best.mean(), 3)}
        for rule, r in g.groupby("rule", sort=False):
            row[rule] = paired_cell(r.set_index(["seed", "fold"]).score, best, lower)
        table.append(row)
    print(pd.DataFrame(table).to_markdown(index=False))


if __name__ == "__main__":
    main(sys.argv[1])
