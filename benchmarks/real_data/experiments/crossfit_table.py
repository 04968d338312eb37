"""Reads the fits blend_probe.py recorded (DIR/*.npz) and the baselines of
../results.csv: the keep rule as built (the network's validation loss at
the epoch chosen on the same rows, against the linear model's, kept where
z < -1) next to cross-fitted versions, in which the validation rows are
split into ``k`` parts and each part is judged at the epoch chosen on the
other parts, so that no row judges an epoch it chose. Kept networks are
scored with their wide path refitted (as the estimators do since round 5).
Per task: score, paired difference to the best classic baseline ± SE
(positive = library better, also for the deviance), networks kept.
RESULTS.md, round 5.

    python crossfit_table.py DIR
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _paired import best_classic, paired_cell
from blend_table import predictions, score
from keep_rule import paired_z


def row_losses(kind, raw, y):
    """Per-row loss of raw outputs ``(..., n, n_outputs)``: cross-entropy
    (logits or log-probabilities), or the Poisson loss ``rate - y log rate``
    (constant terms cancel in paired differences)."""
    raw = torch.as_tensor(raw, dtype=torch.float64)
    if kind == "count":
        y = torch.as_tensor(y, dtype=torch.float64).reshape(-1)
        return (raw[..., 0].exp() - y * raw[..., 0]).numpy()
    logp = torch.log_softmax(raw, dim=-1)
    index = torch.as_tensor(y, dtype=torch.int64).expand(logp.shape[:-1])
    return (-logp.gather(-1, index.unsqueeze(-1))[..., 0]).numpy()


def crossfitted(losses, k, seed):
    """Per row: its loss at the epoch with the lowest mean loss on the
    other parts (``losses`` is ``(epochs, rows)``)."""
    n = losses.shape[1]
    part = np.random.default_rng(seed).permutation(n) % k
    out = np.empty(n)
    for i in range(k):
        rest = part != i
        epoch = int(np.argmin(losses[:, rest].mean(axis=1)))
        out[part == i] = losses[epoch, part == i]
    return out


def decisions(d, seed):
    """The z-value of each rule for one fit."""
    if "valid_epochs" not in d.files:
        return {}
    kind = str(d["kind"])
    losses = row_losses(kind, d["valid_epochs"], d["valid_y"])
    # the linear model's losses by the same function (a Poisson loss with
    # or without its constant terms: only the paired differences count)
    linear = (row_losses(kind, d["valid_linear"], d["valid_y"]), d["valid_weight"])
    z = {"now": float(d["z"])}
    for k in (2, 5):
        z[f"crossfit {k}"] = paired_z((crossfitted(losses, k, seed),
                                       d["valid_weight"]), linear)
    return z


def main(folder):
    rows = []
    for path in sorted(Path(folder).glob("*.npz")):
        task, seed, fold = path.stem.rsplit("-", 2)
        d = np.load(path)
        kind, y = str(d["kind"]), d["y_test"]
        lin = score(kind, y, predictions(kind, d["test_linear"]))
        net = lin
        if "test_network" in d.files:
            raw = d["test_network"] - d["test_linear_train"] + d["test_linear"]
            net = score(kind, y, predictions(kind, raw))
        zs = decisions(d, seed=int(seed) * 10 + int(fold)) or {
            "now": np.inf, "crossfit 2": np.inf, "crossfit 5": np.inf}
        for rule, z in zs.items():
            rows.append(dict(task=task, seed=int(seed), fold=int(fold), rule=rule,
                             z=z, kept=z < -1, score=net if z < -1 else lin))
    fits = pd.DataFrame(rows)
    table = []
    for task, g in fits.groupby("task", sort=False):
        best, lower = best_classic(task)
        row = {"task": task, "best classic": round(best.mean(), 3)}
        for rule, r in g.groupby("rule", sort=False):
            row[rule] = paired_cell(r.set_index(["seed", "fold"]).score, best, lower,
                                    f"{int(r.kept.sum())}/{len(r)} kept")
        table.append(row)
    print(pd.DataFrame(table).to_markdown(index=False))


if __name__ == "__main__":
    main(sys.argv[1])
