"""Every public function and class documents exactly its signature's
parameters (numpydoc ``Parameters``) and has a runnable ``Examples`` section,
in scikit-learn's style (``sklearn/tests/test_docstring_parameters.py``)."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

import seqestimators

#: modules whose ``__all__`` is public API
PUBLIC_MODULES = [
    "seqestimators",
    "seqestimators.data",
    "seqestimators.preprocessing",
    "seqestimators.neural_network",
    "seqestimators.nn",
    "seqestimators.model_selection",
    "seqestimators.metrics",
    "seqestimators.datasets",
    "seqestimators.persistence",
]

_SECTION = re.compile(r"^(\s*)([A-Z][A-Za-z ]+)\n\1-{3,}\s*$", re.M)


def _public_objects():
    seen = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                seen.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return sorted(seen.items())


def _sections(doc: str) -> dict[str, str]:
    doc = inspect.cleandoc(doc)
    matches = list(_SECTION.finditer(doc))
    out = {}
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(doc)
        out[m.group(2).strip()] = doc[m.end() : end]
    return out


def _documented_parameters(section: str) -> list[str]:
    names = []
    for line in section.splitlines():
        if not line or line[0].isspace():
            continue
        head = line.split(" : ")[0].strip()
        for name in head.split(","):
            names.append(name.strip().lstrip("*"))
    return [n for n in names if n]


def _signature_parameters(obj) -> list[str]:
    target = obj.__init__ if inspect.isclass(obj) else obj
    params = inspect.signature(target).parameters.values()
    # a ``**kwargs`` of the object's own signature is documented as such; an
    # inherited catch-all (nn.Module, Exception) is not the object's
    own = not inspect.isclass(obj) or "__init__" in vars(obj)
    return [
        p.name
        for p in params
        if p.name not in ("self", "cls")
        and p.kind != p.VAR_POSITIONAL
        and (own or p.kind != p.VAR_KEYWORD)
    ]


OBJECTS = _public_objects()


def test_public_api_is_found():
    names = {name.rsplit(".", 1)[-1] for name, _ in OBJECTS}
    assert set(seqestimators.__all__) - {"__version__"} <= names


@pytest.mark.parametrize("name,obj", OBJECTS, ids=[n for n, _ in OBJECTS])
def test_parameters_match_the_signature(name, obj):
    doc = inspect.getdoc(obj) or ""
    expected = _signature_parameters(obj)
    sections = _sections(doc)
    if not expected:
        return
    assert "Parameters" in sections, f"{name} has no Parameters section"
    documented = _documented_parameters(sections["Parameters"])
    assert documented == expected, (
        f"{name}: documented {documented}, signature {expected}"
    )


@pytest.mark.parametrize("name,obj", OBJECTS, ids=[n for n, _ in OBJECTS])
def test_has_a_runnable_examples_section(name, obj):
    sections = _sections(inspect.getdoc(obj) or "")
    assert "Examples" in sections and ">>>" in sections["Examples"], (
        f"{name} has no Examples section with a doctest"
    )
