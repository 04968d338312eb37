"""The linear start with the event-id groups never left out: each
categorical channel's id weights (``ids_<i>``) stay in at the strongest
finite penalty of the path where the library leaves them out (the
n-grams and numeric summaries follow the one-standard-error rule as
before). Writes suite rows (``run.py``'s CSV format) of the LSTM
defaults so patched, on the suite's folds. RESULTS.md, round 6.

    python benchmarks/real_data/experiments/keep_ids.py --out keep_ids.csv \
        [--tasks ...] [--seeds ...]
"""

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from seqestimators.nn import _linear_start as ls

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402
import tasks  # noqa: E402
from keep_rule import suite_fits  # noqa: E402

LEAVE_OUT = ls._Fit.leave_out


def leave_out_but_ids(self, best: dict) -> dict:
    """The library's ``leave_out`` with the ``ids_*`` groups exempt: an
    id group the path left out comes back at the strongest finite
    penalty."""
    strongest = max(v for v in ls.L2_PATH if math.isfinite(v))
    out = [g for g in self.groups
           if g.startswith("ids_") and math.isinf(best["l2"][g])]
    if out:
        l2s = {**best["l2"], **dict.fromkeys(out, strongest)}
        self.minimize(l2s)
        best = {"l2": l2s, "valid_loss": self.mean_loss(self.valid),
                "state": self.state()}
    ids = {g: best["l2"][g] for g in self.groups if g.startswith("ids_")}
    groups = self.groups
    try:
        self.groups = [g for g in groups if g not in ids]
        best = LEAVE_OUT(self, best)
    finally:
        self.groups = groups
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(tasks.TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    ls._Fit.leave_out = leave_out_but_ids
    rows = []
    for name, task, seed, fold, train, test, model in suite_fits(args.tasks,
                                                                 args.seeds):
        row, fitted = run.run_one(task, "LSTM (defaults)", "library", model,
                                  seed, fold, train, test)
        if fitted is not None:
            row["wide_alpha"] = repr(fitted[-1].wide_alpha_)
        rows.append(row)
        print(name, seed, fold, row.get("score"), row.get("wide_alpha"),
              flush=True)
        pd.DataFrame(rows).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
