"""Load test of the HTTP service on 127.0.0.1: throughput and p50/p99 latency.

An exported classifier (as in ``bench_latency.py``) is served twice by
``python -m seqestimators.serve``, as real subprocesses on free ports:

- batched: micro-batching of concurrent requests (``--max-batch 64
  --max-wait-ms 2``, the defaults);
- unbatched: every request alone (``--max-batch 1 --max-wait-ms 0``), the
  baseline of the same run.

``--clients`` threads, each with a keep-alive connection, send single-sequence
``POST /predict`` requests (raw events as JSON) until ``--requests`` are done
or ``--seconds`` have passed, whichever comes first. The client runs in this
process (Python threads), so on a small machine it competes with the server
for the CPU: the numbers are a floor of what the server can do.

    python benchmarks/bench_serving.py [--clients 16] [--requests 4000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _common import print_table, write_result
from bench_latency import _fit, _instances

from seqestimators.export import export


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(model: Path, *args: str):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "seqestimators.serve", str(model), "--port",
         str(port), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def _load(port: int, bodies: list, clients: int, n_requests: int, seconds: float):
    """Latencies (s) of the requests sent, and the wall time."""
    latencies, errors = [], []
    counter = iter(range(n_requests))
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop_at:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t0 = time.perf_counter()
            conn.request("POST", "/predict", body=bodies[i % len(bodies)],
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            elapsed = time.perf_counter() - t0
            with lock:
                (latencies if resp.status == 200 else errors).append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return np.asarray(latencies), len(errors), time.perf_counter() - t0


def _stats(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/health")
    return json.loads(conn.getresponse().read())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args()
    pipe, X_test, _ = _fit(2000, args.hidden)
    path = Path(tempfile.mkdtemp()) / "model.onnx"
    export(pipe, path)
    bodies = [json.dumps({"instance": x, "return": "probabilities"}).encode()
              for x in _instances(X_test)]
    servers = {"batched": [], "unbatched": ["--max-batch", "1", "--max-wait-ms", "0"]}
    rows = []
    for name, extra in servers.items():
        proc, port = _start(path, *extra)
        try:
            _load(port, bodies, args.clients, 200, 10.0)  # warm-up
            before = _stats(port)
            lat, n_errors, wall = _load(port, bodies, args.clients, args.requests,
                                        args.seconds)
            after = _stats(port)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        calls = after["network_calls"] - before["network_calls"]
        rows.append({
            "server": name, "requests": len(lat), "errors": n_errors,
            "throughput_rps": round(len(lat) / wall, 1),
            "p50_ms": round(float(np.percentile(lat * 1e3, 50)), 2),
            "p99_ms": round(float(np.percentile(lat * 1e3, 99)), 2),
            "sequences_per_call": round(len(lat) / max(calls, 1), 2),
        })
    base = rows[1]["throughput_rps"]
    for r in rows:
        r["throughput_vs_unbatched"] = round(r["throughput_rps"] / base, 2)
    print_table(rows, list(rows[0]))
    out = write_result("serving", {"clients": args.clients, "hidden": args.hidden,
                                   "rows": rows})
    print(f"written {out}")


if __name__ == "__main__":
    main()
