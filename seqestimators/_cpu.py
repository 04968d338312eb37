"""CPU settings held for the duration of a fit or a prediction.

Two process-wide torch settings decide CPU speed far more than anything in
the model:

- the number of intra-op threads (``n_threads``): under contention on a
  small machine, 2 threads can run 10x slower than 1;
- denormal floats. Gradients flowing backwards through a long recurrence
  shrink geometrically; once they fall below ``1.2e-38`` they become
  denormal, and x86 CPUs compute on denormals up to 100x slower. On long
  sequences (a few hundred steps) this made the LSTM backward pass 10-60x
  slower per event. Flushing them to zero (``torch.set_flush_denormal``)
  changes no value above ``1.2e-38``.

:func:`cpu_runtime` sets both and restores what was there before.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["cpu_runtime", "denormals_flushed"]

#: the smallest positive normal float32 is ~1.18e-38; this is denormal
_DENORMAL = np.float32(1e-39)
_TWO = np.float32(2)


def denormals_flushed() -> bool:
    """Whether the calling thread flushes denormal floats to zero.

    The flag lives in the thread's floating-point control register, shared by
    numpy and torch; a numpy scalar product reads it in ~0.1 us.
    """
    return bool(_DENORMAL * _TWO == 0)


@contextmanager
def cpu_runtime(n_threads: int | None, *, flush_denormal: bool = True):
    """Use ``n_threads`` torch threads (None: as is) and flush denormal floats
    inside the block; the caller's settings come back afterwards."""
    before_threads = torch.get_num_threads()
    set_threads = n_threads is not None and n_threads != before_threads
    before_flush = denormals_flushed()
    set_flush = flush_denormal and not before_flush
    if set_threads:
        torch.set_num_threads(n_threads)
    if set_flush:
        set_flush = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if set_flush:
            torch.set_flush_denormal(False)
        if set_threads:
            torch.set_num_threads(before_threads)
