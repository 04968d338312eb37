"""Fit time and score of the LSTM defaults on gene_families with the
wide path's k-mers up to 6 (``wide_ngrams=6``, the rule before round 5)
and up to what ``wide_ngrams="auto"`` chooses now (8 on this task),
measured in one process, the two alternating (so that load changes hit
both), on fold 0 of seed 0. Prints one JSON line per fit and the ratio of
median fit times. RESULTS.md, round 5.

    python benchmarks/real_data/experiments/bench_kmer_length.py [--repeats 2]
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.base import clone

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import models  # noqa: E402
import run  # noqa: E402
import tasks  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    task = tasks.TASKS["gene_families"](cache=None, quick=False)
    train, test = run._splits(task, 3, 0)[0]
    seconds = {6: [], "auto": []}
    for _ in range(args.repeats):
        for ngrams in seconds:
            model = clone(models.library_models(task, 0)["LSTM (defaults)"])
            model[-1].set_params(wide_ngrams=ngrams)
            row, fitted = run.run_one(task, "LSTM (defaults)", "library", model,
                                      0, 0, train, test)
            seconds[ngrams].append(row["fit_seconds"])
            used = fitted[-1].net_.get_params_for("module")["wide_ngrams"]
            print(json.dumps(dict(wide_ngrams=ngrams, used=used, score=row["score"],
                                  fit_seconds=row["fit_seconds"],
                                  best_epoch=row.get("best_epoch"))), flush=True)
    ratio = np.median(seconds["auto"]) / np.median(seconds[6])
    print(json.dumps(dict(auto_over_6_time=round(float(ratio), 2))), flush=True)


if __name__ == "__main__":
    main()
