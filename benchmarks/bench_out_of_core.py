"""An event log larger than memory: Parquet on disk -> entity-hash
partitions -> streaming vectorizer fit -> memory-mapped ragged input.

Builds ``--events`` events (default 100M; 20 events per user, 20,000 items,
event types, prices, timestamps) as a folder of Parquet files, in chunks.
Then, each step in a fresh process whose peak RSS (``VmHWM``) is read from
``/proc/self/status``:

- out of core: ``sequences_from_parquet`` + ``SequenceVectorizer(max_len=200)
  .fit(partitions)`` + ``.transform(partitions)``, on all events;
- the baseline, in memory: ``to_sequences`` + ``SequenceVectorizer(max_len=200)
  .fit_transform`` on the first ``--compare-events`` events (a size that fits),
  and the out-of-core path on the same events, for the events/s ratio.

    python benchmarks/bench_out_of_core.py [--events 100000000]
        [--compare-events 10000000] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 5_000_000
COLUMNS = ["timestamp", "event_type", "item_id", "price"]


def make_vectorizer():
    """The vectorizer of both paths; roles named (inference looks for
    identifier-like columns, which costs a full pass over item_id)."""
    from seqestimators import SequenceVectorizer

    return SequenceVectorizer(max_len=200, categorical=["event_type", "item_id"],
                              numeric=["price"], time="timestamp")
EVENT_TYPES = pa.array(["view", "cart", "purchase"])


def _chunk(n: int, n_users: int, n_items: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, n, p=[0.8, 0.15, 0.05]).astype(np.int32)
    start = np.datetime64("2024-01-01T00:00:00", "s").astype(np.int64)
    return pa.table({
        "user_id": rng.integers(0, n_users, n),
        "timestamp": pa.array(start + rng.integers(0, 90 * 86400, n),
                              type=pa.int64()).cast(pa.timestamp("s")),
        "event_type": pa.DictionaryArray.from_arrays(
            pa.array(kind), EVENT_TYPES).cast(pa.string()),
        "item_id": rng.integers(0, n_items, n),
        "price": rng.gamma(2.0, 20.0, n),
    })


def build_log(folder: Path, n_events: int, *, n_items: int = 20_000) -> None:
    """``n_events`` events of ``n_events // 20`` users as Parquet files of
    at most 5M events (at least 10 files); every file holds events of all
    users, in no order."""
    folder.mkdir(parents=True)
    n_users = max(1, n_events // 20)
    chunk = max(100_000, min(CHUNK, n_events // 10))
    for k, start in enumerate(range(0, n_events, chunk)):
        n = min(chunk, n_events - start)
        pq.write_table(_chunk(n, n_users, n_items, seed=k),
                       folder / f"events-{k:05d}.parquet")


def first_files(folder: Path, n_events: int, out: Path) -> Path:
    """A folder linking the files of the first ``n_events`` events."""
    out.mkdir(parents=True)
    total = 0
    for path in sorted(folder.glob("*.parquet")):
        if total >= n_events:
            break
        (out / path.name).symlink_to(path)
        total += pq.ParquetFile(path).metadata.num_rows
    return out


# ------------------------------------------------------------ child steps
def _peak_mib() -> tuple[float, float]:
    """Current and peak (high-water mark) RSS of this process, MiB."""
    status = Path("/proc/self/status").read_text().split("\n")
    kib = {line.split(":")[0]: int(line.split()[1]) for line in status
           if line.startswith(("VmRSS", "VmHWM"))}
    return kib["VmRSS"] / 1024, kib["VmHWM"] / 1024


def run_out_of_core(source: str, work: str) -> dict:
    from seqestimators import sequences_from_parquet

    t0 = time.perf_counter()
    parts = sequences_from_parquet(source, Path(work) / "parts", columns=COLUMNS)
    t1 = time.perf_counter()
    vec = make_vectorizer().fit(parts)
    t2 = time.perf_counter()
    X = vec.transform(parts)
    t3 = time.perf_counter()
    checksum = int(X.categorical[-1000:].sum())  # read from the memory map
    on_disk = sum(f.stat().st_size for f in parts.directory.glob("part-*"))
    return {"n_events": parts.n_events, "n_sequences": parts.n_sequences,
            "n_partitions": len(parts), "kept_events": X.n_events,
            "partition_s": t1 - t0, "fit_s": t2 - t1, "transform_s": t3 - t2,
            "seconds": t3 - t0, "checksum": checksum,
            "partitions_mib": on_disk / 2**20,
            "model_input_mib": (X.categorical.nbytes + X.numeric.nbytes) / 2**20}


def run_in_memory(source: str, work: str) -> dict:
    from seqestimators import to_sequences

    t0 = time.perf_counter()
    seqs = to_sequences(source, columns=COLUMNS)
    t1 = time.perf_counter()
    X = make_vectorizer().fit_transform(seqs)
    t2 = time.perf_counter()
    return {"n_events": int(seqs.iloc[:, 0].list.len().sum()),
            "n_sequences": len(seqs), "kept_events": X.n_events,
            "group_s": t1 - t0, "vectorize_s": t2 - t1, "seconds": t2 - t0}


def child(step: str, source: str, work: str) -> None:
    import pyarrow.dataset  # noqa: F401  (imports outside the measurement)

    import seqestimators.preprocessing  # noqa: F401

    base, _ = _peak_mib()
    result = {"out_of_core": run_out_of_core, "in_memory": run_in_memory}[step](
        source, work)
    _, peak = _peak_mib()
    print(json.dumps({**result, "base_rss_mib": base, "peak_rss_mib": peak}))


def measure(step: str, source: Path, work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, __file__, "--child", step, str(source), str(work)],
        capture_output=True, text=True,
    )
    if done.returncode:
        raise RuntimeError(f"{step} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------- main
def _row(name: str, r: dict) -> dict:
    return {"path": name, "events": f"{r['n_events']:,}",
            "seconds": f"{r['seconds']:.1f}",
            "events/s": f"{r['n_events'] / r['seconds']:,.0f}",
            "peak RSS MiB": f"{r['peak_rss_mib']:,.0f}",
            "extra RSS MiB": f"{r['peak_rss_mib'] - r['base_rss_mib']:,.0f}"}


def run(n_events: int, compare: int, work: Path) -> dict:
    t0 = time.perf_counter()
    build_log(work / "events", n_events)
    build_s = time.perf_counter() - t0
    small = (work / "events" if compare >= n_events else
             first_files(work / "events", compare, work / "events-small"))
    results = {"build_s": build_s}
    results["in_memory"] = measure("in_memory", small, work / "in-memory")
    results["out_of_core_small"] = measure("out_of_core", small, work / "ooc-small")
    shutil.rmtree(work / "ooc-small")
    if compare < n_events:
        results["out_of_core"] = measure("out_of_core", work / "events",
                                         work / "ooc")
    else:
        results["out_of_core"] = results["out_of_core_small"]
    ratio = (results["out_of_core_small"]["seconds"]
             / results["in_memory"]["seconds"])
    results["events_per_s_ratio_same_events"] = 1 / ratio
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--compare-events", type=int, default=10_000_000)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for the data (default: a temporary one)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the data on disk")
    parser.add_argument("--json", type=Path, default=None,
                        help="write the results to this file instead of "
                        "benchmarks/results/out_of_core.json")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)
    work = Path(tempfile.mkdtemp(prefix="ooc-", dir=args.workdir))
    try:
        results = run(args.events, min(args.compare_events, args.events), work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(results, args)


def print_table(rows: list[dict]) -> None:
    columns = list(rows[0])
    widths = [max(len(c), *(len(r[c]) for r in rows)) for c in columns]
    for line in [dict(zip(columns, columns)),
                 dict(zip(columns, ["-" * w for w in widths])), *rows]:
        print("  ".join(line[c].ljust(w) for c, w in zip(columns, widths)))


def report(results: dict, args) -> None:
    rows = [_row("in memory (to_sequences + fit_transform)", results["in_memory"]),
            _row("out of core, same events", results["out_of_core_small"])]
    if args.compare_events < args.events:
        rows.append(_row("out of core, all events", results["out_of_core"]))
    print(f"built the log in {results['build_s']:.0f} s")
    print_table(rows)
    big = results["out_of_core"]
    print(f"\nout of core / in memory, events/s on the same events: "
          f"{results['events_per_s_ratio_same_events']:.2f}")
    print(f"out of core on {big['n_events']:,} events: {big['n_partitions']} "
          f"partitions, partition {big['partition_s']:.0f} s, fit "
          f"{big['fit_s']:.0f} s, transform {big['transform_s']:.0f} s; model "
          f"input {big['model_input_mib']:,.0f} MiB memory-mapped")
    payload = {"rows": rows, **results, "args": {k: str(v) for k, v in
                                                vars(args).items()}}
    if args.json is not None:  # instead of benchmarks/results/
        args.json.write_text(json.dumps(payload, indent=1))
        print(f"wrote {args.json}")
    else:  # _common sets torch's threads: imported only here
        from _common import write_result

        print(f"wrote {write_result('out_of_core', payload)}")


if __name__ == "__main__":
    main()
