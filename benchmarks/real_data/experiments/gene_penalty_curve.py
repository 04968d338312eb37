"""gene_families: scikit-learn's LogisticRegression on the k-mer counts
(1- to 6-mers) as the library's wide path sees them (counts / sqrt(length))
and as the baseline does (log1p counts), test accuracy by C on one seed's
folds. Shows how steep the accuracy is in C on counts / sqrt(length) and how
flat on log1p counts (RESULTS.md, round 3b).

    python benchmarks/real_data/experiments/gene_penalty_curve.py [SEED]
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import models  # noqa: E402
import run  # noqa: E402
import tasks  # noqa: E402

warnings.filterwarnings("ignore")
task = tasks.TASKS["gene_families"](cache=None, quick=False)
docs = models.tokens(task.X, task.categorical, True)
counts = CountVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False,
                         ngram_range=(1, 6)).fit_transform(docs).astype(float).tocsr()
inv = sp.diags(1 / np.sqrt([len(d.split()) for d in docs]))
features = {"counts/sqrt(length)": inv @ counts,
            "log1p(counts)/sqrt(length)": inv @ counts.log1p(),
            "log1p(counts)": counts.log1p()}
seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
for fold, (train, test) in enumerate(run._splits(task, 3, seed)):
    for name, X in features.items():
        scores = []
        for C in (0.1, 0.3, 1, 3, 10, 30):
            model = LogisticRegression(C=C, max_iter=3000).fit(X[train], task.y[train])
            accuracy = (model.predict(X[test]) == task.y[test]).mean()
            scores.append(f"C={C:g}: {accuracy:.3f}")
        print(f"seed {seed} fold {fold} {name:28s}", "  ".join(scores), flush=True)
