"""The examples run end to end (on a small log) and print what they promise."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.filterwarnings("ignore")
def test_churn_and_repurchase_example_runs(tmp_path):
    script = ROOT / "examples" / "churn_and_repurchase.py"
    proc = subprocess.run(
        [sys.executable, str(script), "400"], capture_output=True, text=True,
        timeout=600, check=False,
        # one torch thread: the suite may share the cores with other work,
        # where oversubscribed threads are many times slower
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for model in ("RFM + LogisticRegression", "RFM + HistGradientBoosting(poisson)",
                  "LSTM + reference_time='cutoff'",
                  "LSTM(poisson) + reference_time='cutoff'"):
        assert model in out
    assert "churn_and_repurchase.png" in out
