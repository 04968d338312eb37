"""Data-parallel training (torch.distributed, DDP) in two real processes.

One ``torchrun`` launch (gloo backend, 2 CPU processes) runs this file as a
script: each process fits the same estimators on the same data and writes
what it fitted. The tests compare the two processes with each other and
with a fit in this (single) process: a data-parallel fit trains on the
global batches of a single-process fit with the same ``batch_size``, so its
loss curves, early stopping and weights must match one.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

#: the data-parallel fits (name -> estimator, its parameters, sample weights)
CASES = {
    # early stopping with sample and class weights, no linear start; 81
    # training rows in batches of 16: one global batch has one row (a
    # stand-in row on the second process)
    "weighted": ("LSTMSequenceClassifier", dict(
        hidden_size=8, embedding_dim=4, dropout=0.0, wide=False, batch_size=16,
        lr=0.02, max_epochs=12, n_iter_no_change=2, tol=0.01, random_state=0,
        class_weight={0: 1.0, 1: 2.0},
    ), True),
    # the linear start (wide=True, penalty chosen on the validation split);
    # batches of 4: 3 validation batches, 2 on the first process, 1 on the
    # second
    "linear_start": ("LSTMSequenceRegressor", dict(
        hidden_size=8, embedding_dim=4, dropout=0.0, batch_size=4,
        max_epochs=3, random_state=1,
    ), False),
    # dropout and random_state=None: the processes agree on a seed
    "unseeded": ("TransformerSequenceClassifier", dict(
        hidden_size=8, num_heads=2, embedding_dim=4, dropout=0.1, wide=False,
        batch_size=16, max_epochs=3, random_state=None,
    ), False),
}


def make_data(n=90, seed=0):
    """Tiny sequences of one categorical channel, noisy binary labels
    (whether id 3 occurs, 15% flipped), a numeric target, weights."""
    from seqestimators import RaggedSequences

    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 12, size=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    ids = rng.integers(2, 8, size=int(offsets[-1]))
    X = RaggedSequences(offsets, ids[:, None], cardinalities=[8])
    has = np.array([(ids[a:b] == 3).any() for a, b in zip(offsets, offsets[1:])])
    y = (has ^ (rng.random(n) < 0.15)).astype(int)
    target = np.array([(ids[a:b] == 4).sum() for a, b in zip(offsets, offsets[1:])])
    weight = rng.uniform(0.2, 2.0, size=n)
    return X, y, target.astype(float), weight


def fit_case(name):
    import seqestimators

    cls, params, weighted = CASES[name]
    X, y, target, weight = make_data()
    est = getattr(seqestimators, cls)(n_threads=1, **params)
    est.fit(X, target if "Regressor" in cls else y,
            sample_weight=weight if weighted else None)
    return est, X


def summary(est, X) -> dict:
    """What a fit produced, as plain arrays."""
    history = est.net_.history
    return {
        "history": est.history_[["train_loss", "valid_loss", "valid_score"]]
        .to_numpy(),
        "global_batch_rows": [
            b["train_batch_size"] for b in history[0]["batches"]
            if "train_batch_size" in b
        ],
        "valid_batches": sum("valid_loss" in b for b in history[0]["batches"]),
        "best_epoch": est.best_epoch_,
        "stop_reason": est.stop_reason_,
        "seed": est._seed,
        "wide_alpha": est.wide_alpha_,
        "state": {
            k: v.numpy().copy() for k, v in est.net_.module_.state_dict().items()
        },
        "predictions": est._forward(X),
    }


def _worker(out: Path) -> None:
    """One process of the torchrun launch (``python -m torch.distributed.run
    --nproc-per-node 2 test_distributed.py OUT``)."""
    import torch
    import torch.distributed as dist

    import seqestimators

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    result = {}
    for name in CASES:
        est, X = fit_case(name)
        result[name] = summary(est, X)
        if rank == 0 and name == "weighted":
            seqestimators.save(est, out / "weighted.seq")
    # every process must pass the same data: y differs on the second one
    X, y, _, _ = make_data()
    try:
        est = seqestimators.LSTMSequenceClassifier(max_epochs=1)
        est.fit(X, y if rank == 0 else 1 - y)
    except ValueError as exc:
        result["mismatch"] = str(exc)
    dist.destroy_process_group()
    with open(out / f"rank{rank}.pkl", "wb") as f:
        pickle.dump(result, f)
    # Leave without the interpreter's shutdown. With torch 2.13 a process
    # that used DDP keeps the gloo process group (DDP holds references to
    # it past destroy_process_group), and one run in 5-10 aborted at exit
    # ("terminate called without an active exception", SIGABRT): under
    # gdb, a gloo worker thread was releasing the last all_gather_object's
    # tensors during Py_FinalizeEx and was stopped while taking the GIL.
    # Everything this process had to write is written and closed above.
    os._exit(0)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """The results of the two processes of one torchrun launch."""
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone",
         "--nproc-per-node", "2", __file__, str(out)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = []
    for rank in (0, 1):
        with open(out / f"rank{rank}.pkl", "rb") as f:
            results.append(pickle.load(f))
    return {"results": results, "dir": out}


@pytest.fixture(scope="module")
def single():
    """The same fits in this one process."""
    return {name: summary(*fit_case(name)) for name in ("weighted", "linear_start")}


@pytest.mark.parametrize("name", list(CASES))
def test_both_processes_hold_the_same_model(ranks, name):
    first, second = (r[name] for r in ranks["results"])
    assert first["seed"] == second["seed"]
    assert first["state"].keys() == second["state"].keys()
    for key, value in first["state"].items():
        np.testing.assert_array_equal(value, second["state"][key], err_msg=key)
    np.testing.assert_array_equal(first["predictions"], second["predictions"])
    # validation results (and so early stopping) agree exactly
    np.testing.assert_array_equal(first["history"][:, 1:], second["history"][:, 1:])
    assert first["best_epoch"] == second["best_epoch"]
    assert first["stop_reason"] == second["stop_reason"]


@pytest.mark.parametrize("name", ["weighted", "linear_start"])
def test_same_fit_as_one_process_on_the_global_batches(ranks, single, name):
    parallel, alone = ranks["results"][0][name], single[name]
    # the history records the global batches: those of one process
    assert parallel["global_batch_rows"] == alone["global_batch_rows"]
    np.testing.assert_allclose(parallel["history"], alone["history"],
                               rtol=1e-4, atol=1e-6)
    assert parallel["best_epoch"] == alone["best_epoch"]
    assert parallel["stop_reason"] == alone["stop_reason"]
    assert parallel["wide_alpha"] == pytest.approx(alone["wide_alpha"])
    for key, value in alone["state"].items():
        np.testing.assert_allclose(parallel["state"][key], value, atol=1e-5,
                                   err_msg=key)
    np.testing.assert_allclose(parallel["predictions"], alone["predictions"],
                               atol=1e-5)
    # process r evaluated validation batches r, r + 2, ... (one process: 1
    # batch of the weighted case, 3 of the linear-start case)
    n = alone["valid_batches"]
    shares = [r[name]["valid_batches"] for r in ranks["results"]]
    assert shares == [len(range(0, n, 2)), len(range(1, n, 2))]


def test_weighted_fit_stopped_early_with_a_one_row_batch(single):
    # what the equivalence above covers: early stopping restored an earlier
    # epoch, and one global batch left the second process a stand-in row
    alone = single["weighted"]
    assert alone["stop_reason"] == "early_stopping"
    assert alone["best_epoch"] < len(alone["history"])
    assert 1 in alone["global_batch_rows"]


def test_linear_start_chose_a_penalty(single):
    assert single["linear_start"]["wide_alpha"]


def test_process_zero_saves_the_fitted_model(ranks, single):
    import seqestimators

    model = seqestimators.load(ranks["dir"] / "weighted.seq")
    X = make_data()[0]
    np.testing.assert_allclose(model._forward(X), single["weighted"]["predictions"],
                               atol=1e-5)


def test_different_data_on_the_processes_is_an_error_on_every_process(ranks):
    for result in ranks["results"]:
        message = result["mismatch"]
        assert "same X, y and sample_weight in every process" in message
        assert "process(es) [1]" in message


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
