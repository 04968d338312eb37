"""The best classic baseline of a suite task and a library score paired
against it, as the experiment tables print them."""

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REFERENCE = {"prior", "mean"}


@cache
def _baselines() -> pd.DataFrame:
    base = pd.read_csv(HERE.parent / "results.csv")
    return base[(base.family == "classic") & ~base.model.isin(REFERENCE)]


def best_classic(task: str) -> tuple[pd.Series, bool]:
    """The scores, by (seed, fold), of the classic baseline with the best
    mean on ``task`` in ../results.csv, and whether lower is better."""
    b = _baselines()[_baselines().task == task]
    lower = b.metric.iloc[0] == "poisson_deviance"
    means = b.groupby("model").score.mean()
    best = b[b.model == (means.idxmin() if lower else means.idxmax())]
    return best.set_index(["seed", "fold"]).score, lower


def paired_cell(scores: pd.Series, best: pd.Series, lower: bool, note="") -> str:
    """"mean (paired difference ± SE[, note])" of ``scores`` by (seed,
    fold) against ``best``; positive = library better, also for lower-is-
    better metrics."""
    diff = (scores - best).dropna() * (-1 if lower else 1)
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    note = f", {note}" if note else ""
    return f"{scores.mean():.3f} ({diff.mean():+.3f} ± {se:.3f}{note})"
