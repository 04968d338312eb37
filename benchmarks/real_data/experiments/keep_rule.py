"""The rule that keeps the network or goes back to the linear model,
measured on the suite: every fit with the decision forced one way
(``--keep network`` or ``--keep linear``), recording the paired z-value
(mean per-sequence validation-loss difference, network minus linear,
over its standard error) the rule sees. Joined on (task, seed, fold),
the two runs give both test scores and the z of every fit, so any
threshold can be read off. RESULTS.md, round 4.

    python benchmarks/real_data/experiments/keep_rule.py --keep network \
        --out keep_network.jsonl [--tasks ...]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone

import seqestimators.neural_network._base as base
from seqestimators.neural_network._batching import SequenceDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import models  # noqa: E402
import run  # noqa: E402
import tasks  # noqa: E402

SEEN = {}


def paired_z(first, second) -> float:
    """Weighted mean of ``first - second`` over its standard error (as
    ``better_by_one_se``: that rule is ``z < -1``)."""
    (a, weight), (b, _) = first, second
    a, b, weight = (torch.as_tensor(v, dtype=torch.float64) for v in (a, b, weight))
    total = weight.sum()
    d = a - b
    mean = (weight * d).sum() / total
    var = (weight * (d - mean) ** 2).sum() / total
    n_eff = total**2 / weight.square().sum()
    return float(mean / (var / n_eff).sqrt().clamp_min(1e-300))


def suite_fits(task_names, seeds):
    """Every fit of the suite's folds: ``(name, task, seed, fold, train,
    test, model)``, the model a fresh clone of the LSTM defaults."""
    for name in task_names:
        task = tasks.TASKS[name](cache=None, quick=False)
        for seed in seeds:
            for fold, (train, test) in enumerate(run._splits(task, 3, seed)):
                model = clone(models.library_models(task, seed)["LSTM (defaults)"])
                yield name, task, seed, fold, train, test, model


def split_half():
    """Patch the estimators: their validation rows are halved at random;
    early stopping (and the epoch kept) sees the first half only, the keep
    decision the second only. The training rows are unchanged."""
    estimator = base._BaseSequenceEstimator
    split, keep = estimator._split, estimator._keep_linear_model

    def _split(self, n, stratify):
        train, valid = split(self, n, stratify)
        rng = np.random.RandomState(self._seed)
        valid = rng.permutation(valid)
        half = max(1, len(valid) // 2)
        self._decide_rows = np.sort(valid[half:])
        return train, np.sort(valid[:half])

    def _keep(self, start, valid_ds, all_ds, parallel=None):
        rows = self._decide_rows
        w = all_ds.sample_weight
        decide_ds = SequenceDataset(all_ds.X[rows], all_ds.y[rows],
                                    None if w is None else w[rows])
        return keep(self, start, decide_ds, all_ds, parallel)

    estimator._split, estimator._keep_linear_model = _split, _keep


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", choices=["network", "linear", "rule"],
                        required=True)
    parser.add_argument("--split-half", action="store_true",
                        help="early stopping on one half of the validation "
                             "split, the keep decision on the other (round 4d)")
    parser.add_argument("--tasks", nargs="+", default=list(tasks.TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    def decide(network, linear):
        SEEN["z"] = paired_z(network, linear)
        if args.keep == "rule":
            return SEEN["z"] < -1
        return args.keep == "network"

    base.better_by_one_se = decide
    if args.split_half:
        split_half()
    with open(args.out, "a") as out:
        for name, task, seed, fold, train, test, model in suite_fits(args.tasks,
                                                                     args.seeds):
            SEEN.clear()
            row, _ = run.run_one(task, "LSTM (defaults)", "library", model,
                                 seed, fold, train, test)
            out.write(json.dumps(dict(
                task=name, seed=seed, fold=fold, keep=args.keep,
                split_half=args.split_half,
                score=row.get("score"), z=SEEN.get("z"),
                best_epoch=row.get("best_epoch"),
                fit_seconds=row.get("fit_seconds"))) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
