"""The ZIP container of a model file: two members, an archive checksum in the
ZIP comment, and bounds checked before anything is read or allocated."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
from pathlib import Path

from ._errors import ModelFileError

__all__ = ["JSON", "WEIGHTS", "read_archive", "write_archive", "write_path"]

JSON = "model.json"
WEIGHTS = "weights.safetensors"
#: the most a member may expand to per stored byte (DEFLATE reaches ~1,000;
#: model.json compresses 5-20 times) ...
MAX_RATIO = 100
#: ... plus this many bytes for any member
SLACK = 1 << 20
#: the largest model.json read
MAX_JSON = 1 << 29
#: the ZIP comment of a model file: the sha256 of each member
COMMENT = re.compile(
    rb"seqestimators-model sha256 model\.json=([0-9a-f]{64}) "
    rb"weights\.safetensors=([0-9a-f]{64})"
)


def archive_comment(text: bytes, weights: bytes) -> bytes:
    return (
        f"seqestimators-model sha256 {JSON}={hashlib.sha256(text).hexdigest()} "
        f"{WEIGHTS}={hashlib.sha256(weights).hexdigest()}"
    ).encode("ascii")


def write_archive(f, text: bytes, weights: bytes) -> None:
    with zipfile.ZipFile(f, "w") as zf:
        zf.writestr(JSON, text, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr(WEIGHTS, weights, compress_type=zipfile.ZIP_STORED)
        zf.comment = archive_comment(text, weights)


def write_path(path: str | os.PathLike, text: bytes, weights: bytes) -> None:
    """Write to exactly ``path``, atomically (a temporary file in the same
    directory, then ``os.replace``), with the mode a new file gets under the
    umask (``0o666 & ~umask``), not the temporary file's ``0o600``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write_archive(f, text, weights)
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_archive(path, source: str) -> tuple[bytes, bytes]:
    """The bytes of model.json and weights.safetensors, after checking the
    members, their sizes and the archive checksum."""
    try:
        with zipfile.ZipFile(path) as zf:
            return _read_checked(zf, source)
    except ModelFileError:
        raise
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # BadZipFile, zlib.error, EOFError, OSError ...
        raise ModelFileError(
            f"{source} is not a seqestimators model file, or it is truncated or "
            f"corrupted ({type(exc).__name__}: {exc})."
        ) from None


def _read_checked(zf: zipfile.ZipFile, source: str) -> tuple[bytes, bytes]:
    infos = zf.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise ModelFileError(f"{source} has duplicate archive members; refused.")
    if JSON not in names or WEIGHTS not in names:
        raise ModelFileError(
            f"{source} is not a seqestimators model file: it lacks {JSON} or {WEIGHTS}."
        )
    if len(names) != 2:
        extra = sorted(set(names) - {JSON, WEIGHTS})[0]
        raise ModelFileError(f"{source} holds an unknown archive member {extra!r}.")
    match = COMMENT.fullmatch(zf.comment)
    if match is None:
        raise ModelFileError(
            f"{source} has no archive checksum (the ZIP comment of a model file): "
            "it is truncated or corrupted, or was not written by seqestimators.save."
        )
    members = {}
    for info, expected in zip((zf.getinfo(JSON), zf.getinfo(WEIGHTS)), match.groups()):
        _check_info(info, source)
        with zf.open(info) as f:
            data = f.read(info.file_size)
        if len(data) != info.file_size:
            raise ModelFileError(f"{source}: {info.filename} is truncated.")
        if hashlib.sha256(data).hexdigest().encode("ascii") != expected:
            raise ModelFileError(
                f"{source}: {info.filename} does not match the sha256 recorded in "
                "the archive; the file was modified or corrupted. Save the model "
                "again."
            )
        members[info.filename] = data
    return members[JSON], members[WEIGHTS]


def _check_info(info: zipfile.ZipInfo, source: str) -> None:
    """Refuse a member before reading it: encrypted, an unknown compression,
    or a declared size beyond its bound (a ZIP bomb)."""
    if info.flag_bits & 0x1:
        raise ModelFileError(f"{source}: {info.filename} is encrypted.")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFileError(
            f"{source}: {info.filename} uses an unsupported compression."
        )
    bound = info.compress_size * MAX_RATIO + SLACK
    if info.compress_type == zipfile.ZIP_STORED:
        bound = info.compress_size
    if info.filename == JSON:
        bound = min(bound, MAX_JSON)
    if info.file_size > bound:
        raise ModelFileError(
            f"{source}: {info.filename} declares {info.file_size} bytes from "
            f"{info.compress_size} stored, beyond the bound of {bound}; refused "
            "(a damaged file or a ZIP bomb)."
        )
