"""How a fit scales with the size of the event log, up to a million users.

For each size, a fresh process builds ``make_event_log(n_users)``, groups it
with ``to_sequences``, vectorizes it with ``SequenceVectorizer`` and trains
``LSTMSequenceClassifier`` (hidden 64, batch 256) for one epoch on the
``will_buy`` target. It reports the time of each step, the epoch's events/s,
the bytes per event of the vectorized data (``X.nbytes``), and the extra
resident set size at the peak of the fit over what the process held before it
(sampled every millisecond).

Linear scaling shows as constant events/s and constant bytes per event from
the smallest size to the largest. Writes ``benchmarks/results/scale.json`` and,
with matplotlib installed, ``docs/img/scale.png``.

    python benchmarks/bench_scale.py [--sizes 62500 125000 250000 500000 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from _common import THREADS, print_table, write_result

HERE = Path(__file__).resolve().parent
PLOT = HERE.parent / "docs" / "img" / "scale.png"

CHILD = """
import gc, json, sys, threading, time
sys.path.insert(0, {here!r})
import _common  # noqa: F401  (sets the torch threads)
import numpy as np
from seqestimators import LSTMSequenceClassifier, SequenceVectorizer, to_sequences
from seqestimators.datasets import make_event_log

PAGE = 4096

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20

out = {{"n_users": {n_users}}}
t0 = time.perf_counter()
events, targets = make_event_log(n_users={n_users}, random_state=0)
out["n_events"] = len(events)
out["generate_s"] = time.perf_counter() - t0
t0 = time.perf_counter()
seqs = to_sequences(events, columns=["timestamp", "event_type", "item_id",
                                     "category", "price"])
y = targets.loc[seqs.index, "will_buy"].to_numpy()
X = SequenceVectorizer(categorical=["event_type", "item_id", "category"],
                       numeric=["price"]).fit_transform(seqs)
out["vectorize_s"] = time.perf_counter() - t0
out["data_bytes_per_event"] = X.nbytes / X.n_events
del events, targets, seqs
gc.collect()
before = rss_mib()
peak = [before]
done = threading.Event()

def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss_mib())
        time.sleep(0.001)

thread = threading.Thread(target=sample, daemon=True)
thread.start()
clf = LSTMSequenceClassifier(hidden_size=64, embedding_dim=16, batch_size=256,
                             max_epochs=1, early_stopping=False, random_state=0)
t0 = time.perf_counter()
clf.fit(X, y)
out["epoch_s"] = time.perf_counter() - t0
done.set()
thread.join()
out["rss_before_fit_mib"] = before
out["fit_extra_rss_mib"] = peak[0] - before
out["train_loss"] = clf.loss_curve_[-1]
print("RESULT " + json.dumps(out))
"""


def run_size(n_users: int) -> dict:
    code = CHILD.format(here=str(HERE), n_users=n_users)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"size {n_users} failed:\n{proc.stderr[-3000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def plot(rows) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    events = [r["n_events"] / 1e6 for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    a.plot(events, [r["epoch_s"] for r in rows], "o-", label="one epoch")
    a.plot(events, [r["vectorize_s"] for r in rows], "s-",
           label="to_sequences + vectorize")
    a.set_xlabel("events (millions)")
    a.set_ylabel("seconds")
    a.set_title(f"Time ({THREADS} torch thread{'s' * (THREADS > 1)})")
    a.legend()
    b.plot(events, [r["data_bytes_per_event"] * r["n_events"] / 2**20
                    for r in rows], "o-", label="vectorized data (X.nbytes)")
    b.plot(events, [r["fit_extra_rss_mib"] for r in rows], "s-",
           label="extra RSS during fit")
    b.set_xlabel("events (millions)")
    b.set_ylabel("MiB")
    b.set_title("Memory")
    b.legend()
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=110)
    return PLOT


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[62_500, 125_000, 250_000, 500_000, 1_000_000])
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        r = run_size(n)
        r["events/s"] = int(r["n_events"] / r["epoch_s"])
        rows.append(r)
        print(f"{n:>9,} users, {r['n_events']:>11,} events: epoch "
              f"{r['epoch_s']:.1f} s ({r['events/s']:,} events/s), vectorize "
              f"{r['vectorize_s']:.1f} s, fit +{r['fit_extra_rss_mib']:.0f} MiB",
              flush=True)
    table = [{
        "users": f"{r['n_users']:,}", "events": f"{r['n_events']:,}",
        "vectorize s": round(r["vectorize_s"], 1), "epoch s": round(r["epoch_s"], 1),
        "events/s": f"{r['events/s']:,}",
        "bytes/event": round(r["data_bytes_per_event"], 1),
        "X MiB": int(r["data_bytes_per_event"] * r["n_events"] / 2**20),
        "fit extra MiB": int(r["fit_extra_rss_mib"]),
    } for r in rows]
    print()
    print_table(table, list(table[0]))
    first, last = rows[0], rows[-1]
    ratios = {
        "events/s largest / smallest (linear scaling: ~1)":
            last["events/s"] / first["events/s"],
        "fit extra RSS per event, largest / smallest (<= 1: bounded)":
            (last["fit_extra_rss_mib"] / last["n_events"])
            / (first["fit_extra_rss_mib"] / first["n_events"]),
    }
    print()
    for k, v in ratios.items():
        print(f"{k}: {v:.2f}")
    path = write_result("scale", {"rows": rows, "ratios": ratios,
                                  "args": vars(args)})
    print(f"\nwrote {path}")
    png = plot(rows)
    if png:
        print(f"wrote {png}")


if __name__ == "__main__":
    main()
