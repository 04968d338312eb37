"""Fit time and score of the LSTM defaults with the wide path's counts
entered as c ("linear", rounds 1-3) or as log1p(c) (round 4), measured in
one process, the two alternating (so that load changes hit both), on one
fold of the suite's tasks with repeated ids. Prints one JSON line per fit
and the per-task ratio of median fit times. RESULTS.md, round 4.

    python benchmarks/real_data/experiments/bench_wide_counts.py \
        [--tasks instacart_reorder gene_families] [--repeats 2]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.base import clone

import seqestimators.neural_network._base as base

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import models  # noqa: E402
import run  # noqa: E402
import tasks  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+",
                        default=["instacart_reorder", "gene_families"])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    for name in args.tasks:
        task = tasks.TASKS[name](cache=None, quick=False)
        train, test = run._splits(task, 3, 0)[0]
        seconds = {"linear": [], "log1p": []}
        for _ in range(args.repeats):
            for counts in seconds:
                base.WIDE_COUNTS = counts
                model = clone(models.library_models(task, 0)["LSTM (defaults)"])
                row, _ = run.run_one(task, "LSTM (defaults)", "library", model,
                                     0, 0, train, test)
                seconds[counts].append(row["fit_seconds"])
                print(json.dumps(dict(task=name, counts=counts, score=row["score"],
                                      fit_seconds=row["fit_seconds"],
                                      best_epoch=row.get("best_epoch"))), flush=True)
        ratio = np.median(seconds["linear"]) / np.median(seconds["log1p"])
        print(json.dumps(dict(task=name, linear_over_log1p_time=round(ratio, 2))),
              flush=True)


if __name__ == "__main__":
    main()
