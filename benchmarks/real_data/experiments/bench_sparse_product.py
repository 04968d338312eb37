"""Fit time of the linear start with its sparse products through
``torch.sparse.mm`` on the COO design blocks (before round 5d) and
through CSR copies of each block and of its transpose (now), measured in
one process, the two alternating, on fold 0 of seed 0 of the given tasks;
the LSTM defaults with the network never kept and one epoch, so the fit
is the linear start. Prints one JSON line per fit and each task's ratio
of median fit times. RESULTS.md, round 5d.

    python benchmarks/real_data/experiments/bench_sparse_product.py \
        [--tasks gene_families instacart_reorder] [--repeats 2]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone

import seqestimators.neural_network._base as base
from seqestimators.nn import _linear_start

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import models  # noqa: E402
import run  # noqa: E402
import tasks  # noqa: E402

CSR = _linear_start._Fit._sparse_matmul


def coo(self, x, w):
    return torch.sparse.mm(x, w)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+",
                        default=["gene_families", "instacart_reorder"])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    base.better_by_one_se = lambda first, second: False  # the linear model
    for name in args.tasks:
        task = tasks.TASKS[name](cache=None, quick=False)
        train, test = run._splits(task, 3, 0)[0]
        seconds = {"coo": [], "csr": []}
        for _ in range(args.repeats):
            for product, method in (("coo", coo), ("csr", CSR)):
                _linear_start._Fit._sparse_matmul = method
                model = clone(models.library_models(task, 0)["LSTM (defaults)"])
                model[-1].set_params(max_epochs=1)
                row, fitted = run.run_one(task, "LSTM (defaults)", "library", model,
                                          0, 0, train, test)
                seconds[product].append(row["fit_seconds"])
                print(json.dumps(dict(task=name, product=product, score=row["score"],
                                      fit_seconds=round(row["fit_seconds"], 1),
                                      wide_alpha=fitted[-1].wide_alpha_)), flush=True)
        ratio = np.median(seconds["coo"]) / np.median(seconds["csr"])
        print(json.dumps(dict(task=name, coo_over_csr_time=round(float(ratio), 2))),
              flush=True)


if __name__ == "__main__":
    main()
