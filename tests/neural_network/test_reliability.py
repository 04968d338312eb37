"""Failures during training, predict-time robustness, reproducibility."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    RaggedSequences,
    SequenceVectorizer,
)
from seqestimators.neural_network._base import (
    PREDICT_BATCH_SIZE,
    PREDICT_EVENTS_FACTOR,
)

# the network these failure tests were calibrated on (one view, no skip paths)
TINY = dict(hidden_size=4, random_state=0, pooling="last", bag_pooling=None,
            wide=False)
RNG = np.random.RandomState(0)
X = RNG.normal(size=(64, 6, 2)).astype(np.float32)
Y = X[:, -1, 0] + 0.5 * X[:, 0, 1]


class InterruptAt(Callback):
    """Raise KeyboardInterrupt (a user's Ctrl-C) at the first training batch
    of ``epoch``."""

    def __init__(self, epoch=3):
        self.epoch = epoch

    def on_batch_end(self, net, training=None, **kwargs):
        if training and len(net.history) == self.epoch:
            raise KeyboardInterrupt


class PoisonAt(Callback):
    """Set the output weights to NaN before the first batch of ``epoch``."""

    def __init__(self, epoch=3):
        self.epoch = epoch

    def on_batch_begin(self, net, training=None, **kwargs):
        if training and len(net.history) == self.epoch:
            with torch.no_grad():
                net.module_.head.weight.fill_(float("nan"))


class RaiseAt(Callback):
    """Raise ``error`` at the first training batch of ``epoch``."""

    def __init__(self, error=None, epoch=2):
        self.error = error
        self.epoch = epoch

    def on_batch_end(self, net, training=None, **kwargs):
        if training and len(net.history) == self.epoch:
            raise self.error


def _fit(callback=None, max_epochs=6, **params):
    reg = LSTMSequenceRegressor(
        max_epochs=max_epochs,
        callbacks=None if callback is None else [callback],
        **{**TINY, **params},
    )
    return reg.fit(X, Y)


@pytest.fixture(scope="module", params=[True, False], ids=["valid", "no-valid"])
def two_epochs(request):
    """What the failing fits below must fall back to: the same model trained
    for the two epochs that finished."""
    return request.param, _fit(max_epochs=2, early_stopping=request.param)


# ------------------------------------------------------------- NaN / inf
def test_non_finite_loss_stops_training_and_restores_weights(two_epochs):
    early_stopping, reference = two_epochs
    with pytest.warns(ConvergenceWarning) as record:
        reg = _fit(PoisonAt(3), early_stopping=early_stopping)
    message = str(record[0].message)
    assert "stopped training: the training loss became nan in epoch 3, batch 1" in (
        message
    )
    assert "weights of epoch" in message and "were restored" in message
    assert reg.stop_reason_ == "non_finite_loss"
    assert reg.n_iter_ == len(reg.history_) == 2
    assert reg.best_epoch_ == reference.best_epoch_
    assert all(torch.isfinite(p).all() for p in reg.net_.module_.parameters())
    np.testing.assert_array_equal(reg.predict(X), reference.predict(X))


def test_divergence_from_a_huge_learning_rate_is_caught():
    """NaN through the data path, no callback: plain SGD without clipping at
    lr=1e4 overflows in epoch 2; the model of epoch 1 is kept."""
    with pytest.warns(ConvergenceWarning, match="training loss became inf"):
        reg = _fit(optimizer="sgd", lr=1e4, clip_grad_norm=None)
    assert reg.stop_reason_ == "non_finite_loss"
    assert np.isfinite(reg.predict(X)).all()


def test_divergence_in_the_first_epoch_raises_and_leaves_no_model():
    reg = LSTMSequenceRegressor(lr=1e30, max_epochs=3, **TINY)
    with pytest.raises(ValueError, match="before any epoch finished") as info:
        reg.fit(X, Y)
    assert "lr=1e+30" in str(info.value)
    assert not [a for a in vars(reg) if a.endswith("_")]
    with pytest.raises(NotFittedError):
        reg.predict(X)


# ----------------------------------------------------------- Ctrl-C
def test_keyboard_interrupt_keeps_a_usable_model(two_epochs):
    early_stopping, reference = two_epochs
    with pytest.warns(UserWarning, match=r"interrupted \(KeyboardInterrupt\)"):
        reg = _fit(InterruptAt(3), early_stopping=early_stopping)
    assert reg.stop_reason_ == "interrupted"
    assert reg.n_iter_ == 2 and len(reg.loss_curve_) == 2
    np.testing.assert_array_equal(reg.predict(X), reference.predict(X))


def test_early_stopping_is_not_an_interrupt():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg = _fit(n_iter_no_change=1, tol=1e6, max_epochs=5)
    assert reg.stop_reason_ == "early_stopping"
    assert reg.n_iter_ == 2 and reg.best_epoch_ == 1
    full = _fit(max_epochs=2, early_stopping=False)
    assert full.stop_reason_ == "completed"


def test_interrupt_before_any_epoch_finished_propagates():
    reg = LSTMSequenceRegressor(max_epochs=3, callbacks=[InterruptAt(1)], **TINY)
    with pytest.raises(KeyboardInterrupt):
        reg.fit(X, Y)
    assert not hasattr(reg, "net_")


def test_interrupted_partial_fit_keeps_the_previous_model():
    reg = _fit(max_epochs=2, early_stopping=False)
    before = reg.predict(X)
    reg.net_.callbacks_.append(("interrupt", InterruptAt(3)))  # the next epoch
    with pytest.warns(UserWarning, match="interrupted"):
        reg.partial_fit(X, Y)
    assert reg.n_iter_ == 2 and reg.stop_reason_ == "interrupted"
    np.testing.assert_array_equal(reg.predict(X), before)


# ------------------------------------------------------ out of memory
@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't "
            "allocate memory: you tried to allocate 8589934592 bytes. Error code 12 "
            "(Cannot allocate memory)"
        ),
        MemoryError(),
    ],
    ids=["cuda", "cpu-runtime", "memory"],
)
def test_out_of_memory_suggests_a_smaller_batch(error):
    reg = LSTMSequenceRegressor(max_epochs=3, callbacks=[RaiseAt(error)], **TINY)
    with pytest.raises(type(error), match=r"batch_size=16\. Use a smaller batch_s"):
        reg.fit(X, Y)
    assert not hasattr(reg, "net_")  # a failed first fit leaves nothing fitted


def test_out_of_memory_in_a_continued_fit_keeps_the_model():
    reg = _fit(max_epochs=2, early_stopping=False)
    before = reg.predict(X)
    reg.net_.callbacks_.append(("oom", RaiseAt(torch.OutOfMemoryError("oom"), 3)))
    with pytest.raises(torch.OutOfMemoryError, match="smaller batch_size"):
        reg.partial_fit(X, Y)
    assert reg.n_iter_ == 2
    np.testing.assert_array_equal(reg.predict(X), before)


def test_out_of_memory_at_predict_time():
    reg = _fit(max_epochs=1)

    def hook(module, args):
        raise torch.OutOfMemoryError("CUDA out of memory")

    handle = reg.net_.module_.register_forward_pre_hook(hook)
    try:
        with pytest.raises(torch.OutOfMemoryError, match="fewer than 64 sequences"):
            reg.predict(X)
    finally:
        handle.remove()


def test_other_errors_propagate_unchanged():
    reg = LSTMSequenceRegressor(
        max_epochs=3, callbacks=[RaiseAt(ZeroDivisionError("boom"))], **TINY
    )
    with pytest.raises(ZeroDivisionError, match="^boom$"):
        reg.fit(X, Y)


# ------------------------------------------------ predict-time robustness
@pytest.fixture(scope="module")
def event_model(sequences, targets):
    """Vectorizer (max_len=20) + classifier on the shared event log."""
    y = targets.loc[sequences.index, "will_buy"].to_numpy()
    pipe = make_pipeline(
        SequenceVectorizer(max_len=20),
        LSTMSequenceClassifier(hidden_size=8, max_epochs=2, random_state=0),
    )
    return pipe.fit(sequences, y), sequences


def _frame(rows: dict, like: pd.DataFrame) -> pd.DataFrame:
    """A sequence frame with the columns of ``like`` (Python lists)."""
    return pd.DataFrame(rows)[list(like.columns)]


def _user(n_events: int, *, event="view", category="books", start=0, step=60):
    t0 = pd.Timestamp("2024-01-01")
    return {
        "timestamp": [
            t0 + pd.Timedelta(seconds=start + step * i) for i in range(n_events)
        ],
        "event_type": [event] * n_events,
        "category": [category] * n_events,
        "price": [10.0] * n_events,
    }


def _rows(users: list[dict]) -> dict:
    return {c: [u[c] for u in users] for c in users[0]}


def test_unseen_categories(event_model):
    model, seqs = event_model
    unseen = _frame(
        _rows(
            [
                _user(5, event="teleport", category="a category ✨"),
                _user(5, event="zap", category="another"),
            ]
        ),
        seqs,
    )
    proba = model.predict_proba(unseen)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # both are read as "unknown" (id 1): the same input, the same prediction
    np.testing.assert_array_equal(proba[0], proba[1])


def test_sequences_longer_than_max_len(event_model):
    """Only the last max_len=20 events count (time gaps come from the full
    sequence): changing earlier events changes nothing."""
    model, seqs = event_model
    long_user = _user(2000)
    edited = {k: list(v) for k, v in long_user.items()}
    edited["event_type"][:1980] = ["purchase"] * 1980
    edited["price"][:1980] = [999.0] * 1980
    proba = model.predict_proba(_frame(_rows([long_user, edited]), seqs))
    np.testing.assert_array_equal(proba[0], proba[1])
    assert model[0].transform(_frame(_rows([long_user]), seqs)).lengths[0] == 20


def test_zero_length_sequences(event_model):
    model, seqs = event_model
    empty = {c: [] for c in _user(1)}
    # a batch of one empty sequence, and empty ones among others
    alone = model.predict_proba(_frame(_rows([empty]), seqs))
    mixed = model.predict_proba(
        _frame(_rows([_user(3), empty, _user(40), empty]), seqs)
    )
    np.testing.assert_allclose(mixed[1], alone[0], atol=1e-6)
    np.testing.assert_array_equal(mixed[1], mixed[3])
    Xr = RaggedSequences(np.zeros(3, dtype=np.int64), None, np.zeros((0, 2), "f4"))
    reg = _fit(max_epochs=1)
    out = reg.predict(Xr)
    assert out.shape == (2,) and out[0] == out[1]


def test_a_batch_of_one_equals_its_row_in_a_batch(event_model):
    model, seqs = event_model
    batch = model.predict_proba(seqs.iloc[:50])
    for i in (0, 17, 49):
        alone = model.predict_proba(seqs.iloc[[i]])
        np.testing.assert_allclose(alone[0], batch[i], atol=1e-6)


def test_large_input_is_predicted_in_bounded_batches():
    """20,000 sequences, one of them 3,000 events long: prediction runs in
    length-sorted batches of at most 1,024 rows, each padded to its own
    longest sequence and holding at most ``PREDICT_EVENTS_FACTOR`` times the
    events of a training batch, so memory is bounded by one batch whatever n
    is, and the long outlier does not inflate a batch of 1,024 rows."""
    reg = _fit(max_epochs=1, hidden_size=256)
    max_events = PREDICT_EVENTS_FACTOR * reg._max_batch_events()
    assert max_events < PREDICT_BATCH_SIZE * 3000  # the cap matters here
    n = 20_000
    rng = np.random.RandomState(1)
    lengths = rng.randint(0, 8, n)
    lengths[123] = 3000
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    Xr = RaggedSequences(
        offsets, None, rng.normal(size=(offsets[-1], 2)).astype(np.float32)
    )
    rows = []
    handle = reg.net_.module_.register_forward_pre_hook(
        lambda module, args: rows.append(tuple(args[1].shape))
    )
    tracemalloc.start()
    try:
        out = reg.predict(Xr)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        handle.remove()
    assert out.shape == (n,) and np.isfinite(out).all()
    assert max(r[0] for r in rows) == PREDICT_BATCH_SIZE
    assert sum(r[0] for r in rows) == n
    assert max(r[0] * r[1] for r in rows) <= max_events
    long_batch = next(r for r in rows if r[1] == 3000)
    assert long_batch[0] < PREDICT_BATCH_SIZE
    # at most one padded batch (float32, 2 channels) plus O(n) bookkeeping,
    # against 480 MB for padding all of X at once and 24 MB for a batch of
    # 1,024 rows padded to the outlier
    assert peak < max_events * 2 * 4 + 100 * n, peak
    # the long sequence is predicted as if alone
    np.testing.assert_allclose(out[123], reg.predict(Xr[[123]])[0], atol=1e-5)


# ------------------------------------------- reproducible across processes
_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from sklearn.pipeline import make_pipeline
    from seqestimators import LSTMSequenceClassifier, SequenceVectorizer, to_sequences
    from seqestimators.datasets import make_event_log

    events, targets = make_event_log(150, random_state=0)
    X = to_sequences(events, columns=["timestamp", "event_type", "category", "price"])
    y = targets.loc[X.index, "next_event"].to_numpy()
    model = make_pipeline(
        SequenceVectorizer(max_len=20),
        LSTMSequenceClassifier(hidden_size=8, max_epochs=3, n_threads=1,
                               random_state=0),
    )
    np.save(sys.argv[1], model.fit(X, y).predict_proba(X))
    """
)


def test_fits_in_two_fresh_processes_are_bitwise_identical(tmp_path):
    """Same random_state, two interpreters with different hash seeds (set and
    dict orders differ): identical predictions on the CPU."""
    script = tmp_path / "fit.py"
    script.write_text(_SCRIPT)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / f"p{i}.npy")],
            env={**_env(), "PYTHONHASHSEED": str(seed)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, seed in enumerate((1, 2))
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
    a, b = np.load(tmp_path / "p0.npy"), np.load(tmp_path / "p1.npy")
    assert a.shape[0] == 150
    assert np.array_equal(a, b)


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}


@pytest.mark.parametrize(
    "bad_y, match",
    [
        (np.r_[np.abs(Y), 1.0], "different numbers of samples"),
        (-np.abs(Y), "non-negative"),
    ],
    ids=["length-mismatch", "negative-poisson-target"],
)
def test_a_refit_rejected_on_its_input_keeps_the_fitted_model(bad_y, match):
    reg = LSTMSequenceRegressor(loss="poisson", max_epochs=2, **TINY)
    reg.fit(X, np.abs(Y))
    before = reg.predict(X)
    state = {k: v for k, v in vars(reg).items() if k.endswith("_")}
    with pytest.raises(ValueError, match=match):
        reg.fit(X, bad_y)
    np.testing.assert_array_equal(reg.predict(X), before)
    assert {k for k in vars(reg) if k.endswith("_")} == set(state)
    assert reg.y_mean_ is state["y_mean_"] and reg.net_ is state["net_"]
