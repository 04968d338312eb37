"""Prediction throughput and single-sequence latency.

A fitted ``LSTMSequenceClassifier`` (long-tailed workload of
``bench_training.py``) against hand-written torch inference of the same
module:

- batch: ``predict_proba`` on 20,000 sequences vs a torch loop over
  length-sorted batches padded per batch under ``torch.inference_mode``
  (batches built outside the clock);
- latency: ``predict_proba`` of one sequence vs one raw module call (p50 over
  many calls).

    python benchmarks/bench_predict.py [--n 20000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import interleaved, long_tailed_lengths, ragged_workload, write_result

from seqestimators import LSTMSequenceClassifier
from seqestimators.data._ragged import pad_rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    X, y = ragged_workload(long_tailed_lengths(args.n))
    clf = LSTMSequenceClassifier(hidden_size=64, embedding_dim=32, batch_size=256,
                                 max_epochs=1, early_stopping=False, random_state=0)
    clf.fit(X[:2000], y[:2000])
    module = clf.net_.module_.eval()
    order = np.argsort(X.lengths, kind="stable")
    batches = []
    for start in range(0, len(order), 1024):
        (cat, num), lens = pad_rows(X.offsets, [X.categorical, X.numeric],
                                    order[start:start + 1024])
        batches.append((torch.from_numpy(cat), torch.from_numpy(num),
                        torch.from_numpy(lens)))

    def raw_batch():
        with torch.inference_mode():
            for b in batches:
                torch.softmax(module(*b), dim=1)

    times = interleaved({"library predict_proba": lambda: clf.predict_proba(X),
                         "raw torch": raw_batch}, repeats=3)
    ratio = times["raw torch"] / times["library predict_proba"]
    for k, v in times.items():
        print(f"{k:>22}: {v:.3f} s  ({args.n / v:,.0f} sequences/s)")
    print(f"throughput library / raw torch: {ratio:.2f} (target >= 0.9)")

    one = X[[int(np.argsort(X.lengths)[len(X) // 2])]]  # a median-length sequence
    (cat, num), lens = pad_rows(one.offsets, [one.categorical, one.numeric])
    one_t = (torch.from_numpy(cat), torch.from_numpy(num), torch.from_numpy(lens))
    lat = {"library": [], "raw": []}
    for _ in range(args.calls):
        t0 = time.perf_counter()
        clf.predict_proba(one)
        lat["library"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with torch.inference_mode():
            torch.softmax(module(*one_t), dim=1)
        lat["raw"].append(time.perf_counter() - t0)
    p50 = {k: float(np.median(v)) * 1e3 for k, v in lat.items()}
    print(f"single-sequence p50: library {p50['library']:.3f} ms, raw torch "
          f"{p50['raw']:.3f} ms, ratio {p50['library'] / p50['raw']:.2f} "
          "(target <= 1.5)")
    path = write_result("predict", {"batch_seconds": times, "throughput_ratio": ratio,
                                    "latency_p50_ms": p50, "args": vars(args)})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
