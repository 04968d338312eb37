"""The documentation site builds warning-free and documents every public name.

The site is built once, from a copy of ``docs/`` and ``examples/`` in a
temporary folder (the build writes generated pages next to its sources). To
keep this test short the gallery runs only the quickstart, at 300 users; the
other examples get their pages without output (``tests/test_examples.py``
runs them). The README's command builds and runs everything.
"""

import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")
pytest.importorskip("myst_parser")
pytest.importorskip("sphinx_gallery")
pytest.importorskip("matplotlib")

import seqestimators  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: the modules whose ``__all__`` the API page lists
API_MODULES = [
    "seqestimators",
    "seqestimators.metrics",
    "seqestimators.datasets",
    "seqestimators.model_selection",
    "seqestimators.nn",
    "seqestimators.persistence",
    "seqestimators.export",
    "seqestimators.serve",
]
USER_GUIDE = [
    "index", "time_features", "tuning", "performance", "reliability",
    "inspection", "defaults", "design",
]
BUILD_OUTPUTS = ("_build", "generated", "auto_examples", "api.rst",
                 "sg_execution_times.rst", "screenshots")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    shutil.copytree(DOCS, tmp / "docs",
                    ignore=shutil.ignore_patterns(*BUILD_OUTPUTS, "__pycache__"))
    shutil.copytree(ROOT / "examples", tmp / "examples",
                    ignore=shutil.ignore_patterns("output", "notebooks",
                                                  "__pycache__"))
    # the rest of the repository, for the pages' links to files outside docs/
    for entry in ROOT.iterdir():
        if entry.name not in {"docs", "examples", ".git"}:
            (tmp / entry.name).symlink_to(entry)
    env = dict(os.environ, SEQESTIMATORS_DOCS_GALLERY=r"/quickstart\.py$",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get(
                   "PYTHONPATH", "")]))
    out = tmp / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
         "html", str(tmp / "docs"), str(out)],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-5000:])
    return out


def public_names():
    for module_name in API_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            yield module_name, name


def test_every_public_name_has_an_api_page(site):
    api = (site / "api.html").read_text(encoding="utf-8")
    missing = []
    for module_name, name in public_names():
        full = f"{module_name}.{name}"
        page = site / "generated" / f"{full}.html"
        # indexed once: under the top level when it is exported there too
        indexed = (module_name == "seqestimators"
                   or name not in seqestimators.__all__)
        if not page.is_file() or (indexed and (
                f"generated/{full}.html#{full}" not in api
                or f'id="{full}"' not in page.read_text(encoding="utf-8"))):
            missing.append(full)
    assert not missing, f"no API entry for {missing}"


def test_api_pages_document_the_estimator(site):
    html = (site / "generated" / "seqestimators.LSTMSequenceClassifier.html"
            ).read_text(encoding="utf-8")
    for member in ("predict_proba", "predict_topk", "hidden_size", "Examples"):
        assert member in html


def test_user_guide_pages_exist(site):
    for page in [*USER_GUIDE, "contents", "api", "auto_examples/index"]:
        assert (site / f"{page}.html").is_file(), page
    if (DOCS / "real_data.md").exists():
        assert (site / "real_data.html").is_file()
    # relative .md links and #anchors resolve to built pages
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="design.html"' in index
    assert 'href="#sequencevectorizer"' in index
    assert 'id="sequencevectorizer"' in index


def test_gallery_renders_the_quickstart_figure(site):
    page = site / "auto_examples" / "quickstart.html"
    assert page.is_file()
    html = page.read_text(encoding="utf-8")
    assert "sphx_glr_quickstart_001.png" in html
    assert "ROC AUC" in html  # the printed results table
    png = site / "_images" / "sphx_glr_quickstart_001.png"
    assert png.is_file() and png.stat().st_size > 5_000
    for example in ("churn_and_repurchase", "tune_optuna"):
        assert (site / "auto_examples" / f"{example}.html").is_file()


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(),
                    reason="needs Chromium at /usr/bin/chromium")
def test_screenshot_of_the_user_guide_is_not_blank(site, tmp_path):
    from PIL import Image

    spec = importlib.util.spec_from_file_location("screenshots",
                                                  DOCS / "screenshots.py")
    screenshots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screenshots)
    png = screenshots.screenshot(site / "index.html", tmp_path / "index.png")
    assert png.stat().st_size > 20_000
    with Image.open(png) as image:
        assert image.size == (1280, 1600)
        gray = image.convert("L")
        low, high = gray.getextrema()
        dark = sum(gray.histogram()[:128])
    assert high - low > 100  # text on a background, not one colour
    assert dark > 0.005 * 1280 * 1600  # some ink
