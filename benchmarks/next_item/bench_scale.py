"""Scale of the next-event recommenders: a synthetic catalogue of 100k items.

    python benchmarks/next_item/bench_scale.py                # 0.25M, 1M events
    python benchmarks/next_item/bench_scale.py --events 10000000

Each size is fitted in a fresh subprocess (so that its peak RSS is its own):
``LSTMSequenceRecommender`` (GRU, defaults: ``loss="auto"`` is the sampled
softmax above 20,000 items) for one epoch over vectorized sequences of
100 events per user, item ids drawn from a Zipf-like law over 100,000 items.
Reported: training events per second and the process's peak RSS, next to
the size of the data itself (so that "bounded memory" reads as "peak RSS
minus data stays flat"). Results: ``scale.csv`` and
``docs/img/next_item_scale.png``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N_ITEMS = 100_000
LENGTH = 100


def synthetic(n_events: int, seed: int = 0):
    """Ragged sequences of ``LENGTH`` events; each user walks near a
    Zipf-drawn item (so that the next item is partly predictable)."""
    from seqestimators import RaggedSequences

    rng = np.random.default_rng(seed)
    n_users = max(1, n_events // LENGTH)
    base = (rng.zipf(1.2, n_users) % N_ITEMS).astype(np.int64)
    steps = rng.integers(-3, 4, (n_users, LENGTH)).cumsum(axis=1)
    ids = (base[:, None] + steps) % N_ITEMS + 2
    offsets = np.arange(n_users + 1, dtype=np.int64) * LENGTH
    return RaggedSequences(offsets, ids.reshape(-1, 1).astype(np.int64),
                           cardinalities=[N_ITEMS + 2])


def one(n_events: int) -> dict:
    """Fit one epoch on ``n_events`` events in this process."""
    import seqestimators as se

    X = synthetic(n_events)
    data_mb = (X.categorical.nbytes + X.offsets.nbytes) / 2**20
    rec = se.LSTMSequenceRecommender(max_epochs=1, early_stopping=False,
                                     random_state=0, n_threads=1)
    t = time.perf_counter()
    rec.fit(X)
    seconds = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(events=int(X.n_events), items=N_ITEMS, fit_seconds=seconds,
                events_per_s=X.n_events / seconds, peak_rss_mb=rss,
                data_mb=data_mb, train_loss=rec.loss_curve_[-1])


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ev = [r["events"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    a.plot(ev, [r["events_per_s"] for r in rows], "o-")
    a.set(xscale="log", xlabel="training events", ylabel="events / s",
          title="GRU recommender, 100k items, 1 thread")
    a.set_ylim(bottom=0)
    b.plot(ev, [r["peak_rss_mb"] for r in rows], "o-", label="peak RSS")
    b.plot(ev, [r["data_mb"] for r in rows], "s--", label="data (ids)")
    b.set(xscale="log", xlabel="training events", ylabel="MB", title="memory")
    b.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+",
                        default=[250_000, 1_000_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one)))
        return 0
    rows = []
    for n in args.events:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)],
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{row['events']:>11,} events  {row['events_per_s']:8,.0f} events/s  "
              f"peak RSS {row['peak_rss_mb']:6,.0f} MB  (data "
              f"{row['data_mb']:.0f} MB)  {row['fit_seconds']:.0f} s", flush=True)
    import pandas as pd

    pd.DataFrame(rows).to_csv(HERE / "scale.csv", index=False)
    plot(rows, HERE.parent.parent / "docs" / "img" / "next_item_scale.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
