"""gene_families: the linear model alone (the LSTM defaults with the
network never kept: the linear start refitted on every training sequence).
Written in round 3b, when the wide path entered counts as c / sqrt(length):
--log1p patched in log1p(c) / sqrt(length) for every id and k-mer (a
prototype; the library has done this itself since round 4, so the flag now
changes nothing but speed). --extra-l2 appends weaker penalties to the
linear start's path (round 4c). RESULTS.md, rounds 3b and 4c.

    python benchmarks/real_data/experiments/gene_log1p_linear.py \
        [--log1p] [--extra-l2 1e-5 1e-6] --seed 0 --folds 0 1 2
"""

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import torch
from sklearn.pipeline import make_pipeline
from torch import nn

import seqestimators.neural_network._base as base
from seqestimators import LSTMSequenceClassifier, SequenceVectorizer
from seqestimators.nn import _wide
from seqestimators.nn._pooling import padding_mask

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import run  # noqa: E402
import tasks  # noqa: E402

_design = _wide.WideEvents.design


def design(self, categorical, lengths, numeric=None):
    """The design with each count c entered as log1p(c)."""
    out = _design(self, categorical, lengths, numeric)
    inv = 1.0 / lengths.clamp(min=1).to(torch.float32).sqrt()
    for group, x in list(out.items()):
        if group != "numeric":
            rows = x.indices()[0]
            counts = torch.round(x.values() / inv[rows])
            out[group] = torch.sparse_coo_tensor(
                x.indices(), torch.log1p(counts) * inv[rows], x.shape,
                check_invariants=False).coalesce()
    return out


def _factor(code, valid):
    """log1p(c) / c per event, c the count of its code in its row."""
    same = (code[:, :, None] == code[:, None, :]) & valid[:, None, :]
    c = same.sum(-1).clamp(min=1).to(torch.float32)
    return torch.log1p(c) / c * valid.to(torch.float32)


def forward(self, categorical, lengths, numeric=None):
    """WideEvents.forward with each event weighted by log1p(c) / c."""
    mask = padding_mask(lengths, categorical.shape[1])
    ids = categorical.masked_fill(~mask.unsqueeze(-1), 0)
    out = 0.0
    for i, w in enumerate(self.weights):
        w = self._weight(w)
        w = torch.cat([torch.zeros_like(w[:1]), w[1:]])
        col = ids[..., i]
        rows = nn.functional.embedding(col, w)
        out = out + (rows * _factor(col, col > 0).unsqueeze(-1)).sum(1)
    parts = []
    if self.ngram_weights is not None:
        parts = list(self._ngram_codes(ids, lengths))
    if parts:
        code = torch.cat([c for c, _ in parts], 1)
        valid = torch.cat([v for _, v in parts], 1)
        rows = nn.functional.embedding(code, self._weight(self.ngram_weights))
        out = out + (rows * _factor(code, valid).unsqueeze(-1)).sum(1)
    out = out / lengths.clamp(min=1).to(torch.float32).sqrt().unsqueeze(1)
    if self.numeric_weights is not None and numeric is not None:
        z, w = self.summaries(numeric, lengths), self._weight(self.numeric_weights)
        out = out + (z.double() @ w.double()).to(z.dtype)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log1p", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--extra-l2", type=float, nargs="*", default=[],
                        help="weaker penalties appended to the path (round 4c)")
    args = parser.parse_args()
    if args.extra_l2:
        from seqestimators.neural_network import _linear_start
        from seqestimators.nn import L2_PATH, fit_linear_start
        _linear_start.fit_linear_start = functools.partial(
            fit_linear_start, l2_path=(*L2_PATH, *args.extra_l2))
    if args.log1p:
        _wide.WideEvents.design, _wide.WideEvents.forward = design, forward
    base.better_by_one_se = lambda first, second: False  # the linear model
    task = tasks.TASKS["gene_families"](cache=None, quick=False)
    splits = list(run._splits(task, 3, args.seed))
    for fold in args.folds:
        train, test = splits[fold]
        model = make_pipeline(SequenceVectorizer(), LSTMSequenceClassifier(
            random_state=args.seed, max_epochs=1))
        t0 = time.perf_counter()
        row, fitted = run.run_one(task, "linear alone", "library", model,
                                  args.seed, fold, train, test)
        print(json.dumps(dict(
            log1p=args.log1p, extra_l2=args.extra_l2, seed=args.seed,
            fold=fold, score=row["score"],
            seconds=round(time.perf_counter() - t0),
            wide_alpha=fitted[-1].wide_alpha_)), flush=True)


if __name__ == "__main__":
    main()
