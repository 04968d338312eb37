"""CPU runtime settings held during fit and predict, restored afterwards."""

import ctypes
import sys

import numpy as np
import pytest
import torch

from seqestimators import LSTMSequenceClassifier, RaggedSequences
from seqestimators.utils._cpu import (
    _glibc,
    _openmp_parallel,
    cpu_runtime,
    denormals_flushed,
    on_every_thread,
)


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


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost",
    )]


def _mmapped_bytes() -> int:
    libc = _glibc()
    libc.mallinfo2.restype = _MallInfo2
    return libc.mallinfo2().hblkhd


glibc_only = pytest.mark.skipif(_glibc() is None, reason="glibc's allocator only")


@glibc_only
def test_fit_keeps_large_buffers_in_the_heap_and_restores_the_allocator():
    size = 64 * 2**20  # far above glibc's mmap threshold
    outside = np.ones(size, dtype=np.uint8)  # a fresh mmap outside the block
    assert _mmapped_bytes() >= size
    del outside
    before = _mmapped_bytes()
    with cpu_runtime(None, keep_freed_memory=True):
        inside = np.ones(size, dtype=np.uint8)
        assert _mmapped_bytes() == before  # served from the heap, not mmap
        del inside
        with cpu_runtime(None, keep_freed_memory=True):  # nested: no reset
            again = np.ones(size, dtype=np.uint8)
            assert _mmapped_bytes() == before
            del again
        again = np.ones(size, dtype=np.uint8)
        assert _mmapped_bytes() == before
        del again
    after = np.ones(size, dtype=np.uint8)
    assert _mmapped_bytes() >= before + size  # defaults are back
    del after
