"""gene_families: scikit-learn's LogisticRegression on log-counts of 1- to
k-mers, for several longest lengths k, on the suite's folds (the suite's
baseline is k = 6). RESULTS.md, round 5.

    python benchmarks/real_data/experiments/gene_kmer_length.py \
        --k 6 8 --seeds 0 1 2
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import run  # noqa: E402
import tasks  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[6, 8])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--C", type=float, default=1.0)
    args = parser.parse_args()
    task = tasks.TASKS["gene_families"](cache=None, quick=False)
    docs = np.array(["".join(bases) for bases in task.X["base"]])
    y = task.y
    for k in args.k:
        scores = []
        for seed in args.seeds:
            for train, test in run._splits(task, 3, seed):
                model = make_pipeline(
                    CountVectorizer(analyzer="char", ngram_range=(1, k),
                                    lowercase=False),
                    FunctionTransformer(np.log1p, accept_sparse=True),
                    LogisticRegression(C=args.C, max_iter=2000))
                scores.append(model.fit(docs[train], y[train])
                              .score(docs[test], y[test]))
        print(f"k={k}: {np.round(scores, 3).tolist()} mean {np.mean(scores):.4f}",
              flush=True)


if __name__ == "__main__":
    main()
