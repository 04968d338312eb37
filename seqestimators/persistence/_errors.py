"""The one exception :func:`seqestimators.load` raises for a bad model file."""

from __future__ import annotations

__all__ = ["ModelFileError"]


class ModelFileError(ValueError):
    """A file is not a valid seqestimators model file.

    Raised by :func:`seqestimators.load` for every problem in the file's
    content: not a ZIP archive, truncated, corrupted (the archive checksum or
    the weights' sha256 differ), members that expand beyond their bound,
    duplicate or unknown members, invalid JSON, a description that does not
    fit the code (an unknown class, parameter or attribute, weights of the
    wrong shape), a parameter that would reach the operating system (a
    ``Pipeline.memory`` path, an absurd ``n_threads``, an unknown device), or
    a newer file format. A subclass of :class:`ValueError`. Problems opening
    the path itself (``FileNotFoundError``, ``PermissionError``) are raised as
    they are.

    Examples
    --------
    >>> import io
    >>> from seqestimators import load, ModelFileError
    >>> try:
    ...     load(io.BytesIO(b"not a model"))
    ... except ModelFileError as exc:
    ...     print(type(exc).__name__, isinstance(exc, ValueError))
    ModelFileError True
    """
