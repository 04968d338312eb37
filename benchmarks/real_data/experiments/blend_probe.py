"""Averaging the network with the linear model, measured on the suite.

Every fit of the suite (LSTM defaults, 3 seeds x 3 folds, the suite's
folds) is run once; at the keep decision the trained network's raw
outputs on the validation split and on the test fold are recorded, then
the fit goes on as the linear model (refitted on every training
sequence), whose test outputs are recorded too, with the validation and
test outputs of the linear model fitted without the validation split
(the network's own wide path), the z-value the keep rule sees with the
per-sequence validation losses it compares, and the network's raw
validation outputs after every epoch. ``blend_table.py`` reads off any
rule that chooses between or averages the two, ``crossfit_table.py``
rules that choose the epoch on some validation rows and judge it on
others (RESULTS.md, round 5).

    python benchmarks/real_data/experiments/blend_probe.py --out DIR [--tasks ...]
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

import seqestimators.neural_network._base as base
from seqestimators.neural_network._batching import length_sorted_order
from seqestimators.neural_network._callbacks import ValidationScore

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import run  # noqa: E402
import tasks  # noqa: E402
from keep_rule import paired_z, suite_fits  # noqa: E402

SEEN = {}


def record_both():
    """Patch the keep decision: record the network's outputs (validation
    split, test fold) and the z-value, then go back to the linear model."""
    estimator = base._BaseSequenceEstimator
    keep = estimator._keep_linear_model

    def decide(network, linear):
        SEEN["z"] = paired_z(network, linear)
        SEEN["valid_loss_network"], SEEN["valid_weight"] = network
        SEEN["valid_loss_linear"] = linear[0]
        est = self_ref["est"]  # now the linear model fitted without the split
        SEEN["valid_linear"] = est._forward(self_ref["valid"].X)
        SEEN["test_linear_train"] = est._forward(SEEN["test_X"])
        return False

    self_ref = {}

    def _keep(self, start, valid_ds, all_ds, parallel=None):
        if start is None:
            return keep(self, start, valid_ds, all_ds, parallel)
        self_ref.update(est=self, valid=valid_ds)
        SEEN["valid_network"] = self._forward(valid_ds.X)
        SEEN["valid_y"] = np.asarray(valid_ds.y)
        # the validation pass visits the rows in length-sorted order
        epochs = np.stack(SEEN.pop("epochs"))
        order = length_sorted_order(valid_ds.X.lengths)
        SEEN["valid_epochs"] = np.empty_like(epochs)
        SEEN["valid_epochs"][:, order] = epochs
        SEEN["best_epoch"] = self.best_epoch_
        SEEN["test_network"] = self._forward(SEEN["test_X"])
        return keep(self, start, valid_ds, all_ds, parallel)

    base.better_by_one_se = decide
    estimator._keep_linear_model = _keep
    epoch_end = ValidationScore.on_epoch_end

    def on_epoch_end(self, net, **kwargs):
        if self.y_pred_:
            SEEN.setdefault("epochs", []).append(torch.cat(self.y_pred_).numpy())
        return epoch_end(self, net, **kwargs)

    ValidationScore.on_epoch_end = on_epoch_end


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(tasks.TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    record_both()
    torch.set_num_threads(1)
    for name, task, seed, fold, train, test, model in suite_fits(args.tasks,
                                                                 args.seeds):
        SEEN.clear()
        # the estimator sees the vectorized test fold at the decision
        vectorizer = model[0]
        fit_transform = vectorizer.fit_transform

        def _fit_transform(X, y=None, _f=fit_transform, _v=vectorizer,
                           _test=task.X.iloc[test], **kw):
            out = _f(X, y, **kw)
            SEEN["test_X"] = _v.transform(_test)
            return out

        vectorizer.fit_transform = _fit_transform
        row, fitted = run.run_one(task, "LSTM (defaults)", "library", model,
                                  seed, fold, train, test)
        est = fitted[-1]
        test_linear = est._forward(fitted[:-1].transform(task.X.iloc[test]))
        np.savez(args.out / f"{name}-{seed}-{fold}.npz",
                 kind=task.kind, metric=task.metric, y_test=task.y[test],
                 test_linear=test_linear, score_linear=row["score"],
                 **{k: v for k, v in SEEN.items() if k != "test_X"})
        print(name, seed, fold, round(row["score"], 4),
              None if "z" not in SEEN else round(SEEN["z"], 2), flush=True)

if __name__ == "__main__":
    main()
