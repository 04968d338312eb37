"""Training time at equal quality: the recommender against the prefix route.

    python benchmarks/real_data/fetch.py      # once: datasets into the cache
    python benchmarks/next_item/bench_prefix_speed.py [--prefixes 200]
                                                      [--epochs 1]

On MovieLens (leave-last-out, whole catalogue ranked, items already rated
excluded), in one process, one after the other so that both see the same
machine: ``LSTMSequenceRecommender`` with its defaults but ``max_epochs``
(one pass by default), then the prefix route of ``run.py``
(``make_next_event_samples`` with ``--prefixes`` prefixes per user +
``LSTMSequenceClassifier``). Reported: HR@10 and fit seconds of both, and
the ratio of the fit times; the claim "k times faster at equal or better
HR@10" holds only when the recommender's HR@10 is at least the route's.
Results are appended to ``prefix_speed.csv``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "real_data"))
sys.path.insert(0, str(HERE))

import run as R  # noqa: E402

import seqestimators as se  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefixes", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        X = R.load_movielens()
    except Exception as exc:  # offline: the fetch script explains
        print(f"movielens: skipped ({exc})")
        return 0
    history, y = se.leave_last_out(X, "item")
    rec = se.LSTMSequenceRecommender(target="item", max_epochs=args.epochs,
                                     random_state=args.seed)
    t = time.perf_counter()
    rec.fit(history)
    fit = time.perf_counter() - t
    hr, ndcg = R.hits_of_topk(rec.predict_topk(history, k=R.K), y)
    print(f"recommender, {args.epochs} epoch(s): HR@10 {hr:.3f} NDCG@10 {ndcg:.3f} "
          f"({fit:.1f} s)", flush=True)
    route = R.prefix_route_rows("movielens", history, y, True, args.seed,
                                args.prefixes)[0]
    ratio = route["fit_seconds"] / fit
    verdict = "equal or better" if hr >= route["hr10"] else "WORSE"
    print(f"prefix route / recommender fit time: {ratio:.1f}x; the recommender's "
          f"HR@10 is {verdict} ({hr:.3f} vs {route['hr10']:.3f})")
    row = dict(seed=args.seed, epochs=args.epochs, prefixes=args.prefixes,
               recommender_hr10=hr, recommender_ndcg10=ndcg,
               recommender_fit_seconds=fit, route_hr10=route["hr10"],
               route_ndcg10=route["ndcg10"], route_fit_seconds=route["fit_seconds"],
               time_ratio=ratio)
    out = HERE / "prefix_speed.csv"
    old = pd.read_csv(out) if out.exists() else pd.DataFrame()
    pd.concat([old, pd.DataFrame([row])], ignore_index=True).to_csv(out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
