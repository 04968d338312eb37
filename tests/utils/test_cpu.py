"""CPU runtime settings held during fit and predict, restored afterwards."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from seqestimators import LSTMSequenceClassifier, RaggedSequences
from seqestimators.utils._cpu import (
    _MALLOC_HOLD,
    _glibc,
    _openmp_parallel,
    cpu_runtime,
    denormals_flushed,
    on_every_thread,
    user_malloc_settings,
)
from tests.utils._allocator import mmapped_bytes, served_by_mmap


@pytest.fixture
def denormals_kept():
    torch.set_flush_denormal(False)
    yield
    torch.set_flush_denormal(False)


def test_denormals_flushed_inside_and_restored_after(denormals_kept):
    assert not denormals_flushed()
    with cpu_runtime(None):
        assert denormals_flushed()
        tiny = torch.tensor([1e-39], dtype=torch.float32)
        assert (tiny * 2).item() == 0.0
    assert not denormals_flushed()
    assert (torch.tensor([1e-39], dtype=torch.float32) * 2).item() > 0


def test_a_caller_flushing_denormals_keeps_its_setting(denormals_kept):
    torch.set_flush_denormal(True)
    with cpu_runtime(None):
        assert denormals_flushed()
    assert denormals_flushed()


def test_flush_can_be_turned_off(denormals_kept):
    with cpu_runtime(None, flush_denormal=False):
        assert not denormals_flushed()


def test_threads_restored_after_an_exception(denormals_kept):
    before = torch.get_num_threads()
    target = 2 if before == 1 else 1
    with pytest.raises(RuntimeError, match="boom"), cpu_runtime(target):
        assert torch.get_num_threads() == target
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    assert not denormals_flushed()


def test_fit_and_predict_leave_the_callers_settings(denormals_kept):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 30, size=40)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = rng.integers(2, 12, size=(offsets[-1], 1))
    X = RaggedSequences(offsets, ids, cardinalities=[12])
    y = rng.integers(0, 2, size=40)
    seen = []
    applied = _MALLOC_HOLD.applied

    from skorch.callbacks import Callback

    class Record(Callback):
        def on_batch_end(self, net, **kwargs):
            seen.append(denormals_flushed())

    clf = LSTMSequenceClassifier(
        hidden_size=4, max_epochs=1, early_stopping=False, callbacks=[Record()],
        random_state=0,
    ).fit(X, y)
    assert seen and all(seen)  # every training batch ran with denormals flushed
    assert not denormals_flushed()
    tuned = _glibc() is not None and not user_malloc_settings()
    assert _MALLOC_HOLD.applied == applied + tuned and _MALLOC_HOLD.depth == 0
    clf.predict_proba(X)
    assert not denormals_flushed()


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="OpenMP team reached on Linux only"
)


def _flushed_share(denormals: torch.Tensor) -> float:
    """Share of a large elementwise product of denormals that came out as 0.

    torch splits the product across its worker threads; each chunk is
    flushed or not by the flag of the thread that computed it. The result is
    read as integers, which no flag touches."""
    out = denormals * 2
    return float((out.view(torch.int32) == 0).double().mean())


@linux_only
def test_torchs_own_worker_threads_compute_with_denormals_flushed(denormals_kept):
    """scikit-learn loads its own libgomp, whose thread pool torch never
    uses: the flag must reach the threads that compute torch's ops."""
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's libgomp)

    _openmp_parallel.cache_clear()
    assert _openmp_parallel() is not None
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        # a known start: no thread of torch's team flushes
        on_every_thread(lambda: torch.set_flush_denormal(False), 2)
        denormals = torch.full((2**21,), 1e-39, dtype=torch.float32)
        assert (denormals.view(torch.int32) != 0).all()
        assert _flushed_share(denormals) == 0.0
        torch.set_flush_denormal(True)  # the calling thread only...
        assert 0.0 < _flushed_share(denormals) < 1.0  # ...misses the worker's chunk
        torch.set_flush_denormal(False)
        with cpu_runtime(2):
            assert _flushed_share(denormals) == 1.0
        assert _flushed_share(denormals) == 0.0  # restored everywhere
    finally:
        torch.set_num_threads(before)


@linux_only
def test_every_worker_thread_flushes_inside_and_is_restored_after(denormals_kept):
    before = torch.get_num_threads()
    # workers created before the flag is set keep their own register
    torch.set_num_threads(2)
    torch.ones(512, 512) @ torch.ones(512, 512)
    torch.set_num_threads(before)
    assert not any(on_every_thread(denormals_flushed, 2))
    with cpu_runtime(2):
        assert torch.get_num_threads() == 2
        assert on_every_thread(denormals_flushed, 2) == [True, True]
    assert torch.get_num_threads() == before
    assert not any(on_every_thread(denormals_flushed, 2))
    with cpu_runtime(2, all_threads=False):
        assert denormals_flushed()
    assert not denormals_flushed()


def _has_mallinfo2() -> bool:
    return _glibc() is not None and hasattr(_glibc(), "mallinfo2")


glibc_only = pytest.mark.skipif(
    not _has_mallinfo2(), reason="glibc's allocator only (mallinfo2: glibc 2.33+)"
)
tuning_allowed = pytest.mark.skipif(
    bool(user_malloc_settings()),
    reason=f"the allocator is configured here: {user_malloc_settings()}",
)


@glibc_only
@tuning_allowed
def test_fit_keeps_large_buffers_in_the_heap_and_restores_the_allocator():
    size = 64 * 2**20  # far above glibc's mmap threshold
    outside = np.ones(size, dtype=np.uint8)  # a fresh mmap outside the block
    assert mmapped_bytes() >= size
    del outside
    before = mmapped_bytes()
    with cpu_runtime(None, keep_freed_memory=True):
        inside = np.ones(size, dtype=np.uint8)
        assert mmapped_bytes() == before  # served from the heap, not mmap
        del inside
        with cpu_runtime(None, keep_freed_memory=True):  # nested: no reset
            again = np.ones(size, dtype=np.uint8)
            assert mmapped_bytes() == before
            del again
        again = np.ones(size, dtype=np.uint8)
        assert mmapped_bytes() == before
        del again
    after = np.ones(size, dtype=np.uint8)
    assert mmapped_bytes() >= before + size  # defaults are back
    del after


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, []),
        ({"HOME": "/root", "MALLOC_PERTURB": "1"}, []),
        ({"MALLOC_ARENA_MAX": "2"}, ["MALLOC_ARENA_MAX"]),
        (
            {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TOP_PAD_": "0"},
            ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_"],
        ),
        ({"MALLOC_TRIM_THRESHOLD_": "1", "MALLOC_MMAP_MAX_": "0"},
         ["MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_"]),
        (
            {"GLIBC_TUNABLES": "glibc.rtld.nns=2:glibc.malloc.arena_max=1"},
            ["glibc.malloc.arena_max"],
        ),
        ({"GLIBC_TUNABLES": "glibc.rtld.nns=2"}, []),
        ({"SEQESTIMATORS_TUNE_MALLOC": "0"}, ["SEQESTIMATORS_TUNE_MALLOC=0"]),
        ({"SEQESTIMATORS_TUNE_MALLOC": "1"}, []),
        (
            {"LD_PRELOAD": "/usr/lib/libjemalloc.so.2"},
            ["LD_PRELOAD=/usr/lib/libjemalloc.so.2"],
        ),
        ({"LD_PRELOAD": "/usr/lib/libfaketime.so"}, []),
    ],
)
def test_user_malloc_settings_finds_what_the_user_configured(environ, expected):
    assert user_malloc_settings(environ) == expected


@glibc_only
def test_the_opt_out_is_read_at_every_fit(monkeypatch):
    monkeypatch.setenv("SEQESTIMATORS_TUNE_MALLOC", "0")
    applied = _MALLOC_HOLD.applied
    with cpu_runtime(None, keep_freed_memory=True):
        assert served_by_mmap()
        assert _MALLOC_HOLD.depth == 0
    assert _MALLOC_HOLD.applied == applied


#: run in a fresh process: what the allocator does with the environment given
_ALLOCATOR_SCRIPT = """
import json, sys
import numpy as np
from tests.utils._allocator import served_by_mmap
from seqestimators.utils._cpu import _MALLOC_HOLD, cpu_runtime
with cpu_runtime(None, keep_freed_memory=True):
    inside = served_by_mmap()
if sys.argv[1] == "fit":
    from seqestimators import LSTMSequenceClassifier
    rng = np.random.default_rng(0)
    X = rng.integers(1, 6, size=(16, 5))
    y = rng.integers(0, 2, size=16)
    LSTMSequenceClassifier(
        hidden_size=4, embedding_dim=4, max_epochs=1, early_stopping=False,
        n_threads=1, random_state=0,
    ).fit(X, y)
print(json.dumps({"inside": inside, "applied": _MALLOC_HOLD.applied}))
"""

_REPO = Path(__file__).resolve().parents[2]


def _allocator_in_fresh_process(extra_env: dict, what: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SEQESTIMATORS_TUNE_MALLOC", "GLIBC_TUNABLES", "LD_PRELOAD"}
        and not key.startswith("MALLOC_")
    }
    env.update(extra_env)
    out = subprocess.run(
        [sys.executable, "-c", _ALLOCATOR_SCRIPT, what],
        capture_output=True, text=True, env=env, cwd=_REPO, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@glibc_only
@pytest.mark.parametrize(
    ("extra_env", "what"),
    [
        ({"MALLOC_ARENA_MAX": "2"}, "fit"),
        ({"MALLOC_MMAP_THRESHOLD_": "131072"}, "block"),
        ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"}, "block"),
    ],
)
def test_a_user_configured_allocator_is_left_alone(extra_env, what):
    result = _allocator_in_fresh_process(extra_env, what)
    assert result == {"inside": True, "applied": 0}  # mallopt never called


@glibc_only
def test_an_allocator_left_as_is_is_tuned_in_a_fresh_process():
    result = _allocator_in_fresh_process({}, "block")
    assert result == {"inside": False, "applied": 1}


def _hold_in_thread(entered: threading.Event, leave: threading.Event):
    def body():
        with cpu_runtime(None, keep_freed_memory=True):
            entered.set()
            assert leave.wait(30)

    thread = threading.Thread(target=body)
    thread.start()
    assert entered.wait(30)
    return thread


@glibc_only
@tuning_allowed
def test_concurrent_fits_restore_only_when_the_last_one_ends():
    assert served_by_mmap() and _MALLOC_HOLD.depth == 0
    applied = _MALLOC_HOLD.applied
    entered = [threading.Event(), threading.Event()]
    leave = [threading.Event(), threading.Event()]
    first = _hold_in_thread(entered[0], leave[0])
    try:
        second = _hold_in_thread(entered[1], leave[1])
        assert _MALLOC_HOLD.depth == 2 and not served_by_mmap()
        leave[0].set()  # the first fit ends while the second still runs
        first.join(30)
        assert _MALLOC_HOLD.depth == 1 and not served_by_mmap()
        with cpu_runtime(None, keep_freed_memory=True):  # a nested third
            assert _MALLOC_HOLD.depth == 2
        assert _MALLOC_HOLD.depth == 1 and not served_by_mmap()
    finally:
        for event in leave:
            event.set()
        first.join(30)
        second.join(30)
    assert _MALLOC_HOLD.depth == 0 and served_by_mmap()  # the last one restored
    assert _MALLOC_HOLD.applied == applied + 1  # tuned once for all three


#: a fit with 2 threads, then joblib's default backend (loky) on 2 workers
_FORK_SCRIPT = """
import numpy as np
import torch
from joblib import Parallel, delayed
from seqestimators import LSTMSequenceClassifier

def f(i):
    import torch
    return int((torch.ones(4, 4) @ torch.ones(4, 4)).sum()) + i

rng = np.random.default_rng(0)
X = rng.integers(1, 6, size=(32, 6))
y = rng.integers(0, 2, size=32)
LSTMSequenceClassifier(
    hidden_size=4, embedding_dim=4, max_epochs=1, early_stopping=False,
    n_threads=2, random_state=0,
).fit(X, y)
print(Parallel(n_jobs=2)(delayed(f)(i) for i in range(4)))
"""


def test_joblibs_default_backend_works_after_a_fit_with_threads():
    """A plain ``fork`` after a multi-threaded fit hangs in the child (GNU
    OpenMP is not fork-safe); loky starts fresh workers. A hang fails here
    by the timeout instead of blocking the suite."""
    out = subprocess.run(
        [sys.executable, "-c", _FORK_SCRIPT],
        capture_output=True, text=True, cwd=_REPO, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[64, 65, 66, 67]"
