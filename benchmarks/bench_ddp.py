"""Data-parallel training (torch.distributed, gloo) against one process.

Workload: long-tailed sequences (lognormal lengths, median 20, max 500), one
categorical channel with a 5,000-id vocabulary, ``LSTMSequenceClassifier``
with embedding 32, hidden 64, batch 256, no dropout, no early stopping, no
linear start, one torch thread per process. Variants, timed round-robin in
one run, each in a fresh process:

- ``1 process``: a plain fit (the baseline);
- ``2 processes``: the same fit launched with ``torchrun --nproc-per-node 2``
  (gloo backend): the same global batches of 256 rows, each process
  training on half of every batch (the same model, to rounding);
- ``2 processes, batch 512``: global batches of 512 rows, 256 per process
  (the per-process batch of one process; another model: half the steps).

A variant's time is its fastest epoch after the first (from ``history_``:
no start-up, no validation). Prints per variant the wall time and events/s
of an epoch with its ratio to one process, and the CPU seconds of an epoch
summed over the processes (``time.process_time``) with their ratio to one
process: the cost of data parallelism (communication, stand-in rows, the
smaller batches per process) whatever the machine's load. Also prints how
far the two fits' loss curves are apart (they train on the same global
batches) and writes ``benchmarks/results/ddp.json``.

Where fewer cores are free than processes run (a 2-core machine shared with
other work), the processes take turns and the wall-time ratio says little
about scaling; the script prints the CPU count and load average with the
result.

    python benchmarks/bench_ddp.py [--n 8000] [--epochs 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from skorch.callbacks import Callback

HERE = Path(__file__).resolve()


class EpochCPU(Callback):
    """Record the CPU seconds of this process in each epoch (``cpu_s``)."""

    def on_epoch_begin(self, net, **kwargs):
        self.start_ = time.process_time()

    def on_epoch_end(self, net, **kwargs):
        net.history.record("cpu_s", time.process_time() - self.start_)


def _fit(n: int, epochs: int, batch_size: int) -> dict:
    """One fit of the workload in this process (inside a process group if
    there is one); its epoch times and losses."""
    from _common import long_tailed_lengths, ragged_workload

    from seqestimators import LSTMSequenceClassifier

    X, y = ragged_workload(long_tailed_lengths(n, seed=0), seed=0)
    est = LSTMSequenceClassifier(
        embedding_dim=32, hidden_size=64, batch_size=batch_size, dropout=0.0,
        wide=False, early_stopping=False, max_epochs=epochs, n_threads=1,
        random_state=0, callbacks=[EpochCPU()],
    )
    est.fit(X, y)
    return {
        "events": int(X.lengths.sum()),
        "dur": est.history_["dur"].tolist(),
        "cpu_s": est.history_["cpu_s"].tolist(),
        "train_loss": est.history_["train_loss"].tolist(),
    }


def _worker(out: str, n: int, epochs: int, batch_size: int) -> None:
    import torch.distributed as dist

    rank = 0
    if "RANK" in os.environ:
        dist.init_process_group("gloo")
        rank = dist.get_rank()
    result = _fit(n, epochs, batch_size)
    Path(f"{out}.{rank}").write_text(json.dumps(result))
    if dist.is_initialized():
        dist.destroy_process_group()


#: the worker's settings "OUT,N,EPOCHS,BATCH" (torchrun would parse options)
WORKER_ENV = "BENCH_DDP_WORKER"


def _run(processes: int, batch_size: int, n: int, epochs: int, out: Path) -> dict:
    if processes > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", str(processes), str(HERE)]
    else:
        cmd = [sys.executable, str(HERE)]
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           WORKER_ENV: f"{out},{n},{epochs},{batch_size}"}
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    runs = []
    for rank in range(processes):
        path = Path(f"{out}.{rank}")
        runs.append(json.loads(path.read_text()))
        path.unlink()
    # CPU seconds of each epoch, summed over the processes
    return {**runs[0], "cpu_s": np.sum([r["cpu_s"] for r in runs], axis=0).tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    if os.environ.get(WORKER_ENV):
        out, n, epochs, batch_size = os.environ[WORKER_ENV].split(",")
        _worker(out, int(n), int(epochs), int(batch_size))
        return
    args = parser.parse_args()
    from _common import RESULTS, print_table, write_result

    RESULTS.mkdir(exist_ok=True)
    variants = {"1 process": (1, 256), "2 processes": (2, 256),
                "2 processes, batch 512": (2, 512)}
    wall, cpu, runs = {}, {}, {}
    load = os.getloadavg()[0]
    for _ in range(args.repeats):
        for name, (processes, batch_size) in variants.items():
            run = _run(processes, batch_size, args.n, args.epochs, RESULTS / "ddp_run")
            runs[name] = run
            # the fastest epoch after the first (the steady state)
            wall[name] = min(wall.get(name, np.inf), min(run["dur"][1:]))
            cpu[name] = min(cpu.get(name, np.inf), min(run["cpu_s"][1:]))
    load = max(load, os.getloadavg()[0])
    events = runs["1 process"]["events"]
    rows = [
        {"variant": name, "epoch_s": f"{wall[name]:.2f}",
         "events_per_s": f"{events / wall[name]:,.0f}",
         "speed_ratio": f"{wall['1 process'] / wall[name]:.2f}",
         "cpu_s_per_epoch": f"{cpu[name]:.2f}",
         "cpu_ratio": f"{cpu[name] / cpu['1 process']:.2f}"}
        for name in variants
    ]
    print(f"{args.n} sequences, {events:,} events, {os.cpu_count()} CPUs, "
          f"load average up to {load:.1f}")
    print_table(rows, list(rows[0]))
    gap = np.max(np.abs(np.subtract(runs["2 processes"]["train_loss"],
                                    runs["1 process"]["train_loss"])))
    print(f"largest difference of the epochs' training losses: {gap:.2e}")
    path = write_result("ddp", {
        "n_sequences": args.n, "events": events, "cpus": os.cpu_count(),
        "load_average": load,
        "epoch_seconds": wall,
        "events_per_second": {k: events / t for k, t in wall.items()},
        "speed_ratio_2_processes": wall["1 process"] / wall["2 processes"],
        "cpu_seconds_per_epoch": cpu,
        "cpu_ratio_2_processes": cpu["2 processes"] / cpu["1 process"],
        "train_loss_max_abs_difference": float(gap),
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
