"""Sphinx configuration of the seqestimators documentation site.

Build it (warning-free) from the repository root with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The Markdown pages of ``docs/`` are the user guide (myst-parser); the API
reference is written here, at build time, from the modules' ``__all__`` (so a
new public name appears without editing anything); the gallery runs
``examples/*.py`` with sphinx-gallery at a small size (``reset_argv``).

The examples run with one OpenMP/torch thread (``OMP_NUM_THREADS=1`` unless
it is set). Environment variables:

- ``SEQESTIMATORS_DOCS_GALLERY`` -- a regular expression of the example file
  names to run (default: all of them); the others are shown without output.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
if (ROOT / "seqestimators" / "__init__.py").exists():
    sys.path.insert(0, str(ROOT))
if str(DOCS) not in sys.path:  # sphinx-gallery imports conf.reset_argv
    sys.path.insert(0, str(DOCS))

# The gallery runs the examples in this process. One thread per operation:
# on a small shared machine two torch/OpenMP threads can run 10x slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import seqestimators  # noqa: E402

project = "seqestimators"
author = "the seqestimators developers"
copyright = "the seqestimators developers"  # noqa: A001
release = version = seqestimators.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
root_doc = "contents"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "img/screenshots",
    "**.ipynb_checkpoints",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
]
html_theme = "alabaster"
html_title = f"seqestimators {release}"
html_static_path: list[str] = []
html_theme_options = {
    "description": "scikit-learn estimators for user-behaviour sequences",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
}

# -- Markdown pages (myst) ------------------------------------------------------
# The pages link to each other with relative ``.md`` links and to their own
# sections with GitHub-style ``#anchors``: myst resolves both.
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence"]

# -- API reference ----------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # numpydoc docstrings carry the types
autodoc_member_order = "bysource"
#: a class exported at the top level and by its subpackage is indexed once
autosummary_context = {"top_level": list(seqestimators.__all__)}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

#: (section title, module) of the API page; every name in ``module.__all__``
#: gets an entry.
API_SECTIONS = [
    ("Estimators, transformers and the data layer", "seqestimators"),
    ("Metrics", "seqestimators.metrics"),
    ("Datasets", "seqestimators.datasets"),
    ("Tuning with Optuna", "seqestimators.model_selection"),
    ("Model files", "seqestimators.persistence"),
    ("Export", "seqestimators.export"),
    ("Serving", "seqestimators.serve"),
    ("Torch modules", "seqestimators.nn"),
]


def api_page() -> str:
    """The reST source of the API page, one autosummary per module."""
    lines = [
        ".. This file is written by conf.py from the modules' __all__; do not",
        "   edit it (docs/.gitignore lists it).",
        "",
        "API reference",
        "=============",
        "",
        "Every public name of the package, from the ``__all__`` of each module.",
        "The top-level names are re-exported lazily by :mod:`seqestimators`:",
        "``from seqestimators import SequenceVectorizer`` does not import torch.",
        "",
    ]
    for title, module_name in API_SECTIONS:
        module = importlib.import_module(module_name)
        lines += [
            title,
            "-" * len(title),
            "",
            f".. automodule:: {module_name}",
            "   :no-members:",
            "",
            f".. currentmodule:: {module_name}",
            "",
            ".. autosummary::",
            "   :toctree: generated",
            "   :nosignatures:",
            "",
            *(f"   {name}" for name in sorted(module.__all__)),
            "",
        ]
    return "\n".join(lines)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


_write_if_changed(DOCS / "api.rst", api_page())

# -- Gallery (sphinx-gallery) -------------------------------------------------------
#: the command-line arguments each example runs with in the gallery: small
#: sizes, so that the whole site builds in a couple of minutes on 2 cores
#: (an example missing here runs at its full default size: add new ones)
GALLERY_ARGV = {
    "next_item.py": ["300"],
    "quickstart.py": ["300"],
    "churn_and_repurchase.py": ["300"],
    "tune_optuna.py": ["300", "4", "--fresh"],
}


def reset_argv(gallery_conf, script_vars):
    """sys.argv[1:] of an example run by sphinx-gallery."""
    return list(GALLERY_ARGV.get(Path(script_vars["src_file"]).name, []))


sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": os.environ.get("SEQESTIMATORS_DOCS_GALLERY", r"\.py$"),
    "ignore_pattern": r"(__init__|/output/|/notebooks/).*",
    "within_subsection_order": "FileNameSortKey",
    # a name, not the function: the configuration stays picklable (cached)
    "reset_argv": "conf.reset_argv",
    "download_all_examples": False,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "write_computation_times": False,
    "min_reported_time": 1,
}


# -- Hooks --------------------------------------------------------------------------
#: members that classes inherit from these packages are documented there, not
#: here (their docstrings link to pages of those sites)
THIRD_PARTY = ("sklearn.", "skorch.", "torch.")


def skip_third_party_member(app, what, name, obj, skip, options):
    """Leave out the members a class inherits from scikit-learn, skorch, torch."""
    module = getattr(obj, "__module__", None) or ""
    if what == "class" and module.startswith(THIRD_PARTY):
        return True
    return None


def _elided_json_lexer():
    """JSON with ``…`` where the pages leave parts of a document out."""
    from pygments.lexers.data import JsonLexer
    from pygments.token import Comment, Error

    class ElidedJsonLexer(JsonLexer):
        def get_tokens_unprocessed(self, text):
            for index, token, value in super().get_tokens_unprocessed(text):
                if token is Error and set(value) <= {"…"}:
                    token = Comment
                yield index, token, value

    return ElidedJsonLexer


def links_outside_docs_to_downloads(app, doctree):
    """A Markdown link to a page outside ``docs/`` becomes a download of it.

    myst turns ``[..](../benchmarks/real_data/summary.md)`` into a reference to
    a document, which Sphinx cannot find outside the source folder. Links to
    other files (``../examples/quickstart.py``) are already downloads.
    """
    from sphinx import addnodes

    for node in list(doctree.findall(addnodes.pending_xref)):
        target = node.get("reftarget", "")
        if node.get("reftype") != "myst" or not Path(target).is_absolute():
            continue
        files = [Path(target + suffix) for suffix in app.config.source_suffix]
        files = [f for f in files if f.is_file() and not f.is_relative_to(DOCS)]
        if not files:
            continue
        here = Path(app.env.doc2path(node["refdoc"])).parent
        download = addnodes.download_reference(
            refdomain=None,
            reftarget=os.path.relpath(files[0], here),
            refdoc=node["refdoc"],
            reftype="myst",
            refexplicit=node.get("refexplicit", True),
        )
        download += node.children
        node.replace_self(download)


def setup(app):
    app.connect("autodoc-skip-member", skip_third_party_member)
    # before the collector of downloadable files (priority 500)
    app.connect("doctree-read", links_outside_docs_to_downloads, priority=400)
    app.add_lexer("json", _elided_json_lexer())
