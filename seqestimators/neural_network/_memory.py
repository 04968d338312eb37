"""Out-of-memory detection and the messages that say which setting to lower."""

from __future__ import annotations

import torch

__all__ = ["fit_memory_message", "is_out_of_memory", "predict_memory_message",
           "with_message"]


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA (torch.OutOfMemoryError), Python/numpy (MemoryError) or torch's
    CPU allocator (RuntimeError "can't allocate memory") running out."""
    if isinstance(exc, MemoryError | torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "allocate memory" in text
    )


def with_message(exc: BaseException, message: str) -> BaseException:
    """An exception of ``exc``'s type (MemoryError if that cannot be built)
    carrying ``message`` followed by the original one."""
    full = f"{message} Original error: {exc}"
    try:
        return type(exc)(full)
    except Exception:  # an exception type with a different constructor
        return MemoryError(full)


def fit_memory_message(name: str, device: str, batch_size: int) -> str:
    """What to lower when training ran out of memory."""
    return (
        f"{name} ran out of memory while training on {device!r} with "
        f"batch_size={batch_size}. Use a smaller batch_size, shorter sequences "
        "(SequenceVectorizer(max_len=...)) or a smaller hidden_size."
    )


def predict_memory_message(name: str, device: str, n_rows: int, width: int) -> str:
    """What to lower when a prediction batch ran out of memory."""
    return (
        f"{name} ran out of memory predicting a batch of {n_rows} sequences "
        f"padded to {width} steps on {device!r}. Shorten the sequences "
        "(SequenceVectorizer(max_len=...)) or predict fewer than "
        f"{n_rows} sequences per call."
    )
