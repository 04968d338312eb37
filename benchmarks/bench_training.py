"""Training throughput on long-tailed behaviour data.

Workload (as in the performance issue): 20,000 sequences with lognormal
lengths (median 20, max 500), one categorical channel with a 5,000-id
vocabulary, embedding 32, LSTM hidden 64, batch 256. Variants, timed
round-robin in one run:

- ``library``: ``LSTMSequenceClassifier.fit`` (no early stopping),
  everything included (batching, padding, skorch loop);
- ``torch_loop``: a minimal hand-written PyTorch loop over the same
  ``SequenceNet`` with the best batching (length buckets, per-batch padding,
  the same cap on events per batch), batches built before the clock starts —
  the speed of the hardware;
- ``skorch_naive``: what a user writes by hand with skorch: every sequence
  padded to the global maximum, skorch's default Dataset/DataLoader (per-sample
  collate). Timed on a subset of the sequences;
- ``fixed_length``: ``library`` on the same number of events cut into
  sequences of one fixed length (mean of the long-tailed lengths).

Every variant trains 2 epochs and is timed on the second (the steady state
of a real fit; the first pays one-off costs such as growing the heap). Prints
sequences/s and events/s and the ratios the issue sets as targets,
and writes ``benchmarks/results/training.json``.

    python benchmarks/bench_training.py [--n 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import (
    interleaved,
    long_tailed_lengths,
    print_table,
    ragged_workload,
    write_result,
)
from skorch import NeuralNetClassifier

from seqestimators import LSTMSequenceClassifier, RaggedSequences
from seqestimators.data._ragged import pad_rows
from seqestimators.neural_network._base import MAX_BATCH_FLOATS
from seqestimators.neural_network._batching import BUCKET_BATCHES, cut_batches
from seqestimators.nn import SequenceNet
from seqestimators.utils._cpu import cpu_runtime

HIDDEN, EMB, BATCH = 64, 32, 256
#: every variant trains this many epochs and is timed on its last one: the
#: steady state of a real fit (100 epochs), past one-off warm-up costs
EPOCHS = 2


#: the network of ``torch_loop``: one pooled view, no skip paths
PLAIN = dict(pooling="last", bag_pooling=None, wide=False)


def library_fit(X, y, epochs=EPOCHS, architecture=PLAIN):
    """Seconds of the last epoch of a fit (skorch's per-epoch ``dur``);
    ``architecture={}`` trains the default network (pooled views, bag and
    wide paths) instead of the plain one the torch loop runs."""
    clf = LSTMSequenceClassifier(
        hidden_size=HIDDEN, embedding_dim=EMB, batch_size=BATCH, max_epochs=epochs,
        early_stopping=False, dropout=0.0, clip_grad_norm=None, random_state=0,
        **architecture,
    ).fit(X, y)
    return float(clf.history_["dur"].iloc[-1])


def make_net(vocab):
    return SequenceNet(
        cardinalities=[vocab], embedding_dims=[EMB], n_numeric=0, numeric_dim=0,
        hidden_size=HIDDEN, num_layers=1, bidirectional=False, cell="lstm",
        dropout=0.0, pooling="last", n_outputs=2,
    )


def bucketed_batches(X: RaggedSequences, y, seed=0):
    """The library's best batching: length buckets, per-batch padding, long
    batches capped in events (see
    seqestimators.neural_network._batching.cut_batches)."""
    rng = np.random.default_rng(seed)
    lengths = X.lengths
    perm = rng.permutation(len(lengths))
    chunk = np.arange(len(lengths)) // (BATCH * BUCKET_BATCHES)
    order = perm[np.lexsort((lengths[perm], chunk))]
    max_events = max(BATCH, MAX_BATCH_FLOATS // (4 * HIDDEN))
    starts, stops = cut_batches(lengths[order], chunk, BATCH, max_events)
    batches = []
    for a, b in zip(starts, stops):
        rows = order[a:b]
        (cat, num), lens = pad_rows(X.offsets, [X.categorical, X.numeric], rows)
        batches.append((torch.from_numpy(cat), torch.from_numpy(num),
                        torch.from_numpy(lens), torch.from_numpy(y[rows])))
    rng.shuffle(batches)
    return batches


def torch_loop(batches, vocab):
    # the best a hand-written loop can do: the library's CPU settings
    # (denormals flushed in every thread, freed memory kept) included
    with cpu_runtime(None, keep_freed_memory=True):
        return _torch_loop(batches, vocab)


def _torch_loop(batches, vocab, epochs=EPOCHS):
    """Seconds of the last epoch."""
    torch.manual_seed(0)
    net = make_net(vocab)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    net.train()
    for _ in range(epochs):
        t0 = time.perf_counter()
        for cat, num, lens, yb in batches:
            opt.zero_grad()
            loss = loss_fn(net(cat, num, lens), yb)
            loss.backward()
            opt.step()
    return time.perf_counter() - t0


class _PaddedModule(torch.nn.Module):
    """SequenceNet reading globally padded ids, as a hand-written model would."""

    def __init__(self, vocab):
        super().__init__()
        self.net = make_net(vocab)

    def forward(self, ids, lengths):
        num = torch.zeros(ids.shape[0], ids.shape[1], 0)
        return self.net(ids.unsqueeze(-1), num, lengths)


def skorch_naive(X: RaggedSequences, y, vocab, width):
    # every sequence padded to the longest one of the whole data set
    padded = X.to_padded()
    ids = np.zeros((len(X), width), dtype=np.int64)
    ids[:, : padded["categorical"].shape[1]] = padded["categorical"][..., 0]
    net = NeuralNetClassifier(
        _PaddedModule, module__vocab=vocab, criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam, lr=3e-3, batch_size=BATCH, max_epochs=EPOCHS,
        train_split=None, verbose=0,
    )
    net.fit({"ids": ids, "lengths": padded["lengths"]}, y)
    return float(net.history[-1, "dur"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--naive-n", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    vocab = 5000 + 2
    lengths = long_tailed_lengths(args.n)
    X, y = ragged_workload(lengths)
    n_events = int(lengths.sum())
    fixed_len = int(round(lengths.mean()))
    Xf, yf = ragged_workload(np.full(n_events // fixed_len, fixed_len), seed=1)
    Xn, yn = X[: args.naive_n], y[: args.naive_n]
    batches = bucketed_batches(X, y)
    print(f"{args.n:,} sequences, {n_events:,} events, lengths median "
          f"{int(np.median(lengths))} max {lengths.max()}; fixed-length variant: "
          f"{len(Xf):,} x {fixed_len}", flush=True)
    times = interleaved(
        {
            "library": lambda: library_fit(X, y),
            "torch_loop": lambda: torch_loop(batches, vocab),
            "skorch_naive": lambda: skorch_naive(Xn, yn, vocab, int(lengths.max())),
            "fixed_length": lambda: library_fit(Xf, yf),
            "library_defaults": lambda: library_fit(X, y, architecture={}),
        },
        repeats=args.repeats,
    )
    sizes = {
        "library": (len(X), n_events),
        "torch_loop": (len(X), n_events),
        "skorch_naive": (len(Xn), int(Xn.lengths.sum())),
        "fixed_length": (len(Xf), Xf.n_events),
        "library_defaults": (len(X), n_events),
    }
    rows = []
    for name, t in times.items():
        n_seq, n_ev = sizes[name]
        rows.append({"variant": name, "seconds": round(t, 2),
                     "sequences/s": int(n_seq / t), "events/s": int(n_ev / t)})
    print_table(rows, ["variant", "seconds", "sequences/s", "events/s"])
    by = {r["variant"]: r for r in rows}
    ratios = {
        "library / torch_loop (sequences/s, target >= 0.9)":
            by["library"]["sequences/s"] / by["torch_loop"]["sequences/s"],
        "library / skorch_naive (sequences/s, target >= 10)":
            by["library"]["sequences/s"] / by["skorch_naive"]["sequences/s"],
        "library long-tailed / fixed-length (events/s, target >= 0.8)":
            by["library"]["events/s"] / by["fixed_length"]["events/s"],
        "default network / plain network (sequences/s; cost of the skip paths)":
            by["library_defaults"]["sequences/s"] / by["library"]["sequences/s"],
    }
    print()
    for k, v in ratios.items():
        print(f"{k}: {v:.2f}")
    path = write_result("training", {"rows": rows, "ratios": ratios,
                                     "args": vars(args)})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
