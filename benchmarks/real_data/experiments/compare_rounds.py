"""The real-data suite's results next to an earlier round's, as a Markdown
table: best classic baseline, library defaults now and before, the paired
difference to the baseline with its standard error, wins and fit times.

    python compare_rounds.py [NEW_CSV] [OLD_CSV] [OLD_LABEL]

NEW_CSV defaults to ``../results.csv`` (the last ``run.py``), OLD_CSV to
``results_second_round.csv`` (the suite run of the second-round defaults,
commit 84fdc93, same folds and seeds); OLD_LABEL names OLD_CSV's column
(default "second-round defaults").
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
LIBRARY = "LSTM (defaults)"
REFERENCE = {"prior", "mean"}


def _stats(rows: pd.DataFrame) -> tuple[float, float, float]:
    """Mean and std over the fold-seed fits, std of the per-seed means."""
    per_seed = rows.groupby("seed").score.mean()
    return rows.score.mean(), rows.score.std(ddof=0), per_seed.std(ddof=0)


def _kept(lib: pd.DataFrame) -> str:
    """Fits whose network was kept over the linear start (best epoch > 0)."""
    if "best_epoch" not in lib:
        return "–"
    return f"{int((lib.best_epoch > 0).sum())}/{len(lib)}"


def table(new: pd.DataFrame, old: pd.DataFrame,
          label: str = "second-round defaults") -> str:
    new, old = new[new.status == "ok"], old[old.status == "ok"]
    lines = [
        "| task | metric | best classic | score | library defaults | "
        f"library − classic (paired, ± SE) | library wins | {label} | "
        "network kept | fit s classic / library |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task, g in new.groupby("task", sort=False):
        lower = g.metric.iloc[0] == "poisson_deviance"
        classic = g[(g.family == "classic") & ~g.model.isin(REFERENCE)]
        means = classic.groupby("model").score.mean()
        best = means.idxmin() if lower else means.idxmax()
        base, lib = g[g.model == best], g[g.model == LIBRARY]
        if lib.empty:
            continue
        key = ["seed", "fold"]
        d = (lib.set_index(key).score - base.set_index(key).score).dropna()
        se = d.std(ddof=1) / np.sqrt(len(d))
        better = -d if lower else d
        wins = int((better > 0).sum())
        verdict = ("**better**" if better.mean() > se
                   else "worse" if better.mean() < -se else "tie (within 1 SE)")
        b, lb = _stats(base), _stats(lib)
        prev = old[(old.task == task) & (old.model == LIBRARY)]
        prev_txt = ("–" if prev.empty else
                    f"{prev.score.mean():.3f} ± {prev.score.std(ddof=0):.3f}")
        lines.append(
            f"| {task} | {g.metric.iloc[0]} {'↓' if lower else '↑'} | {best} | "
            f"{b[0]:.3f} ± {b[1]:.3f} ({b[2]:.3f}) | {lb[0]:.3f} ± {lb[1]:.3f} "
            f"({lb[2]:.3f}) | {d.mean():+.3f} ± {se:.3f}, {verdict} | "
            f"{wins}/{len(d)} | {prev_txt} | {_kept(lib)} | "
            f"{base.fit_seconds.mean():.1f} / {lib.fit_seconds.mean():.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    new_csv = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "results.csv"
    old_csv = (Path(sys.argv[2]) if len(sys.argv) > 2
               else HERE / "results_second_round.csv")
    label = sys.argv[3] if len(sys.argv) > 3 else "second-round defaults"
    print(table(pd.read_csv(new_csv), pd.read_csv(old_csv), label))
