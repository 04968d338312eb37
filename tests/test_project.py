"""The README's commands, CI and the public API stay in step."""

import re
import subprocess
import sys
from pathlib import Path

import seqestimators

ROOT = Path(__file__).resolve().parents[1]


def _block(name: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(
        rf"<!-- {name} -->\s*```(?:bash|sh)?\n(.*?)```\s*<!-- /{name} -->", text, re.S
    )
    assert match, f"README.md has no {name} block"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command():
    # .ci/run extracts the block itself; check that it finds the same command
    script = (ROOT / ".ci" / "run").read_text()
    assert "test-command" in script and "README.md" in script
    code = re.search(r"<<'PY'\n(.*?)\nPY", script, re.S).group(1)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout.strip()
    assert out == _block("test-command")
    assert "constraints.txt" in out and "pytest" in out


def test_readme_main_command_runs_the_quickstart():
    cmd = _block("main-command")
    assert "constraints.txt" in cmd
    script = re.search(r"python (\S+\.py)", cmd).group(1)
    assert (ROOT / script).is_file()


def test_constraints_pin_cpu_torch():
    pins = dict(
        line.split("==")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert pins["torch"] == "2.13.0"
    for pkg in ("skorch", "scikit-learn", "numpy", "pandas", "pyarrow"):
        assert pkg in pins


def test_public_names_are_exported():
    for name in seqestimators.__all__:
        assert getattr(seqestimators, name) is not None
    for name in (
        "to_sequences",
        "SequenceVectorizer",
        "RaggedSequences",
        "LSTMSequenceClassifier",
        "LSTMSequenceRegressor",
    ):
        assert name in seqestimators.__all__
