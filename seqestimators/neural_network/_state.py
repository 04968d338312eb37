"""The saved-state protocol of the estimators (what :func:`seqestimators.save`
writes and :func:`seqestimators.load` restores)."""

from __future__ import annotations

__all__ = ["SavedStateMixin"]


class SavedStateMixin:
    """Methods through which persistence reads and restores a fitted
    estimator, so that it never writes ``est.__dict__`` or builds nets from
    outside. Filled in by the persistence work."""
