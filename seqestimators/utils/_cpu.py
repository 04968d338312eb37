"""CPU settings held for the duration of a fit or a prediction.

Two torch settings decide CPU speed far more than anything in the model:

- the number of intra-op threads (``n_threads``): under contention on a
  small machine, 2 threads can run 10x slower than 1;
- denormal floats. Gradients flowing backwards through a long recurrence
  shrink geometrically; once they fall below ``1.2e-38`` they become
  denormal, and x86 CPUs compute on denormals up to 100x slower. On long
  sequences (a few hundred steps) this made the LSTM backward pass 10-60x
  slower per event. Flushing them to zero (``torch.set_flush_denormal``)
  changes no value above ``1.2e-38``.

The flush-to-zero flag lives in each thread's floating-point control
register, and ``torch.set_flush_denormal`` sets it for the calling thread
only. torch's intra-op worker threads (an OpenMP team) keep the flag they had
when they were created, so with 2 or more threads half the backward pass
still ran on denormals (4x slower). :func:`cpu_runtime` therefore also sets
the flag inside every thread of the OpenMP team, through the runtime's
``GOMP_parallel`` entry point, when the runtime torch loaded offers it
(libgomp on Linux, or Intel's libiomp5 which exports the same symbol).
Elsewhere only the calling thread is set.

A third setting is the C allocator's. torch allocates and frees a buffer
per operation; glibc serves buffers above its (adaptive) mmap threshold with
fresh ``mmap`` calls and returns them at ``free``, so the next batch pays
page faults on memory it just gave back. Batches of varying shapes (long-
tailed data) defeat the adaptive threshold. During ``fit``, on glibc,
:func:`cpu_runtime` asks ``mallopt`` to keep freed memory in the heap
(``M_MMAP_MAX=0``, ``M_TRIM_THRESHOLD=1 GiB``) and afterwards restores the
defaults and returns the free memory to the OS (``malloc_trim``). That made
an epoch of long-tailed data 28-30% faster. One trace stays: glibc stops
adapting its mmap threshold once ``mallopt`` was called (it keeps its current
value). Set the environment variable ``SEQESTIMATORS_TUNE_MALLOC=0`` to leave
the allocator alone.

:func:`cpu_runtime` sets all of this and restores what was there before.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import torch

__all__ = ["cpu_runtime", "denormals_flushed"]

#: the smallest positive normal float32 is ~1.18e-38; this is denormal
_DENORMAL = np.float32(1e-39)
_TWO = np.float32(2)

_TEAM_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

#: keep freed memory in the heap during fit (glibc only); env opt-out
TUNE_MALLOC = os.environ.get("SEQESTIMATORS_TUNE_MALLOC", "1") != "0"

# glibc's mallopt parameters and their defaults
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_DEFAULT_TRIM_THRESHOLD, _DEFAULT_MMAP_MAX = 128 * 1024, 65536
_KEEP_TRIM_THRESHOLD = 1 << 30

_malloc_lock = threading.Lock()
_malloc_depth = 0


def denormals_flushed() -> bool:
    """Whether the calling thread flushes denormal floats to zero.

    The flag lives in the thread's floating-point control register, shared by
    numpy and torch; a numpy scalar product reads it in ~0.1 us.
    """
    return bool(_DENORMAL * _TWO == 0)


def _torch_openmp_path(loaded: set[str]) -> str | None:
    """Path of the OpenMP runtime torch uses, among the loaded ones.

    Other wheels bring their own copy (scikit-learn bundles a libgomp): a
    copy keeps its own thread pool, so calling the wrong one would set the
    flag in threads torch never uses. torch's own copy comes first; failing
    that, the only runtime loaded; when several remain, none.
    """
    torch_lib = os.path.join(os.path.dirname(torch.__file__), "lib")
    own = sorted(p for p in loaded if os.path.dirname(p) == torch_lib)
    if own:
        return own[0]
    return next(iter(loaded)) if len(loaded) == 1 else None


@lru_cache(maxsize=1)
def _openmp_parallel():
    """``GOMP_parallel`` of the OpenMP runtime torch uses, or None (not
    Linux, runtime not found or ambiguous, or no such symbol)."""
    if not sys.platform.startswith("linux"):
        return None
    torch.ones(2) + 1  # make sure torch's libraries are loaded
    try:
        with open("/proc/self/maps") as f:
            loaded = {
                line.split()[-1]
                for line in f
                if ("libgomp" in line or "libiomp5" in line) and "/" in line
            }
    except OSError:
        return None
    path = _torch_openmp_path(loaded)
    if path is None:
        return None
    try:
        # RTLD_NOLOAD: the library already in the process, never a new copy
        lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        parallel = lib.GOMP_parallel
    except (OSError, AttributeError):
        return None
    parallel.argtypes = [_TEAM_FN, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    parallel.restype = None
    return parallel


def on_every_thread(fn, n_threads: int | None = None) -> list:
    """Run ``fn()`` once in each thread of torch's OpenMP team of
    ``n_threads`` (default: torch's current count) and return the results;
    only in the calling thread when no OpenMP runtime can be reached."""
    parallel = _openmp_parallel()
    if parallel is None:
        return [fn()]
    results = []

    def body(_):
        results.append(fn())

    callback = _TEAM_FN(body)  # kept alive for the duration of the call
    parallel(callback, None, n_threads or torch.get_num_threads(), 0)
    return results


@lru_cache(maxsize=1)
def _glibc():
    """The C library when it is glibc (``mallopt``/``malloc_trim``), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc only  # noqa: B018
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    return libc


def _hold_freed_memory(libc) -> None:
    """glibc keeps freed buffers in the heap until the matching release.
    Nested and concurrent holds (fits in several Python threads) share one
    setting; the last release restores the defaults and trims the heap."""
    global _malloc_depth
    with _malloc_lock:
        if _malloc_depth == 0:
            libc.mallopt(_M_MMAP_MAX, 0)
            libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_TRIM_THRESHOLD)
        _malloc_depth += 1


def _release_freed_memory(libc) -> None:
    global _malloc_depth
    with _malloc_lock:
        _malloc_depth -= 1
        if _malloc_depth == 0:
            libc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
            libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
            libc.malloc_trim(0)


def _set_flush(flag: bool, n_threads: int) -> None:
    torch.set_flush_denormal(flag)
    if n_threads > 1:
        # the team may not share the calling thread's flag: set it everywhere
        on_every_thread(lambda: torch.set_flush_denormal(flag), n_threads)


@contextmanager
def cpu_runtime(
    n_threads: int | None,
    *,
    flush_denormal: bool = True,
    all_threads: bool = True,
    keep_freed_memory: bool = False,
):
    """Use ``n_threads`` torch threads (None: as is) and flush denormal floats
    inside the block; the caller's settings come back afterwards.

    ``all_threads=False`` sets the flag in the calling thread only: cheaper
    (~2 us instead of ~50 us with 2 threads), for short inference calls where
    denormals are rare. ``keep_freed_memory=True`` (for training) tunes
    glibc's allocator as described in the module docstring.
    """
    libc = _glibc() if keep_freed_memory and TUNE_MALLOC else None
    if libc is not None:
        _hold_freed_memory(libc)
    before_threads = torch.get_num_threads()
    set_threads = n_threads is not None and n_threads != before_threads
    try:
        if set_threads:
            torch.set_num_threads(n_threads)
        threads = torch.get_num_threads() if all_threads else 1
        unflush = flush_denormal and not denormals_flushed()
        if flush_denormal:
            _set_flush(True, threads)
        try:
            yield
        finally:
            if unflush:
                _set_flush(False, threads)
    finally:
        if set_threads:
            torch.set_num_threads(before_threads)
        if libc is not None:
            _release_freed_memory(libc)
