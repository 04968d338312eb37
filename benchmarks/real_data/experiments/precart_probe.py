"""onlineshop_precart: the library's default against variants of its
linear start, on the suite's folds (3 seeds x 3 folds), next to the
baselines. RESULTS.md, round 4.

    python benchmarks/real_data/experiments/precart_probe.py --variant default
"""

import argparse
import json
import sys
from pathlib import Path

from sklearn.pipeline import make_pipeline

import seqestimators.neural_network._base as base
import seqestimators.nn._linear_start as linear_start
from seqestimators import LSTMSequenceClassifier, SequenceVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import models  # noqa: E402
import run  # noqa: E402
import tasks  # noqa: E402

VARIANTS = ("default", "keep-groups", "linear-alone", "keep-groups-linear-alone",
            "baselines")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=VARIANTS, default="default")
    parser.add_argument("--task", default="onlineshop_precart")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    if "keep-groups" in args.variant:  # the linear start never leaves a group out
        linear_start.better_by_one_se = lambda first, second: True
    if "linear-alone" in args.variant:  # the network is never kept
        base.better_by_one_se = lambda first, second: False
    task = tasks.TASKS[args.task](cache=None, quick=False)
    for seed in args.seeds:
        for fold, (train, test) in enumerate(run._splits(task, 3, seed)):
            if args.variant == "baselines":
                candidates = models.classic_models(task, seed)
            else:
                candidates = {args.variant: make_pipeline(
                    SequenceVectorizer(), LSTMSequenceClassifier(random_state=seed))}
            for name, model in candidates.items():
                row, fitted = run.run_one(task, name, "x", model, seed, fold,
                                          train, test)
                extra = {}
                if args.variant != "baselines" and fitted is not None:
                    est = fitted[-1]
                    extra = dict(best_epoch=int(est.best_epoch_),
                                 wide_alpha=est.wide_alpha_)
                print(json.dumps(dict(variant=name, seed=seed, fold=fold,
                                      score=round(row["score"], 4), **extra)),
                      flush=True)


if __name__ == "__main__":
    main()
