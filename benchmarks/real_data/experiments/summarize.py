"""Summarize results.jsonl: per task and model, mean ± std of the score over
folds (and seeds), mean fit seconds and epochs. The latest row of a (task,
model, seed, fold) wins."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def load(path=HERE / "results.jsonl"):
    rows = {}
    for line in open(path):
        r = json.loads(line)
        rows[(r["task"], r["model"], r["seed"], r["fold"])] = r
    return list(rows.values())


def table(rows, task):
    lower = task == "instacart_size"
    by = {}
    for r in rows:
        if r["task"] == task:
            by.setdefault(r["model"], []).append(r)
    out = [f"### {task} ({'deviance, lower' if lower else 'higher'} is better)", "",
           "| model | score | n | fit s | epochs |", "|---|---|---|---|---|"]
    stats = []
    for model, rs in by.items():
        s = np.array([r["score"] for r in rs])
        fit = [r["fit_s"] for r in rs if r["fit_s"] is not None]
        ep = [r["epochs"] for r in rs if r["fit_s"] is not None]
        stats.append((model, s.mean(), s.std(), len(s),
                      np.mean(fit) if fit else float("nan"),
                      np.mean(ep) if ep else float("nan")))
    stats.sort(key=lambda t: t[1], reverse=not lower)
    for m, mu, sd, n, f, e in stats:
        out.append(f"| {m} | {mu:.3f} ± {sd:.3f} | {n} | {f:.1f} | {e:.0f} |")
    return "\n".join(out)


if __name__ == "__main__":
    rows = load()
    tasks = sys.argv[1:] or sorted({r["task"] for r in rows})
    print("\n\n".join(table(rows, t) for t in tasks))
