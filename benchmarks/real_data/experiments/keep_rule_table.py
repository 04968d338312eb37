"""Reads keep_network.jsonl and keep_linear.jsonl (keep_rule.py) and the
baselines of ../results.csv: per task and threshold t, the library's score
if the network were kept only where z < -t, paired against the best
classic baseline. RESULTS.md, round 4.

    python keep_rule_table.py [THRESHOLD ...]
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from _paired import best_classic, paired_cell

HERE = Path(__file__).resolve().parent


def main(thresholds):
    net = pd.read_json(HERE / "keep_network.jsonl", lines=True)
    lin = pd.read_json(HERE / "keep_linear.jsonl", lines=True)
    key = ["task", "seed", "fold"]
    both = net.merge(lin, on=key, suffixes=("_net", "_lin"))
    rows = []
    for task, g in both.groupby("task", sort=False):
        best, lower = best_classic(task)
        row = {"task": task, "fits": len(g), "best classic": round(best.mean(), 3)}
        for t in thresholds:
            keep = g.z_net.fillna(np.inf) < -t
            score = np.where(keep, g.score_net, g.score_lin)
            s = pd.Series(score, index=pd.MultiIndex.from_frame(g[["seed", "fold"]]))
            row[f"t={t:g}"] = paired_cell(s, best, lower, f"{int(keep.sum())} kept")
        rows.append(row)
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == "__main__":
    main([float(v) for v in sys.argv[1:]] or [0, 1, 1.5, 2, 3, float("inf")])
