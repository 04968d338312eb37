"""CPU runtime settings held during fit and predict, restored afterwards."""

import numpy as np
import pytest
import torch

from seqestimators import LSTMSequenceClassifier, RaggedSequences
from seqestimators._cpu import cpu_runtime, denormals_flushed


@pytest.fixture
def denormals_kept():
    torch.set_flush_denormal(False)
    yield
    torch.set_flush_denormal(False)


def test_denormals_flushed_inside_and_restored_after(denormals_kept):
    assert not denormals_flushed()
    with cpu_runtime(None):
        assert denormals_flushed()
        tiny = torch.tensor([1e-39], dtype=torch.float32)
        assert (tiny * 2).item() == 0.0
    assert not denormals_flushed()
    assert (torch.tensor([1e-39], dtype=torch.float32) * 2).item() > 0


def test_a_caller_flushing_denormals_keeps_its_setting(denormals_kept):
    torch.set_flush_denormal(True)
    with cpu_runtime(None):
        assert denormals_flushed()
    assert denormals_flushed()


def test_flush_can_be_turned_off(denormals_kept):
    with cpu_runtime(None, flush_denormal=False):
        assert not denormals_flushed()


def test_threads_restored_after_an_exception(denormals_kept):
    before = torch.get_num_threads()
    target = 2 if before == 1 else 1
    with pytest.raises(RuntimeError, match="boom"), cpu_runtime(target):
        assert torch.get_num_threads() == target
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    assert not denormals_flushed()


def test_fit_and_predict_leave_the_callers_settings(denormals_kept):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 30, size=40)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = rng.integers(2, 12, size=(offsets[-1], 1))
    X = RaggedSequences(offsets, ids, cardinalities=[12])
    y = rng.integers(0, 2, size=40)
    seen = []

    from skorch.callbacks import Callback

    class Record(Callback):
        def on_batch_end(self, net, **kwargs):
            seen.append(denormals_flushed())

    clf = LSTMSequenceClassifier(
        hidden_size=4, max_epochs=1, early_stopping=False, callbacks=[Record()],
        random_state=0,
    ).fit(X, y)
    assert seen and all(seen)  # every training batch ran with denormals flushed
    assert not denormals_flushed()
    clf.predict_proba(X)
    assert not denormals_flushed()
