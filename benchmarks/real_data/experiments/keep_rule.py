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

import torch
from sklearn.base import clone

import seqestimators.neural_network._base as base

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", choices=["network", "linear"], required=True)
    parser.add_argument("--tasks", nargs="+", default=list(tasks.TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    def decide(network, linear):
        SEEN["z"] = paired_z(network, linear)
        return args.keep == "network"

    base.better_by_one_se = decide
    with open(args.out, "a") as out:
        for name in args.tasks:
            task = tasks.TASKS[name](cache=None, quick=False)
            for seed in args.seeds:
                for fold, (train, test) in enumerate(run._splits(task, 3, seed)):
                    SEEN.clear()
                    model = clone(models.library_models(task, seed)["LSTM (defaults)"])
                    row, _ = run.run_one(task, "LSTM (defaults)", "library", model,
                                         seed, fold, train, test)
                    out.write(json.dumps(dict(
                        task=name, seed=seed, fold=fold, keep=args.keep,
                        score=row.get("score"), z=SEEN.get("z"),
                        best_epoch=row.get("best_epoch"),
                        fit_seconds=row.get("fit_seconds"))) + "\n")
                    out.flush()


if __name__ == "__main__":
    main()
