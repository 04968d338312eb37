"""The package layout keeps its promises: a pure-torch ``nn``, a data layer
without torch, small functions, private third-party names in one module."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "seqestimators"

#: the most lines of code (no docstring, comment or blank line) in a function
MAX_FUNCTION_LINES = 80


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return {name.split(".")[0] for name in out.split()}


def test_nn_imports_neither_sklearn_nor_skorch():
    loaded = _imported_after("import seqestimators.nn")
    assert "torch" in loaded
    assert not {"sklearn", "skorch"} & loaded


@pytest.mark.parametrize(
    "statement",
    [
        "import seqestimators",
        "from seqestimators import to_sequences, make_window_labels, split_sessions",
        "from seqestimators.data import RaggedSequences, make_next_event_samples",
    ],
)
def test_data_layer_imports_without_torch(statement):
    assert not {"torch", "skorch"} & _imported_after(statement)


def _code_lines(node: ast.AST, source_lines: list[str]) -> int:
    body = node.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    if not body:
        return 0
    lines = source_lines[body[0].lineno - 1 : node.end_lineno]
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def _functions():
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                rel = path.relative_to(PACKAGE.parent)
                yield f"{rel}::{node.name}", _code_lines(node, lines)


def test_no_function_is_longer_than_the_limit():
    long = {name: n for name, n in _functions() if n > MAX_FUNCTION_LINES}
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines of code: {long}"


def test_private_third_party_names_only_in_the_compat_module():
    compat = PACKAGE / "utils" / "_compat.py"
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == compat:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                root = node.module.split(".")[0]
                private_module = any(p.startswith("_") for p in node.module.split("."))
                private_name = any(a.name.startswith("_") for a in node.names)
                if root in {"sklearn", "skorch", "optuna"} and (
                    private_module or private_name
                ):
                    offenders.append(f"{path.name}: from {node.module} import ...")
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in {"study", "trial", "frozen", "optuna", "skorch"}
            ):
                where = f"{path.name}:{node.lineno}"
                offenders.append(f"{where}: {node.value.id}.{node.attr}")
    assert not offenders, offenders
