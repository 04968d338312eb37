"""The notebooks of examples/notebooks/ run headless, and are stored clean.

Each notebook runs with ``SEQESTIMATORS_NOTEBOOK_SMALL=1`` (a few hundred
users, 2-3 epochs or trials) in a python3 kernel of this interpreter.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "examples" / "notebooks"
#: notebook -> text its outputs must show
KEY_OUTPUT = {
    "01_quickstart_vs_sklearn.ipynb": "SequenceVectorizer + LSTMSequenceClassifier",
    "02_churn_with_cutoffs.ipynb": "LSTM + reference_time='cutoff'",
    "03_tuning_with_optuna.ipynb": "best cross-validated ROC AUC",
}


def test_the_notebooks_are_the_expected_ones():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(KEY_OUTPUT)


def _tracked_notebooks():
    proc = subprocess.run(
        ["git", "ls-files", "--", "*.ipynb"], cwd=ROOT, capture_output=True,
        text=True, check=False,
    )
    tracked = [ROOT / line for line in proc.stdout.split()] if (
        proc.returncode == 0) else []
    # notebooks not yet committed are checked as well
    return sorted(set(tracked) | set(NOTEBOOKS.glob("*.ipynb")))


def test_stored_notebooks_have_no_outputs():
    dirty = []
    for path in _tracked_notebooks():
        if not path.exists():  # deleted in the work tree
            continue
        book = json.loads(path.read_text(encoding="utf-8"))
        for cell in book["cells"]:
            if cell["cell_type"] == "code" and (
                    cell.get("outputs") or cell.get("execution_count") is not None):
                dirty.append(path.name)
                break
    assert not dirty, f"strip the outputs of {dirty} before committing"


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernel spec that runs this interpreter, found through JUPYTER_PATH."""
    pytest.importorskip("ipykernel")
    spec_dir = tmp_path_factory.mktemp("jupyter") / "kernels" / "seqestimators-test"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"],
        "display_name": "seqestimators tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return spec_dir.parent.parent, "seqestimators-test"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("name", sorted(KEY_OUTPUT))
def test_notebook_runs_headless(name, kernel_name, monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    if name == "03_tuning_with_optuna.ipynb":
        pytest.importorskip("optuna")
    jupyter_path, kernel = kernel_name
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    monkeypatch.setenv("SEQESTIMATORS_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        book, kernel_name=kernel, timeout=600,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    outputs = [out for cell in book.cells if cell.cell_type == "code"
               for out in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        + str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert KEY_OUTPUT[name] in text
    if name != "03_tuning_with_optuna.ipynb":
        assert "ROC AUC" in text  # the results table
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert figures, "no figure was drawn"
