"""examples/user_embeddings.py runs end to end (on a small log) and prints
what it promises."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.filterwarnings("ignore")
def test_user_embeddings_example_runs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "user_embeddings.py"), "300"],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    scores = dict(re.findall(r"^  (.+?)\s+([01]\.\d{3})$", out, flags=re.M))
    assert set(scores) == {
        "bag of events + HistGradientBoosting", "LSTM alone",
        "embeddings + HistGradientBoosting",
        "embeddings + bag of events + HistGradientBoosting",
    }
    # the embeddings carry what the network learned: far above the bag of
    # events, whose counts do not decide will_buy in this log
    assert float(scores["embeddings + HistGradientBoosting"]) > (
        float(scores["bag of events + HistGradientBoosting"]) + 0.1)
    shares = re.findall(r"variance between segments (\d\.\d\d)", out)
    assert len(shares) == 2 and float(shares[0]) > float(shares[1])
    assert "completeness: max |delta|" in out
    assert "user_embeddings.png" in out
