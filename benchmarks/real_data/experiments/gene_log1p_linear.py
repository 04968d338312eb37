"""gene_families: the linear model alone (the LSTM defaults with the
network never kept: the linear start refitted on every training sequence).
--counts chooses how the wide path enters an id's or k-mer's count c:
"log1p" (log1p(c) / sqrt(length), the library's default since round 4) or
"linear" (c / sqrt(length), rounds 1-3). Round 3b ran a prototype of the
log1p path patched into this script (commit 6bb171d); the library now
does it itself. --extra-l2 appends weaker penalties to the linear start's
path (round 4c). --ngrams sets the longest k-mer (the default "auto"
gives 6 on this task; round 5). RESULTS.md, rounds 3b, 4c and 5.

    python benchmarks/real_data/experiments/gene_log1p_linear.py \
        [--counts linear] [--extra-l2 1e-5 1e-6] [--ngrams 8] --seed 0 \
        --folds 0 1 2
"""

import argparse
import functools
import json
import sys
import time
from pathlib import Path

from sklearn.pipeline import make_pipeline

import seqestimators.neural_network._base as base
from seqestimators import LSTMSequenceClassifier, SequenceVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import run  # noqa: E402
import tasks  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", choices=["linear", "log1p"], default="log1p")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--extra-l2", type=float, nargs="*", default=[],
                        help="weaker penalties appended to the path (round 4c)")
    parser.add_argument("--ngrams", default="auto",
                        help="wide_ngrams: the longest k-mer (round 5)")
    args = parser.parse_args()
    if args.extra_l2:
        from seqestimators.neural_network import _linear_start
        from seqestimators.nn import L2_PATH, fit_linear_start
        _linear_start.fit_linear_start = functools.partial(
            fit_linear_start, l2_path=(*L2_PATH, *args.extra_l2))
    base.WIDE_COUNTS = args.counts
    base.better_by_one_se = lambda first, second: False  # the linear model
    task = tasks.TASKS["gene_families"](cache=None, quick=False)
    splits = list(run._splits(task, 3, args.seed))
    for fold in args.folds:
        train, test = splits[fold]
        model = make_pipeline(SequenceVectorizer(), LSTMSequenceClassifier(
            random_state=args.seed, max_epochs=1,
            wide_ngrams=args.ngrams if args.ngrams == "auto" else int(args.ngrams)))
        t0 = time.perf_counter()
        row, fitted = run.run_one(task, "linear alone", "library", model,
                                  args.seed, fold, train, test)
        print(json.dumps(dict(
            counts=args.counts, extra_l2=args.extra_l2, ngrams=args.ngrams,
            seed=args.seed,
            fold=fold, score=row["score"],
            seconds=round(time.perf_counter() - t0),
            wide_alpha=fitted[-1].wide_alpha_)), flush=True)


if __name__ == "__main__":
    main()
