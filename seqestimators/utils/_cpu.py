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
(``M_MMAP_MAX=0``, ``M_TRIM_THRESHOLD=1 GiB``); that made an epoch of
long-tailed data 28-30% faster. The allocator is left alone when the user
configured it: ``SEQESTIMATORS_TUNE_MALLOC=0``, any of glibc's ``MALLOC_*``
start-up variables or a ``glibc.malloc.*`` entry in ``GLIBC_TUNABLES``, or
another allocator in ``LD_PRELOAD`` (see :func:`user_malloc_settings`; the
environment is read at every fit). glibc cannot report ``mallopt`` values,
so a program that calls ``mallopt`` itself must say so with
``os.environ["SEQESTIMATORS_TUNE_MALLOC"] = "0"``.

When it does tune, the last fit to end (fits may nest or run in several
threads: the hold is reference-counted under a lock) sets the two values it
changed back to glibc's defaults -- the values in force before, since no
user configuration was found -- and returns the free memory to the OS
(``malloc_trim``). What stays changed: glibc stops adapting its mmap
threshold once ``mallopt`` was called (the threshold keeps the value it had
reached, 128 KiB unless large buffers were freed before), and a trim
threshold glibc had already raised with it is back at 128 KiB.

:func:`cpu_runtime` sets all of this and restores what was there before.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Mapping
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import torch

__all__ = ["cpu_runtime", "denormals_flushed", "user_malloc_settings"]

#: the smallest positive normal float32 is ~1.18e-38; this is denormal
_DENORMAL = np.float32(1e-39)
_TWO = np.float32(2)

_TEAM_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

#: environment variable that turns the allocator tuning off ("0")
TUNE_MALLOC_ENV = "SEQESTIMATORS_TUNE_MALLOC"

#: glibc's malloc variables read at start-up (``man 3 mallopt``)
_MALLOC_ENV = (
    "MALLOC_ARENA_MAX",
    "MALLOC_ARENA_TEST",
    "MALLOC_MMAP_MAX_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_TRIM_THRESHOLD_",
)
#: allocators that replace glibc's malloc through ``LD_PRELOAD``
_OTHER_ALLOCATORS = ("jemalloc", "tcmalloc", "mimalloc")

# glibc's mallopt parameters and their documented defaults
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_DEFAULT_TRIM_THRESHOLD, _DEFAULT_MMAP_MAX = 128 * 1024, 65536
_KEEP_TRIM_THRESHOLD = 1 << 30


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


def user_malloc_settings(environ: Mapping[str, str] | None = None) -> list[str]:
    """The allocator settings the user made, found in the environment.

    :func:`cpu_runtime` leaves glibc's allocator alone when this list is not
    empty. glibc cannot report values set with ``mallopt``: a program that
    calls ``mallopt`` itself sets ``SEQESTIMATORS_TUNE_MALLOC=0`` (also
    from Python, ``os.environ``: the environment is read at every fit).

    Parameters
    ----------
    environ : mapping of str to str, default=None
        The environment to read; None reads ``os.environ``.

    Returns
    -------
    settings : list of str
        One entry per setting found: ``SEQESTIMATORS_TUNE_MALLOC=0``, the
        names of glibc's ``MALLOC_*`` variables that are set, the
        ``glibc.malloc.*`` entries of ``GLIBC_TUNABLES``, and another
        allocator (jemalloc, tcmalloc, mimalloc) named in ``LD_PRELOAD``.

    Examples
    --------
    >>> from seqestimators.utils._cpu import user_malloc_settings
    >>> user_malloc_settings({"MALLOC_ARENA_MAX": "2", "HOME": "/root"})
    ['MALLOC_ARENA_MAX']
    >>> user_malloc_settings({"GLIBC_TUNABLES": "glibc.malloc.mmap_max=0"})
    ['glibc.malloc.mmap_max']
    >>> user_malloc_settings({})
    []
    """
    env = os.environ if environ is None else environ
    found = []
    if env.get(TUNE_MALLOC_ENV, "1").strip() == "0":
        found.append(f"{TUNE_MALLOC_ENV}=0")
    found += [name for name in _MALLOC_ENV if name in env]
    for entry in env.get("GLIBC_TUNABLES", "").split(":"):
        name = entry.split("=", 1)[0].strip()
        if name.startswith("glibc.malloc."):
            found.append(name)
    for lib in env.get("LD_PRELOAD", "").replace(":", " ").split():
        if any(other in os.path.basename(lib) for other in _OTHER_ALLOCATORS):
            found.append(f"LD_PRELOAD={lib}")
    return found


class _MallocHold:
    """glibc keeps freed buffers in the heap while at least one hold lasts.

    Nested and concurrent holds (fits in several Python threads) share one
    setting under a lock: the first one tunes, the last one to end restores
    glibc's defaults and trims the heap. ``applied`` counts the times the
    tuning was switched on (observable by tests); ``depth`` the holds now.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.depth = 0
        self.applied = 0

    def acquire(self, libc) -> None:
        with self._lock:
            if self.depth == 0:
                libc.mallopt(_M_MMAP_MAX, 0)
                libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_TRIM_THRESHOLD)
                self.applied += 1
            self.depth += 1

    def release(self, libc) -> None:
        with self._lock:
            self.depth -= 1
            if self.depth == 0:
                # no user configuration was found (else no hold was taken):
                # the values in force before were glibc's defaults
                libc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
                libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
                libc.malloc_trim(0)


_MALLOC_HOLD = _MallocHold()


def _tunable_glibc():
    """glibc, when its allocator may be tuned now; None to leave it alone."""
    if user_malloc_settings():
        return None
    return _glibc()


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
    glibc's allocator as described in the module docstring, unless
    :func:`user_malloc_settings` finds a setting of the user's.
    """
    libc = _tunable_glibc() if keep_freed_memory else None
    if libc is not None:
        _MALLOC_HOLD.acquire(libc)
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
            _MALLOC_HOLD.release(libc)
