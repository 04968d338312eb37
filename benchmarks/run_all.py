"""Run every benchmark, one after the other, on this machine.

    python benchmarks/run_all.py

Each script prints its table (most also write ``benchmarks/results/<name>.json``);
see docs/performance.md, docs/serving.md, docs/scaling.md and
docs/next_item.md for what they measure and the latest numbers.
Run it on an otherwise idle machine: every comparison is a ratio of variants
timed round-robin in the same run, but other load still adds noise.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("bench_training.py", "bench_predict.py", "bench_vectorize.py",
               "bench_scale.py", "bench_transformer.py", "bench_latency.py",
               "bench_serving.py", "bench_ddp.py", "bench_out_of_core.py",
               "bench_tuning_postgres.py", "next_item/bench_scale.py",
               "next_item/bench_prefix_speed.py"):
    print(f"\n=== {script} ===", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True)
