"""Shared helpers of the benchmark scripts: workloads, timing, result files."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"

#: torch threads of every benchmark (env BENCH_THREADS, default 1): one
#: thread gives stable numbers on a small shared machine, where two threads
#: competing with any other load can run ~10x slower
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
torch.set_num_threads(THREADS)


def long_tailed_lengths(n, *, median=20, max_len=500, sigma=1.0, seed=0):
    """Lognormal sequence lengths (most short, a few very long), in [1, max_len]."""
    rng = np.random.default_rng(seed)
    lengths = np.exp(rng.normal(np.log(median), sigma, size=n)).round()
    return np.clip(lengths, 1, max_len).astype(np.int64)


def ragged_workload(lengths, *, vocab=5000, seed=0):
    """RaggedSequences with one categorical channel (ids in [2, vocab + 2))."""
    from seqestimators import RaggedSequences

    rng = np.random.default_rng(seed)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    ids = rng.integers(2, vocab + 2, size=int(offsets[-1]))
    X = RaggedSequences(offsets, ids[:, None], cardinalities=[vocab + 2])
    y = rng.integers(0, 2, size=len(lengths))
    return X, y


def best_of(fn, repeats=3):
    """Minimum wall time of ``repeats`` calls of ``fn`` (seconds)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def interleaved(variants: dict, repeats=3):
    """Time several variants round-robin (a, b, c, a, b, c, ...) and keep the
    best time of each, so drifting machine load hits all of them alike.

    A variant returning a float reports its own time (e.g. one epoch out of
    several); otherwise its wall time counts."""
    times = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            own = fn()
            wall = time.perf_counter() - t0
            times[name].append(float(own) if isinstance(own, float) else wall)
    return {name: min(ts) for name, ts in times.items()}


def machine():
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def write_result(name: str, payload: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=1))
    return path


def print_table(rows, columns):
    widths = [max(len(str(c)), *(len(str(r[c])) for r in rows)) for c in columns]
    line = "  ".join(str(c).ljust(w) for c, w in zip(columns, widths))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(r[c]).ljust(w) for c, w in zip(columns, widths)))
