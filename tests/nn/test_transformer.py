"""The Transformer encoder: shapes, padding invariance, causality."""

import pytest
import torch

from seqestimators.nn._transformer import TransformerEncoder


def _encoder(causal, **kw):
    torch.manual_seed(0)
    enc = TransformerEncoder(
        input_size=5, hidden_size=8, num_layers=2, num_heads=2, dropout=0.0,
        causal=causal, **kw,
    )
    return enc.eval()


@pytest.mark.parametrize("causal", [False, True])
def test_padding_never_changes_real_steps(causal):
    enc = _encoder(causal)
    x = torch.randn(3, 6, 5)
    lengths = torch.tensor([6, 4, 1])
    padded = torch.cat([x, torch.randn(3, 9, 5)], dim=1)  # 9 more junk steps
    with torch.no_grad():
        a = enc(x, lengths)
        b = enc(padded, lengths)
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(a[i, :n], b[i, :n], atol=1e-5, rtol=1e-5)


def test_causal_steps_ignore_the_future():
    enc = _encoder(True)
    x = torch.randn(1, 6, 5)
    changed = x.clone()
    changed[0, 4:] = torch.randn(2, 5)
    lengths = torch.tensor([6])
    with torch.no_grad():
        a, b = enc(x, lengths), enc(changed, lengths)
    # positions count from the end, so a step's position does not change
    # when later events change value (only when the length changes)
    torch.testing.assert_close(a[0, :4], b[0, :4], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(a[0, 4:], b[0, 4:])


def test_bidirectional_steps_see_the_whole_sequence():
    enc = _encoder(False)
    x = torch.randn(1, 6, 5)
    changed = x.clone()
    changed[0, 5] = torch.randn(5)
    lengths = torch.tensor([6])
    with torch.no_grad():
        a, b = enc(x, lengths), enc(changed, lengths)
    assert not torch.allclose(a[0, 0], b[0, 0])


def test_longer_than_max_positions_runs():
    enc = _encoder(False, max_positions=4)
    out = enc(torch.randn(2, 10, 5), torch.tensor([10, 3]))
    assert out.shape == (2, 10, 8) and torch.isfinite(out).all()


def test_width_must_divide_into_heads():
    with pytest.raises(ValueError, match="multiple of num_heads"):
        TransformerEncoder(input_size=3, hidden_size=10, num_layers=1,
                           num_heads=3, dropout=0.0)


def test_gradients_reach_every_parameter():
    enc = _encoder(True)
    enc.train()
    out = enc(torch.randn(2, 5, 5), torch.tensor([5, 3]))
    out.sum().backward()
    assert all(p.grad is not None for p in enc.parameters())
