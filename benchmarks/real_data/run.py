"""Real-data suite: seqestimators with its defaults against classic baselines.

    python benchmarks/real_data/fetch.py && python benchmarks/real_data/run.py
    python benchmarks/real_data/run.py [--tasks ...] [--seeds 0 1 2] [--folds 3]
                                       [--models ...] [--quick] [--cache DIR]

For every task (``tasks.py``) and seed, the same shuffled (Stratified)KFold
splits are used by every model; a seed changes both the fold shuffle and the
models' ``random_state``. The library models come from the registry
``LIBRARY_MODELS`` (``models.py``, imported below): add an entry there to
benchmark a new estimator or changed defaults. Writes, next to this file,
``results.csv`` (one row per task x model x seed x fold) and ``summary.md``,
and the plot ``docs/img/real_data.png``. ``--quick`` (tiny subsamples, 1 seed,
2 folds, under 2 minutes) writes ``*_quick`` files instead.

Everything runs on one CPU thread (torch and OpenMP), so that the numbers
are stable on a shared machine. A task whose dataset cannot be fetched gets a
"skipped" row and the run still exits with status 0.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
import torch  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    mean_poisson_deviance,
    mean_squared_error,
    roc_auc_score,
)
from sklearn.model_selection import (  # noqa: E402
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import seqestimators  # noqa: E402, I001
from fetch import DataUnavailable  # noqa: E402
from models import (  # noqa: E402, F401
    LIBRARY_MODELS,  # the registry of library models: add entries in models.py
    REFERENCE,
    classic_models,
    library_models,
)
from tasks import TASKS, Task  # noqa: E402

torch.set_num_threads(1)

ROOT = HERE.parent.parent
DOCS_IMG = ROOT / "docs" / "img"
#: predictions at or below zero are clipped here before the Poisson deviance
POISSON_FLOOR = 1e-3
METRIC_LABEL = {"roc_auc": "ROC AUC", "accuracy": "accuracy",
                "poisson_deviance": "Poisson deviance"}


# ---------------------------------------------------------------------------
# one fit
# ---------------------------------------------------------------------------
def _splits(task: Task, n_folds: int, seed: int):
    X, y, groups = task.X, task.y, task.groups
    stratified = task.kind != "count"
    if groups is not None:
        cv = (StratifiedGroupKFold if stratified else GroupKFold)(
            n_folds, shuffle=True, random_state=seed)
    else:
        cv = (StratifiedKFold if stratified else KFold)(
            n_folds, shuffle=True, random_state=seed)
    return list(cv.split(X, y, groups))


def _score(task: Task, model, X, y) -> dict:
    if task.kind == "binary":
        proba = model.predict_proba(X)
        positive = list(model.classes_).index(1)
        return {"score": roc_auc_score(y, proba[:, positive])}
    if task.kind == "multiclass":
        return {"score": accuracy_score(y, model.predict(X))}
    pred = np.asarray(model.predict(X), dtype=float)
    out = {
        "score": mean_poisson_deviance(y, np.maximum(pred, POISSON_FLOOR)),
        "rmse": float(np.sqrt(mean_squared_error(y, pred))),
    }
    n_clipped = int((pred <= POISSON_FLOOR).sum())
    if n_clipped:
        out["note"] = f"{n_clipped} predictions <= 0 clipped to {POISSON_FLOOR}"
    return out


def _fit_details(model) -> dict:
    est = model.steps[-1][1] if hasattr(model, "steps") else model
    out = {}
    if hasattr(est, "best_epoch_"):
        out["n_epochs"] = est.n_iter_
        out["best_epoch"] = est.best_epoch_
        out["stop_reason"] = est.stop_reason_
    return out


def _vectorizer_report(model) -> str | None:
    """What the fitted SequenceVectorizer inferred (first step of a pipeline)."""
    if not hasattr(model, "steps"):
        return None
    vec = model.steps[0][1]
    if not hasattr(vec, "categorical_"):
        return None
    cats = ", ".join(f"{c} ({n - 2} ids)"
                     for c, n in zip(vec.categorical_, vec.cardinalities_, strict=True))
    return (f"categorical: {cats or '-'}; numeric: {', '.join(vec.numeric_) or '-'}; "
            f"time: {vec.time_ or '-'}; channels: "
            f"{', '.join(map(str, vec.get_feature_names_out()))}")


def run_one(task, name, family, model, seed, fold, train, test) -> tuple[dict, object]:
    row = dict(task=task.name, model=name, family=family, seed=seed, fold=fold,
               metric=task.metric, n_train=len(train), n_test=len(test),
               status="ok")
    X_train, X_test = task.X.iloc[train], task.X.iloc[test]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            t0 = time.perf_counter()
            model.fit(X_train, task.y[train])
            row["fit_seconds"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            row.update(_score(task, model, X_test, task.y[test]))
            row["predict_seconds"] = time.perf_counter() - t0
            row.update(_fit_details(model))
        except Exception as exc:  # a failing model is a result, not a crash
            row["status"] = f"error: {type(exc).__name__}: {exc}"[:300]
            traceback.print_exc()
            model = None
    messages = sorted({f"{w.category.__name__}: {str(w.message)[:160]}"
                       for w in caught})
    if messages:
        row["warnings"] = " | ".join(messages)[:600]
    return row, model


# ---------------------------------------------------------------------------
# the suite
# ---------------------------------------------------------------------------
def run(args) -> tuple[pd.DataFrame, dict]:
    rows, info = [], {}
    out_csv = args.out_csv
    for task_name in args.tasks:
        print(f"\n=== {task_name}", flush=True)
        t0 = time.perf_counter()
        try:
            task = TASKS[task_name](cache=args.cache, quick=args.quick)
        except DataUnavailable as exc:
            print(f"SKIPPED {task_name}: {exc}", flush=True)
            rows.append(dict(task=task_name, status=f"skipped: {exc}"[:300]))
            info[task_name] = {"skipped": str(exc)}
            continue
        print(task.summary(), flush=True)
        info[task_name] = {"task": task, "summary": task.summary(),
                           "build_seconds": time.perf_counter() - t0}
        for seed in args.seeds:
            for fold, (train, test) in enumerate(_splits(task, args.folds, seed)):
                candidates = [
                    ("reference" if n in REFERENCE else "classic", n, m)
                    for n, m in classic_models(task, seed).items()
                ] + [("library", n, m) for n, m in library_models(task, seed).items()]
                for family, name, model in candidates:
                    if args.models and name not in args.models:
                        continue
                    row, fitted = run_one(task, name, family, clone(model), seed,
                                          fold, train, test)
                    rows.append(row)
                    if family == "library" and fitted is not None:
                        report = _vectorizer_report(fitted)
                        if report:
                            row["vectorizer"] = report
                    _print_row(row)
        pd.DataFrame(rows).to_csv(out_csv, index=False)  # partial results
    return pd.DataFrame(rows), info


def _print_row(row):
    if row["status"] != "ok":
        print(f"  seed {row['seed']} fold {row['fold']} {row['model']}: "
              f"{row['status']}", flush=True)
        return
    extra = f", RMSE {row['rmse']:.3f}" if "rmse" in row else ""
    epochs = (f", {row['n_epochs']} epochs ({row['stop_reason']})"
              if "n_epochs" in row else "")
    print(f"  seed {row['seed']} fold {row['fold']} {row['model']:<40} "
          f"{row['score']:.4f}{extra} fit {row['fit_seconds']:.1f}s{epochs}",
          flush=True)


# ---------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------
def aggregate(results: pd.DataFrame) -> pd.DataFrame:
    """Per task x model: mean and std over all folds and seeds, std of the
    per-seed means, mean fit seconds per fold."""
    ok = results[results["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame()
    if "rmse" not in ok:
        ok = ok.assign(rmse=np.nan)
    per_seed = ok.groupby(["task", "model", "seed"])["score"].mean()
    seed_std = per_seed.groupby(["task", "model"]).std(ddof=0)
    g = ok.groupby(["task", "model"], sort=False)
    out = g.agg(family=("family", "first"), metric=("metric", "first"),
                mean=("score", "mean"), std=("score", lambda s: s.std(ddof=0)),
                n=("score", "size"), rmse=("rmse", "mean"),
                rmse_std=("rmse", lambda s: s.std(ddof=0)),
                fit_seconds=("fit_seconds", "mean"))
    out["seed_std"] = seed_std.reindex(out.index)
    errors = results[results["status"].astype(str).str.startswith("error")]
    out["errors"] = errors.groupby(["task", "model"]).size().reindex(
        out.index, fill_value=0)
    return out.reset_index()


def _best(agg: pd.DataFrame, task: str, family: str):
    rows = agg[(agg["task"] == task) & (agg["family"] == family)]
    if rows.empty:
        return None
    lower = rows["metric"].iloc[0] == "poisson_deviance"
    return rows.loc[rows["mean"].idxmin() if lower else rows["mean"].idxmax()]


def _paired(results, task, model_a, model_b):
    """Mean and std over (seed, fold) of score(a) - score(b), and how often a
    is better."""
    ok = results[(results["task"] == task) & (results["status"] == "ok")]
    a = ok[ok["model"] == model_a].set_index(["seed", "fold"])["score"]
    b = ok[ok["model"] == model_b].set_index(["seed", "fold"])["score"]
    d = (a - b).dropna()
    lower = ok["metric"].iloc[0] == "poisson_deviance"
    wins = int(((d < 0) if lower else (d > 0)).sum())
    return float(d.mean()), float(d.std(ddof=0)), wins, len(d)


def _rmse(row) -> str:
    return "" if pd.isna(row["rmse"]) else f"; RMSE {row['rmse']:.2f}"


def _fmt(row, digits=3) -> str:
    return f"{row['mean']:.{digits}f} ± {row['std']:.{digits}f}"


def _provenance(results, args, wall) -> list[str]:
    """Which run(s) the rows come from: one line per distinct command (a
    results CSV merged from several runs, e.g. the library's rows rerun
    after a change, names each with its models, wall time and machine)."""
    runs = []
    if "command" in results and results["command"].notna().any():
        runs = results.dropna(subset=["command"]).groupby(
            ["command", "machine"], sort=False)
    if len(runs) <= 1:
        return [f"`{args.command}` — {len(args.seeds)} seed(s) × {args.folds} folds, "
                f"{wall / 60:.1f} min wall time, {args.machine}.", ""]
    lines = [f"{len(args.seeds)} seed(s) × {args.folds} folds; the rows come "
             f"from {len(runs)} runs:", ""]
    for (command, machine), rows in runs:
        models = ", ".join(sorted(rows["model"].dropna().unique()))
        lines.append(f"- `{command}` ({rows['wall_seconds'].max() / 60:.1f} min "
                     f"wall time, {machine}): {models}.")
    return lines + [""]


def summary_markdown(results, agg, info, args, wall) -> str:
    lines = ["# Real-data suite: results", ""]
    lines += _provenance(results, args, wall)
    lines += ["Scores are mean ± std over all folds and seeds (seed spread: std of "
              "the per-seed means, in brackets). ROC AUC and accuracy: higher is "
              "better; Poisson deviance: lower is better. 'best classic' is the "
              "baseline with the best mean score on the task (picked after the "
              "fact, so slightly optimistic). 'library − classic' is the mean ± std "
              "over the (seed, fold) pairs of the score difference on the same "
              "split; 'no clear difference' when it is within two standard errors. "
              "Fit seconds: mean per fold, one CPU thread.", ""]
    lines += ["| task | metric | best classic | score | library | score "
              "| library − classic (paired) | library wins | fit s classic / library |",
              "|---|---|---|---|---|---|---|---|---|"]
    for task_name in args.tasks:
        if "skipped" in info.get(task_name, {}):
            lines.append(f"| {task_name} | skipped: dataset unavailable "
                         "| | | | | | | |")
            continue
        classic = _best(agg, task_name, "classic")
        res = results[(results["task"] == task_name)
                      & (results["family"] == "library")]
        for name in res["model"].unique():
            lib = agg[(agg["task"] == task_name) & (agg["model"] == name)]
            if lib.empty or classic is None:
                status = res.loc[res["model"] == name, "status"].iloc[0]
                lines.append(f"| {task_name} | | | | {name} | failed: `{status}` "
                             "| | | |")
                continue
            lib = lib.iloc[0]
            diff, diff_std, wins, n = _paired(results, task_name, lib["model"],
                                              classic["model"])
            lower = lib["metric"] == "poisson_deviance"
            if abs(diff) <= 2 * diff_std / np.sqrt(max(n, 1)):
                verdict = "no clear difference"
            else:
                verdict = "library better" if (diff < 0) == lower else "library worse"
            lines.append(
                f"| {task_name} | {METRIC_LABEL[lib['metric']]} | {classic['model']} "
                f"| {_fmt(classic)} ({classic['seed_std']:.3f}){_rmse(classic)} "
                f"| {lib['model']} | {_fmt(lib)} ({lib['seed_std']:.3f}){_rmse(lib)} "
                f"| {diff:+.3f} ± {diff_std:.3f}, {verdict} | {wins}/{n} "
                f"| {classic['fit_seconds']:.1f} / {lib['fit_seconds']:.1f} |")
    lines.append("")
    for task_name in args.tasks:
        entry = info.get(task_name, {})
        lines += [f"## {task_name}", ""]
        if "skipped" in entry:
            lines += [f"Skipped: {entry['skipped']}", ""]
            continue
        task = entry["task"]
        lines += [task.description, "", f"Data: {entry['summary']}."]
        if task.notes:
            lines.append(f"Note: {task.notes}.")
        reps = results[results["task"] == task_name].get("vectorizer")
        if reps is not None:
            reps = results.loc[reps.notna() & (results["task"] == task_name)]
            for name, rep in reps.groupby("model", sort=False)["vectorizer"]:
                lines.append(f"`SequenceVectorizer()` in {name} inferred (first "
                             f"fold): {rep.iloc[0]}.")
        lines.append("")
        count = task.kind == "count"
        head = "| model | family | " + METRIC_LABEL[task.metric] + " | seed spread |"
        head += " RMSE |" if count else ""
        head += " fit s / fold | epochs (best) |"
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        sub = agg[agg["task"] == task_name]
        res = results[(results["task"] == task_name) & (results["status"] == "ok")]
        for _, r in sub.iterrows():
            line = (f"| {r['model']} | {r['family']} | {_fmt(r)} | {r['seed_std']:.3f} "
                    "|")
            if count:
                line += f" {r['rmse']:.3f} ± {r['rmse_std']:.3f} |"
            epochs = res[res["model"] == r["model"]]
            if "n_epochs" in epochs and epochs["n_epochs"].notna().any():
                ep = (f"{epochs['n_epochs'].mean():.0f} "
                      f"({epochs['best_epoch'].mean():.0f})")
            else:
                ep = ""
            err = f" ({r['errors']} errors)" if r["errors"] else ""
            line += f" {r['fit_seconds']:.2f}{err} | {ep} |"
            lines.append(line)
        notes = results[(results["task"] == task_name)].get("note")
        if notes is not None and notes.notna().any():
            lines += ["", "Clipped predictions: " + "; ".join(
                sorted(set(notes.dropna().astype(str))))]
        warned = results[(results["task"] == task_name)].get("warnings")
        if warned is not None and warned.notna().any():
            by_model = results.loc[warned.notna() & (results["task"] == task_name)]
            lines += ["", "Warnings:"]
            for model, msgs in by_model.groupby("model")["warnings"]:
                uniq = sorted(set(" | ".join(msgs).split(" | ")))
                lines += [f"- {model}: " + "; ".join(f"`{m}`" for m in uniq[:5])]
        failed = results[(results["task"] == task_name)
                         & results["status"].astype(str).str.startswith("error")]
        if not failed.empty:
            lines += ["", "Errors:"]
            for model, st in failed.groupby("model")["status"]:
                lines += [f"- {model}: {len(st)}× `{st.iloc[0]}`"]
        lines.append("")
    return "\n".join(lines)


def _machine() -> str:
    where = Path(seqestimators.__file__).resolve().parent.parent
    commit = ""
    if where == ROOT:
        try:
            git = ["git", "-C", str(ROOT)]
            commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True, timeout=10)
            commit = commit.stdout.strip()
            dirty = subprocess.run(git + ["status", "--porcelain", "--",
                                          "seqestimators"],
                                   capture_output=True, text=True, timeout=10).stdout
            if commit and dirty.strip():
                commit += f" + uncommitted changes in {len(dirty.splitlines())} files"
        except (OSError, subprocess.SubprocessError):
            commit = ""
        place = ""
    else:  # e.g. a `git archive` snapshot on PYTHONPATH, with a COMMIT file
        marker = where / "COMMIT"
        commit = marker.read_text().strip()[:10] if marker.exists() else ""
        place = f" (imported from {where})"
    return (f"seqestimators {seqestimators.__version__}"
            f"{' @ ' + commit if commit else ''}{place}, torch {torch.__version__} "
            f"({torch.get_num_threads()} thread), scikit-learn {sklearn.__version__}, "
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs")


def plot(agg: pd.DataFrame, tasks: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t for t in tasks if t in set(agg["task"])]
    if not tasks:
        return
    ncols = min(4, len(tasks))
    nrows = -(-len(tasks) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.2 * nrows),
                             squeeze=False)
    colors = {"library": "tab:red", "classic": "tab:blue", "reference": "tab:gray"}
    for ax, task in zip(axes.flat, tasks, strict=False):
        sub = agg[agg["task"] == task].reset_index(drop=True)
        ypos = np.arange(len(sub))[::-1]
        for y, (_, r) in zip(ypos, sub.iterrows(), strict=True):
            ax.errorbar(r["mean"], y, xerr=r["std"], fmt="o", capsize=3,
                        color=colors.get(r["family"], "k"))
        ax.set_yticks(ypos, [m.replace(" + ", "\n+ ", 1) if len(m) > 28 else m
                             for m in sub["model"]], fontsize=7)
        best = _best(agg, task, "classic")
        if best is not None:
            ax.axvline(best["mean"], color="tab:blue", ls="--", lw=0.8, alpha=0.6)
        metric = sub["metric"].iloc[0]
        arrow = "lower" if metric == "poisson_deviance" else "higher"
        ax.set_title(f"{task}\n{METRIC_LABEL[metric]} ({arrow} is better)",
                     fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    fig.suptitle("seqestimators defaults (red) vs classic baselines (blue, dashed: "
                 "best); mean ± std over folds and seeds", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _rebuild_info(results: pd.DataFrame, args) -> dict:
    """Task descriptions for a summary rebuilt from a results CSV."""
    info = {}
    for task_name in args.tasks:
        status = results.loc[results["task"] == task_name, "status"].astype(str)
        if status.empty:
            continue
        if status.str.startswith("skipped").all():
            info[task_name] = {"skipped": status.iloc[0].removeprefix("skipped: ")}
            continue
        task = TASKS[task_name](cache=args.cache, quick=args.quick)
        info[task_name] = {"task": task, "summary": task.summary()}
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=None)
    parser.add_argument("--folds", type=int, default=None)
    parser.add_argument("--models", nargs="+", default=None,
                        help="only these model names (classic or library)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny subsamples, 1 seed, 2 folds (smoke test)")
    parser.add_argument("--cache", default=None,
                        help="data cache (default: $SEQESTIMATORS_DATA or "
                             "~/.cache/seqestimators-real-data)")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--out-csv", default=None,
                        help="results CSV (default: results.csv here); with "
                             "another path the summary and plot are not "
                             "rewritten")
    parser.add_argument("--resummarize", action="store_true",
                        help="rebuild summary and plot from the results CSV "
                             "without fitting")
    args = parser.parse_args(argv)
    args.seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    args.folds = args.folds or (2 if args.quick else 3)
    args.command = "python benchmarks/real_data/run.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    args.machine = _machine()
    suffix = "_quick" if args.quick else ""
    side_run = args.out_csv is not None
    args.out_csv = (Path(args.out_csv) if side_run
                    else HERE / f"results{suffix}.csv")
    out_md = HERE / f"summary{suffix}.md"
    out_png = HERE / "real_data_quick.png" if args.quick else DOCS_IMG / "real_data.png"
    if side_run:
        out_md = args.out_csv.with_suffix(".md")
        args.no_plot = True

    t0 = time.perf_counter()
    if args.resummarize:
        results = pd.read_csv(args.out_csv)
        results = results[results["task"].isin(args.tasks)]
        args.tasks = [t for t in args.tasks if t in set(results["task"])]
        info = _rebuild_info(results, args)
        wall = results["wall_seconds"].max()
        args.command = results["command"].dropna().iloc[0]
        args.machine = results["machine"].dropna().iloc[0]
    else:
        results, info = run(args)
        wall = time.perf_counter() - t0
        results["wall_seconds"] = wall
        results["command"] = args.command
        results["machine"] = args.machine
        results.to_csv(args.out_csv, index=False)
    if "status" not in results:
        results["status"] = []
    agg = aggregate(results)
    text = summary_markdown(results, agg, info, args, wall)
    out_md.write_text(text + "\n")
    if not args.no_plot and not agg.empty:
        plot(agg, args.tasks, out_png)
        print(f"plot: {out_png}")
    print("\n" + text.split("\n## ")[0])
    print(f"results: {args.out_csv}\nsummary: {out_md}\nwall time {wall / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
