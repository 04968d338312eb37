"""Next-item recommendation on public real data: leave-last-out, full ranking.

    python benchmarks/real_data/fetch.py          # once: datasets into the cache
    python benchmarks/next_item/run.py [--datasets movielens instacart]
                                       [--seeds 0 1 2] [--quick]

For each dataset every user's last event is held out
(:func:`seqestimators.leave_last_out`); models are fitted on the histories
and rank the *whole* catalogue for the event after each history (no sampled
negatives in the metric). HR@10 and NDCG@10 are reported next to the
training time, for the classic baselines (popularity, item-to-item Markov,
Markov plus the history's own items, item-kNN), the prefix-classifier route
(``make_next_event_samples`` + ``LSTMSequenceClassifier``) and the library's
recommenders with default parameters. MovieLens users rate a film once, so
items already in the history are excluded from the ranking there; Instacart
users re-buy, so they are not. Results: ``benchmarks/next_item/results.csv``
and ``summary.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "real_data"))
sys.path.insert(0, str(HERE))

import baselines as B  # noqa: E402
from fetch import ensure  # noqa: E402

import seqestimators as se  # noqa: E402

K = 10


def load_movielens(cache=None) -> pd.DataFrame:
    path = ensure("movielens", cache) / "movielens.pkl.compress"
    m = pd.read_pickle(path, compression="xz")
    m = m.assign(
        timestamp=pd.to_datetime(m["timestamp"], unit="s"),
        item=m["movieId"].astype(str),
        rating=m["rating"].astype(float),
        genres=m["genres"].astype(str),
    )
    return se.to_sequences(m, by="userId", order_by="timestamp",
                           columns=["timestamp", "item", "genres", "rating"])


def load_instacart(cache=None) -> pd.DataFrame:
    path = ensure("instacart", cache) / "df_sample.csv"
    d = pd.read_csv(path, index_col=0)
    d = d.sort_values(["user_id", "order_number", "add_to_cart_order"], kind="stable")
    d = d.assign(
        item=d["product_id"].astype(str),
        order_number=d["order_number"].astype(float),
        days=d["days_since_prior_order"].fillna(0.0).astype(float),
        step=np.arange(len(d), dtype=np.int64),
    )
    return se.to_sequences(d, by="user_id", order_by="step",
                           columns=["item", "order_number", "days"])


DATASETS = {
    "movielens": (load_movielens, True),  # (loader, exclude_seen)
    "instacart": (load_instacart, False),
}


def encode(history: pd.DataFrame, y: pd.Series):
    """Item codes of the flattened histories, lengths, and the held-out items'
    codes (-1 for an item never seen in any history: always a miss)."""
    items = pd.Series(history["item"].explode().to_numpy())
    vocab, codes = np.unique(items.to_numpy(dtype=str), return_inverse=True)
    lengths = history["item"].list.len().to_numpy()
    pos = np.searchsorted(vocab, y.to_numpy(dtype=str))
    pos = np.clip(pos, 0, len(vocab) - 1)
    truth = np.where(vocab[pos] == y.to_numpy(dtype=str), pos, -1)
    return vocab, codes, lengths, truth


def evaluate(scores, truth, seen, exclude_seen):
    ok = truth >= 0
    hr, ndcg = B.rank_metrics(scores[ok], truth[ok], seen[ok] if exclude_seen else None,
                              K)
    share = ok.mean()
    return hr * share, ndcg * share


def classic_rows(name, history, y, exclude_seen):
    vocab, codes, lengths, truth = encode(history, y)
    seen = B.user_item(codes, lengths, len(vocab))
    fns = {
        "popularity": lambda: B.popularity_scores(seen),
        "markov": lambda: B.markov_scores(codes, lengths, len(vocab), seen),
        "markov_repeat": lambda: B.markov_repeat_scores(codes, lengths, len(vocab),
                                                        seen),
        "item_knn": lambda: B.item_knn_scores(seen),
    }
    rows = []
    for model, fn in fns.items():
        t = time.perf_counter()
        scores = fn()
        fit = time.perf_counter() - t
        hr, ndcg = evaluate(scores, truth, seen, exclude_seen)
        rows.append(dict(dataset=name, model=model, seed=0, hr10=hr, ndcg10=ndcg,
                         fit_seconds=fit))
        print(f"  {model:24s} HR@10 {hr:.3f}  NDCG@10 {ndcg:.3f}  ({fit:.1f} s)",
              flush=True)
    return rows


def library_models(seed: int, exclude_seen: bool) -> dict:
    """Name -> factory of the library's recommenders (default parameters but
    the dataset's ``exclude_seen``, which also decides how the count priors
    are chosen).

    A recommender is fitted on the histories and asked for
    ``predict_topk(history, k=10, exclude_seen=...)``.
    """
    models = {}
    for name in ("LSTMSequenceRecommender", "TransformerSequenceRecommender"):
        cls = getattr(se, name, None)
        if cls is not None:
            models[name] = lambda cls=cls: cls(target="item", random_state=seed,
                                               exclude_seen=exclude_seen)
    return models


def hits_of_topk(top: np.ndarray, y: pd.Series) -> tuple[float, float]:
    truth = y.to_numpy(dtype=str)[:, None]
    match = top.astype(str) == truth
    hit = match.any(axis=1)
    rank = np.argmax(match, axis=1) + 1
    return float(hit.mean()), float(np.where(hit, 1 / np.log2(1 + rank), 0).mean())


def library_rows(name, history, y, exclude_seen, seeds):
    rows = []
    for seed in seeds:
        for model, make in library_models(seed, exclude_seen).items():
            est = make()
            t = time.perf_counter()
            est.fit(history)
            fit = time.perf_counter() - t
            top = est.predict_topk(history, k=K, exclude_seen=exclude_seen)
            hr, ndcg = hits_of_topk(top, y)
            rows.append(dict(dataset=name, model=model, seed=seed, hr10=hr,
                             ndcg10=ndcg, fit_seconds=fit))
            print(f"  {model:24s} seed {seed} HR@10 {hr:.3f}  NDCG@10 {ndcg:.3f}  "
                  f"({fit:.1f} s)", flush=True)
    return rows


def prefix_route_rows(name, history, y, exclude_seen, seed, max_per_entity=20):
    """The route before the recommenders: one classifier sample per prefix.

    Bounded so that it finishes: at most ``max_per_entity`` prefixes per
    user (drawn at random), the recommenders' epoch budget
    (``max_epochs=10, n_iter_no_change=3``) and no wide linear start
    (``wide=False``: over 9,000+ classes and as many ids its cross-validated
    fit did not finish within 1,500 s); otherwise the classifier's defaults.
    """
    t = time.perf_counter()
    prefixes, target = se.make_next_event_samples(
        history[["item"]], "item", max_per_entity=max_per_entity, random_state=seed)
    model = se.LSTMSequenceClassifier(random_state=seed, max_epochs=10,
                                      n_iter_no_change=3, wide=False)
    vec = se.SequenceVectorizer()
    model.fit(vec.fit_transform(prefixes), target)
    fit = time.perf_counter() - t
    proba = model.predict_proba(vec.transform(history[["item"]]))
    if exclude_seen:
        col = {c: i for i, c in enumerate(model.classes_)}
        r = np.repeat(np.arange(len(history)), history["item"].list.len().to_numpy())
        c = np.array([col.get(v, -1) for v in history["item"].explode().to_numpy()])
        proba[r[c >= 0], c[c >= 0]] = -np.inf
    top = model.classes_[B.top_items(proba, K)]
    hr, ndcg = hits_of_topk(top, y)
    print(f"  {'prefix_classifier':24s} HR@10 {hr:.3f}  NDCG@10 {ndcg:.3f}  "
          f"({fit:.1f} s)", flush=True)
    return [dict(dataset=name, model="prefix_classifier", seed=seed, hr10=hr,
                 ndcg10=ndcg, fit_seconds=fit)]


def summarize(df: pd.DataFrame) -> str:
    def cell(s: pd.Series) -> str:
        spread = f" ± {s.std(ddof=0):.3f}" if len(s) > 1 else ""
        return f"{s.mean():.3f}{spread}"

    g = df.groupby(["dataset", "model"], sort=False)
    lines = ["| dataset | model | HR@10 | NDCG@10 | fit s |", "|---|---|---|---|---|"]
    for (ds, model), part in g:
        fit = part["fit_seconds"].mean()
        lines.append(f"| {ds} | {model} | {cell(part['hr10'])} | "
                     f"{cell(part['ndcg10'])} | {fit:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true",
                        help="first 150 users, 1 seed (a smoke test)")
    parser.add_argument("--no-prefix", action="store_true",
                        help="skip the (slow) prefix-classifier route")
    parser.add_argument("--prefixes", type=int, default=20,
                        help="prefixes per user of the prefix route (default 20)")
    parser.add_argument("--only-prefix", action="store_true",
                        help="the baselines and the prefix route, no recommender")
    parser.add_argument("--out", default=None,
                        help="results CSV (default results.csv next to this file)")
    parser.add_argument("--summarize", nargs="+", metavar="CSV",
                        help="only merge these result CSVs into results.csv and "
                        "summary.md (runs split over processes)")
    args = parser.parse_args(argv)
    if args.summarize:
        df = pd.concat([pd.read_csv(p) for p in args.summarize], ignore_index=True)
        df.to_csv(HERE / "results.csv", index=False)
        (HERE / "summary.md").write_text(summarize(df) + "\n")
        print(summarize(df))
        return 0
    seeds = args.seeds[:1] if args.quick else args.seeds
    rows = []
    for name in args.datasets:
        loader, exclude_seen = DATASETS[name]
        try:
            X = loader()
        except Exception as exc:  # offline: the fetch script explains
            print(f"{name}: skipped ({exc})")
            continue
        if args.quick:
            X = X.iloc[:150]
        history, y = se.leave_last_out(X, "item")
        print(f"{name}: {len(history)} users, "
              f"{int(history['item'].list.len().sum()):,} history events", flush=True)
        rows += classic_rows(name, history, y, exclude_seen)
        if not args.no_prefix:
            rows += prefix_route_rows(name, history, y, exclude_seen, seeds[0],
                                      args.prefixes)
        if not args.only_prefix:
            rows += library_rows(name, history, y, exclude_seen, seeds)
    df = pd.DataFrame(rows)
    out = Path(args.out) if args.out else HERE / (
        "results_quick.csv" if args.quick else "results.csv")
    df.to_csv(out, index=False)
    text = summarize(df)
    if not args.quick and not args.out:
        (HERE / "summary.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
