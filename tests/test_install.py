"""Installing works where users install: every Python version the package
declares resolves the pinned stack, and each extra brings what its features
import."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CFG = configparser.ConfigParser()
CFG.read(ROOT / "setup.cfg")

#: modules each feature imports -> the extra that must bring them
FEATURE_IMPORTS = {
    "plot": ["matplotlib"],
    "tuning": ["optuna", "optuna_integration"],
    "postgres": ["optuna", "psycopg"],
    "export": ["onnx", "onnxruntime"],
    "serve": ["onnx", "onnxruntime", "starlette", "uvicorn"],
    "notebook": ["nbclient", "nbformat", "ipykernel", "jupyter_client"],
    "docs": ["sphinx", "numpydoc", "myst_parser", "sphinx_gallery"],
    "test": ["pytest", "hypothesis", "optuna", "matplotlib", "ruff", "psycopg",
             "onnx", "onnxruntime", "starlette", "uvicorn"],
}


def _requirement_names(text: str) -> list[str]:
    names = []
    for line in text.strip().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "%")):
            names.append(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0])
    return names


def _declared_versions() -> list[str]:
    classifiers = CFG["metadata"]["classifiers"]
    return re.findall(r"Programming Language :: Python :: (3\.\d+)", classifiers)


def test_python_requires_matches_the_classifiers():
    versions = _declared_versions()
    assert versions, "setup.cfg declares no Python versions in its classifiers"
    low = CFG["options"]["python_requires"].strip()
    assert low == f">={versions[0]}", (low, versions)


@pytest.mark.parametrize("extra", sorted(FEATURE_IMPORTS))
def test_each_extra_brings_what_its_features_import(extra):
    names = {
        n.lower().replace("-", "_")
        for n in _requirement_names(CFG["options.extras_require"][extra])
    }
    missing = [m for m in FEATURE_IMPORTS[extra] if m not in names]
    assert not missing, f"extra {extra!r} lacks {missing}"


def _resolve(version: str, target: Path) -> subprocess.CompletedProcess:
    runtime = _requirement_names(CFG["options"]["install_requires"])
    cmd = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--quiet",
        "--ignore-installed", "--only-binary=:all:", "--python-version", version,
        "--target", str(target / version), "-c", str(ROOT / "constraints.txt"),
        *runtime,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=540)


@pytest.mark.slow
def test_constraints_resolve_for_the_declared_pythons(tmp_path):
    # the lowest and the highest declared version bound the range: a pin
    # without wheels for an old or a new Python fails one of them
    declared = _declared_versions()
    versions = sorted({declared[0], declared[-1]})
    with ThreadPoolExecutor(len(versions)) as pool:
        results = dict(zip(versions, pool.map(lambda v: _resolve(v, tmp_path),
                                              versions)))
    offline = [v for v, r in results.items() if "ResolutionImpossible" not in r.stderr
               and r.returncode and re.search(r"connection|resolve host|network",
                                              r.stderr, re.I)]
    if offline and len(offline) == len(versions):
        pytest.skip("the package index cannot be reached")
    failed = {v: r.stderr[-600:] for v, r in results.items() if r.returncode}
    assert not failed, failed
