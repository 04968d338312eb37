"""onlineshop_precart: does held-out data confirm the best baseline's
signal? For each of the suite's 9 training folds, the best baseline
(sublinear TF-IDF + LogisticRegression) is cross-validated (3 folds)
within the training fold and its per-user log loss compared with the
intercept alone; printed: the test-fold ROC AUC and, per training fold,
z = mean loss difference (model - intercept) / its standard error
(positive: the model is worse than the base rate). RESULTS.md, round 4.

    python benchmarks/real_data/experiments/precart_signal.py
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import run  # noqa: E402
import tasks  # noqa: E402


def log_loss_rows(y, p):
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def main():
    task = tasks.TASKS["onlineshop_precart"](cache=None, quick=False)
    y = task.y
    docs = np.array([" ".join(events) for events in task.X["event"]])
    for C in (0.1, 1.0, 10.0):
        def model(C=C):
            return make_pipeline(TfidfVectorizer(sublinear_tf=True),
                                 LogisticRegression(C=C))
        aucs, z = [], []
        for seed in range(3):
            for train, test in run._splits(task, 3, seed):
                fitted = model().fit(docs[train], y[train])
                aucs.append(roc_auc_score(
                    y[test], fitted.predict_proba(docs[test])[:, 1]))
                inner = StratifiedKFold(3, shuffle=True, random_state=seed)
                p = cross_val_predict(model(), docs[train], y[train], cv=inner,
                                      method="predict_proba")[:, 1]
                d = (log_loss_rows(y[train], p)
                     - log_loss_rows(y[train], y[train].mean()))
                z.append(d.mean() / (d.std() / np.sqrt(len(d))))
        z = np.array(z)
        print(f"C={C:g}: test AUC {np.mean(aucs):.4f}; z per training fold "
              f"{np.round(z, 2).tolist()} (model worse in {int((z > 0).sum())}, "
              f"better by more than one SE in {int((z < -1).sum())} of {len(z)})")


if __name__ == "__main__":
    main()
