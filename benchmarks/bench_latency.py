"""Latency of one sequence, raw events to probability: export path vs Pipeline.

A fitted pipeline (SequenceVectorizer + LSTMSequenceClassifier with its
default wide path, on ``make_event_log``: a time column, two categorical
columns and a price) predicts one user's events at a time, on one thread:

- pipeline: ``pipe.predict_proba(one-row sequence frame)`` (pandas/pyarrow
  vectorizer, skorch estimator, torch);
- export: ``ExportedModel.predict_proba([{column: [values]}])`` from the
  same events as JSON-like lists (NumpyEncoder + onnxruntime, 1 thread);
- export int8: the same with ``export(..., quantize=True)``.

The calls are interleaved (pipeline, export, int8, pipeline, ...) so that
machine load hits all alike. Reports p50/p99 per path, the speed-up of the
export path over the pipeline, and the probability change of int8.

    python benchmarks/bench_latency.py [--calls 1000] [--hidden 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import print_table, write_result

import seqestimators as se
from seqestimators.datasets import make_event_log
from seqestimators.export import ExportedModel, export

COLUMNS = ["timestamp", "event_type", "category", "price"]


def _instances(X) -> list:
    """The rows of a sequence frame as JSON-like event lists (ISO strings)."""
    out = []
    for row in X.to_dict("records"):
        row = {k: list(v) for k, v in row.items()}
        row["timestamp"] = [t.isoformat() for t in row["timestamp"]]
        out.append(row)
    return out


def _fit(n_users: int, hidden: int):
    events, targets = make_event_log(n_users, random_state=0)
    X = se.to_sequences(events, columns=COLUMNS)
    y = targets.loc[X.index, "will_buy"].to_numpy()
    clf = se.LSTMSequenceClassifier(hidden_size=hidden, max_epochs=3, random_state=0)
    n_train = int(0.8 * len(X))
    pipe = se.make_sequence_pipeline(se.SequenceVectorizer(), clf)
    return pipe.fit(X.iloc[:n_train], y[:n_train]), X.iloc[n_train:], y[n_train:]


def _percentiles(times) -> dict:
    ms = np.asarray(times) * 1e3
    return {"p50_ms": round(float(np.percentile(ms, 50)), 4),
            "p99_ms": round(float(np.percentile(ms, 99)), 4)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args()
    pipe, X_test, y_test = _fit(args.users, args.hidden)
    folder = Path(tempfile.mkdtemp())
    fp32 = export(pipe, folder / "model.onnx")
    int8 = ExportedModel(export(pipe, folder / "int8.onnx", quantize=True).path)
    instances = _instances(X_test)
    frames = [X_test.iloc[[i]] for i in range(len(X_test))]
    paths = {
        "pipeline": lambda i: pipe.predict_proba(frames[i]),
        "export": lambda i: fp32.predict_proba([instances[i]]),
        "export_int8": lambda i: int8.predict_proba([instances[i]]),
    }
    times = {name: [] for name in paths}
    for call in range(args.calls):
        i = call % len(instances)
        for name, fn in paths.items():
            t0 = time.perf_counter()
            fn(i)
            times[name].append(time.perf_counter() - t0)
    rows = [{"path": name, **_percentiles(t)} for name, t in times.items()]
    base = rows[0]["p50_ms"]
    for r in rows:
        r["speedup_p50"] = round(base / r["p50_ms"], 1)
    print_table(rows, ["path", "p50_ms", "p99_ms", "speedup_p50"])
    p_ref = pipe.predict_proba(X_test)
    p_fp32 = fp32.predict_proba(instances)
    p_int8 = int8.predict_proba(instances)
    accuracy = {name: float(np.mean(pipe.classes_[p.argmax(1)] == y_test))
                for name, p in [("pipeline", p_ref), ("export", p_fp32),
                                ("export_int8", p_int8)]}
    check = {"max_abs_proba_diff_export": float(np.abs(p_fp32 - p_ref).max()),
             "max_abs_proba_diff_int8": float(np.abs(p_int8 - p_ref).max()),
             "accuracy": accuracy,
             "file_bytes": {"export": (folder / "model.onnx").stat().st_size,
                            "export_int8": (folder / "int8.onnx").stat().st_size},
             "median_events": float(np.median([len(x["event_type"])
                                               for x in instances]))}
    print(check)
    path = write_result("latency", {"calls": args.calls, "hidden": args.hidden,
                                    "rows": rows, **check})
    print(f"written {path}")


if __name__ == "__main__":
    main()
