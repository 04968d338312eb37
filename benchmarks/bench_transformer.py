"""Training (and prediction) throughput: Transformer vs LSTM estimators.

Same data, same run, timed round-robin; the numbers to read are the ratios
Transformer / LSTM, not the absolute speeds (one thread, a small shared
machine). Workloads, one categorical channel with a 5,000-id vocabulary:

- ``long-tailed``: lognormal lengths (median 20, max 500), the behaviour data
  of bench_training.py, at a smaller size;
- ``long``: every sequence 512 events (attention costs ``T**2`` per sequence,
  the recurrence ``T``).

Models, each with the library's default architecture (pooled views, bag and
wide paths), embedding 32, batch 256, no early stopping, 2 epochs timed on
the second: ``LSTMSequenceClassifier()`` (hidden 64, one layer) and
``TransformerSequenceClassifier()`` (hidden 64, two blocks of four heads),
bidirectional and causal. Prints events/s and the ratios, and writes
``benchmarks/results/transformer.json``.

    python benchmarks/bench_transformer.py [--n 2000] [--n-long 128] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import (
    interleaved,
    long_tailed_lengths,
    print_table,
    ragged_workload,
    write_result,
)

from seqestimators import LSTMSequenceClassifier, TransformerSequenceClassifier

COMMON = dict(embedding_dim=32, batch_size=256, max_epochs=2, early_stopping=False,
              random_state=0)
MODELS = {
    "LSTM": lambda: LSTMSequenceClassifier(**COMMON),
    "Transformer": lambda: TransformerSequenceClassifier(**COMMON),
    "Transformer causal": lambda: TransformerSequenceClassifier(causal=True,
                                                                **COMMON),
}


def fit_epoch(make, X, y, fitted: dict, key):
    """Seconds of the second epoch of a fit; keeps the model for predict."""
    model = make().fit(X, y)
    fitted[key] = model
    return float(model.history_["dur"].iloc[-1])


def predict_seconds(model, X):
    t0 = time.perf_counter()
    model.predict_proba(X)
    return time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--n-long", type=int, default=128)
    parser.add_argument("--long", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    workloads = {
        "long-tailed": ragged_workload(long_tailed_lengths(args.n)),
        f"long ({args.long})": ragged_workload(np.full(args.n_long, args.long),
                                               seed=1),
    }
    variants, fitted = {}, {}
    for work, (X, y) in workloads.items():
        lengths = X.lengths
        print(f"{work}: {len(X):,} sequences, {X.n_events:,} events, median "
              f"{int(np.median(lengths))}, max {lengths.max()}", flush=True)
        for name, make in MODELS.items():
            variants[(work, name)] = (
                lambda make=make, X=X, y=y, key=(work, name):
                fit_epoch(make, X, y, fitted, key)
            )
    times = interleaved(variants, repeats=args.repeats)
    rows = []
    for (work, name), t in times.items():
        X = workloads[work][0]
        pred = min(predict_seconds(fitted[(work, name)], X) for _ in range(2))
        rows.append({"workload": work, "model": name, "epoch s": round(t, 2),
                     "train events/s": int(X.n_events / t),
                     "predict events/s": int(X.n_events / pred)})
    by = {(r["workload"], r["model"]): r for r in rows}
    for r in rows:
        lstm = by[(r["workload"], "LSTM")]
        r["train / LSTM"] = round(r["train events/s"] / lstm["train events/s"], 2)
        r["predict / LSTM"] = round(
            r["predict events/s"] / lstm["predict events/s"], 2)
    print_table(rows, ["workload", "model", "epoch s", "train events/s",
                       "train / LSTM", "predict events/s", "predict / LSTM"])
    path = write_result("transformer", {"args": vars(args), "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
