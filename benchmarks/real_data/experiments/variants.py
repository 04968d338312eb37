"""Estimator-parameter variants on the real-data tasks, next to the classic
baselines, on the suite's folds (``run.py``'s splits and scoring).

    python variants.py --tasks basicmotions instacart_reorder \\
        --variants defaults ens3 ens5 --seeds 0 1 2

A variant is a dict of estimator parameters (``VARIANTS``) given to the
library's default pipeline ``SequenceVectorizer() -> LSTMSequence*``. Rows are
appended to ``variants.jsonl``; ``--summary`` prints per task the mean ± std
over (seed, fold) and the paired difference to the best classic baseline.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from models import REFERENCE, classic_models  # noqa: E402
from run import _splits, run_one  # noqa: E402
from tasks import TASKS  # noqa: E402

from seqestimators import (  # noqa: E402
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceVectorizer,
)

#: name -> estimator parameters on top of the defaults
VARIANTS: dict[str, dict] = {
    "defaults": {},
    "ens3": {"ensemble_size": 3},
    "ens5": {"ensemble_size": 5},
    "auto": {"ensemble_size": "auto"},
    "ng6": {"wide_ngrams": 6},
    "ens5-ng6": {"ensemble_size": 5, "wide_ngrams": 6},
    "ens5-lr1e-3": {"ensemble_size": 5, "lr": 1e-3},
    "ens5-wa0.1": {"ensemble_size": 5, "wide_alpha": 0.1},
    "ng6-wlr10": {"wide_ngrams": 6, "_wide_lr_factor": 10.0},
    "wlr10": {"_wide_lr_factor": 10.0},
    "ens3-ng6-wlr10": {"ensemble_size": 3, "wide_ngrams": 6, "_wide_lr_factor": 10.0},
    # from here on: the wide path is fitted first (linear start, numeric
    # summaries in the wide path) -- the library after "defaults" above
    # ("lin*": the first linear start, summaries not standardized; "std*":
    # summaries standardized with the training data, the committed version)
    "lin": {},
    "lin-auto": {"ensemble_size": "auto"},
    "std": {},
    "std-auto": {"ensemble_size": "auto"},
    "std-ng6": {"wide_ngrams": 6},
    "std-auto-ng6": {"ensemble_size": "auto", "wide_ngrams": 6},
}

OUT = HERE / "variants.jsonl"


class _WideLr:
    """Candidate: the wide path's weights get ``_wide_lr_factor`` x lr."""

    _wide_lr_factor = 1.0

    def _build_net(self, *args, **kwargs):
        net = super()._build_net(*args, **kwargs)
        if self._wide_lr_factor != 1.0:
            net.set_params(optimizer__param_groups=[
                ("*wide*", {"lr": net.lr * self._wide_lr_factor})])
        return net


def _model(task, params: dict, seed: int):
    cls = LSTMSequenceRegressor if task.kind == "count" else LSTMSequenceClassifier
    params = dict(params)
    factor = params.pop("_wide_lr_factor", 1.0)
    if factor != 1.0:
        cls = type(f"WideLr{cls.__name__}", (_WideLr, cls),
                   {"_wide_lr_factor": factor})
    return make_pipeline(SequenceVectorizer(),
                         cls(random_state=seed, n_threads=1, **params))


def run(args) -> None:
    for task_name in args.tasks:
        task = TASKS[task_name](cache=args.cache, quick=False)
        print(f"=== {task_name}: {task.summary()}", flush=True)
        for seed in args.seeds:
            for fold, (train, test) in enumerate(_splits(task, args.folds, seed)):
                models = [(n, m) for n, m in classic_models(task, seed).items()
                          if n not in REFERENCE] if args.classic else []
                models += [(v, _model(task, VARIANTS[v], seed)) for v in args.variants]
                for name, model in models:
                    row, _ = run_one(task, name, "x", clone(model), seed, fold,
                                     train, test)
                    row["variant"] = name
                    with OUT.open("a") as fh:
                        fh.write(json.dumps(row, default=str) + "\n")
                    print(f"{task_name} s{seed} f{fold} {name:40s} "
                          f"{row.get('score', np.nan):.4f} "
                          f"{row.get('fit_seconds', np.nan):6.1f}s "
                          f"{row.get('status')}", flush=True)


def summary(tasks=None) -> None:
    rows = pd.read_json(OUT, lines=True)
    rows = rows[rows.status == "ok"]
    for task, g in rows.groupby("task"):
        if tasks and task not in tasks:
            continue
        lower = g.metric.iloc[0] == "poisson_deviance"
        classic = g[g.family == "x"][~g.model.isin(VARIANTS)]
        best = None
        if len(classic):
            means = classic.groupby("model").score.mean()
            best = means.idxmin() if lower else means.idxmax()
        print(f"\n## {task} ({g.metric.iloc[0]}; best classic: {best})")
        ref = (None if best is None
               else g[g.model == best].set_index(["seed", "fold"]).score)
        for name, m in g.groupby("model"):
            s = m.set_index(["seed", "fold"]).score
            line = (f"{name:42s} {s.mean():.4f} ± {s.std(ddof=0):.4f} n={len(s)} "
                    f"fit {m.fit_seconds.mean():6.1f}s")
            if ref is not None and name != best:
                d = (s - ref).dropna()
                if len(d):
                    se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan
                    line += f"  diff {d.mean():+.4f} (SE {se:.4f})"
            print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=[])
    parser.add_argument("--variants", nargs="+", default=["defaults"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--classic", action="store_true",
                        help="also fit the classic baselines")
    parser.add_argument("--cache", default=None)
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args()
    if args.summary:
        summary(args.tasks)
    else:
        run(args)
