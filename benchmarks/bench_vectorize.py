"""Grouping and vectorizing a large event log.

A 5M-event log (50,000 users, 20,000 items, event types, prices, timestamps)
goes through ``to_sequences`` + ``SequenceVectorizer(max_len=200)
.fit_transform``, side by side with the pandas way (``groupby().agg(list)``),
round-robin in one run. Also times already time-ordered input (the sort is
skipped) and reports peak memory (RSS) of each step against the size of the
input columns.

    python benchmarks/bench_vectorize.py [--events 5000000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
import pandas as pd
from _common import interleaved, print_table, write_result

from seqestimators import SequenceVectorizer, to_sequences


def make_log(n_events, n_users, n_items, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "user_id": rng.integers(0, n_users, n_events),
        "timestamp": pd.Timestamp("2024-01-01")
        + pd.to_timedelta(rng.integers(0, 90 * 86400, n_events), unit="s"),
        "event_type": pd.Series(
            rng.choice(np.array(["view", "cart", "purchase"], dtype=object),
                       n_events, p=[0.8, 0.15, 0.05])).astype("str"),
        "item_id": rng.integers(0, n_items, n_events),
        "price": rng.gamma(2.0, 20.0, n_events),
    })


def ours(events):
    seqs = to_sequences(events, by="user_id", order_by="timestamp")
    return SequenceVectorizer(max_len=200).fit_transform(seqs)


def pandas_groupby(events):
    # the usual hand-written route: sort, group into Python lists
    ordered = events.sort_values(["user_id", "timestamp"], kind="stable")
    return ordered.groupby("user_id").agg(list)


def peak_rss_child(n_events, n_users, n_items, step):
    """RSS (MiB) of a fresh process before ``step`` and at its peak during it.

    A thread samples ``/proc/self/statm`` every millisecond while ``step``
    runs (the process's high-water mark would include building the log).
    """
    code = f"""
import gc, os, sys, threading, time
sys.path.insert(0, {str(__file__.rsplit('/', 1)[0])!r})
from bench_vectorize import make_log, ours, pandas_groupby
page = os.sysconf("SC_PAGE_SIZE") / 2**20
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
ev = make_log({n_events}, {n_users}, {n_items})
gc.collect()
base = rss(); peak = [base]; done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss()); time.sleep(0.001)
t = threading.Thread(target=sample); t.start()
out = {step}(ev)
done.set(); t.join()
print(base, peak[0], ev.memory_usage(deep=True).sum() / 2**20)
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True)
    base, peak, input_mb = map(float, res.stdout.split())
    return base, peak, input_mb


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    events = make_log(args.events, args.users, args.items)
    presorted = events.sort_values(["user_id", "timestamp"], kind="stable")
    presorted = presorted.reset_index(drop=True)
    times = interleaved(
        {
            "to_sequences + vectorizer": lambda: ours(events),
            "same, input already sorted": lambda: ours(presorted),
            "pandas sort + groupby.agg(list)": lambda: pandas_groupby(events),
        },
        repeats=args.repeats,
    )
    rows = [{"variant": k, "seconds": round(v, 2),
             "events/s": f"{args.events / v:,.0f}"} for k, v in times.items()]
    print_table(rows, ["variant", "seconds", "events/s"])
    pandas_s = times["pandas sort + groupby.agg(list)"]
    speedup = pandas_s / times["to_sequences + vectorizer"]
    print(f"\nto_sequences + vectorizer vs pandas groupby.agg(list): {speedup:.1f}x "
          "(target >= 4x; pandas does not even encode categories)")
    base, peak, input_mb = peak_rss_child(args.events, args.users, args.items, "ours")
    print(f"peak RSS: {peak:.0f} MiB with the input log at {base:.0f} MiB "
          f"(input columns {input_mb:.0f} MiB); extra {peak - base:.0f} MiB = "
          f"{(peak - base) / input_mb:.2f}x the input columns (target <= 3x)")
    path = write_result("vectorize", {
        "rows": rows, "speedup_vs_pandas": speedup,
        "peak_rss_mib": peak, "baseline_rss_mib": base, "input_mib": input_mb,
        "args": vars(args),
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
