"""Read glibc's allocator from tests: no import beyond ctypes, so that a fresh
process checking the allocator starts fast."""

from __future__ import annotations

import ctypes


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost",
        )
    ]


def own_libc():
    """A handle of the C library of our own: its function prototypes do not
    touch the ones the library set on its handle."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallinfo2.restype = _MallInfo2
    return libc


def mmapped_bytes() -> int:
    """Bytes glibc holds in its own mmapped chunks."""
    return own_libc().mallinfo2().hblkhd


def served_by_mmap(size: int = 256 * 2**20) -> bool:
    """Whether glibc serves a fresh buffer of ``size`` bytes (far above any mmap
    threshold) with its own ``mmap``, as by default, or from the heap, as while
    the library holds freed memory. Call from the main thread: other threads'
    arenas fall back to mmap for buffers this large."""
    libc = own_libc()
    before = libc.mallinfo2().hblkhd
    buffer = libc.malloc(size)  # never touched: no page is faulted in
    try:
        return libc.mallinfo2().hblkhd - before >= size
    finally:
        libc.free(buffer)
