"""The Transformer encoder, alone and inside SequenceNet: shapes, padding
invariance for every pooling (causal and bidirectional), causality, positions
beyond the trained ones."""

import pytest
import torch

from seqestimators.nn import SequenceNet
from seqestimators.nn._transformer import TransformerEncoder

from .test_model import assert_padding_invariant, make_net, pad_to, random_batch


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


# ------------------------------------------------ inside SequenceNet

POOLINGS = ["last", "mean", "max", "attention", "last+mean+max"]


def _net(pooling="last", causal=False, **extra):
    return make_net(
        pooling=pooling, encoder="transformer", num_heads=2, causal=causal,
        num_layers=2, **extra,
    )


@pytest.mark.parametrize("causal", [False, True], ids=["bidirectional", "causal"])
@pytest.mark.parametrize("pooling", POOLINGS)
def test_sequence_net_padding_invariance(pooling, causal):
    assert_padding_invariant(_net(pooling, causal))


@pytest.mark.parametrize("causal", [False, True], ids=["bidirectional", "causal"])
def test_padding_invariance_with_skip_paths(causal):
    assert_padding_invariant(_net("mean", causal, bag="mean+max", wide=True))


@pytest.mark.parametrize("causal", [False, True], ids=["bidirectional", "causal"])
def test_padding_invariance_is_not_trivial(causal):
    """The first event reaches the "last" view through attention only."""
    net = _net("last", causal)
    cat, num, lens = random_batch([4, 4], seed=3)
    num2 = num.clone()
    num2[:, 0] += 1.0
    with torch.no_grad():
        assert (net(cat, num, lens) - net(cat, num2, lens)).abs().min() > 1e-4


@pytest.mark.parametrize("causal", [False, True], ids=["bidirectional", "causal"])
@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_empty_sequence_gives_finite_output(pooling, causal):
    net = _net(pooling, causal)
    cat, num, lens = random_batch([0, 4, 0], seed=4)
    with torch.no_grad():
        out = net(cat, num, lens)
        alone = net(cat[:1, :1], num[:1, :1], lens[:1])
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], out[2])
    torch.testing.assert_close(out[:1], alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("causal", [False, True], ids=["bidirectional", "causal"])
def test_training_gradients_ignore_padding(causal):
    grads = []
    for T in (4, 30):
        net = _net("mean", causal).train()
        for m in net.modules():
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
        cat, num, lens = random_batch([4, 2], seed=5)
        cat, num = pad_to(cat, num, T)
        net(cat, num, lens).sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in net.parameters()]))
    torch.testing.assert_close(grads[0], grads[1], atol=1e-5, rtol=1e-5)


def test_untrained_positions_never_reach_an_output():
    """After training on sequences of at most 5 events, a longer sequence
    reuses the oldest trained position: the position rows beyond it (never
    trained, random) do not change its output."""
    net = _net("mean+max", causal=False)
    cat, num, lens = random_batch([5, 3], seed=6)
    net.train()(cat, num, lens)
    assert int(net.encoder.trained_positions) == 5
    long_cat, long_num, long_lens = random_batch([12], seed=7)
    net.eval()
    with torch.no_grad():
        before = net(long_cat, long_num, long_lens)
        net.encoder.positions.weight[5:] = 1e3 * torch.randn(507, 6)
        after = net(long_cat, long_num, long_lens)
    torch.testing.assert_close(before, after)
    # the trained positions do reach it
    with torch.no_grad():
        net.encoder.positions.weight[:5] += torch.randn(5, 6)
        assert not torch.allclose(net(long_cat, long_num, long_lens), after)


def test_trained_positions_follow_training_only():
    enc = _encoder(False, max_positions=8).train()
    enc(torch.randn(2, 6, 5), torch.tensor([6, 2]))
    enc(torch.randn(1, 20, 5), torch.tensor([20]))  # capped at max_positions
    assert int(enc.trained_positions) == 8
    enc.eval()(torch.randn(1, 30, 5), torch.tensor([30]))
    assert int(enc.trained_positions) == 8
    assert "trained_positions" in enc.state_dict()


def test_recurrent_state_dict_keys_unchanged():
    """encoder="recurrent" (the default) is the network of before the
    encoder choice: saved models keep loading."""
    net = SequenceNet(
        cardinalities=[6], embedding_dims=[4], n_numeric=1, numeric_dim=8,
        hidden_size=8, num_layers=1, bidirectional=False, cell="lstm",
        dropout=0.0, pooling="last", n_outputs=2,
    )
    assert list(net.state_dict()) == [
        "inputs.embeddings.0.weight",
        "inputs.numeric_proj.weight",
        "inputs.numeric_proj.bias",
        "encoder.rnn.weight_ih_l0",
        "encoder.rnn.weight_hh_l0",
        "encoder.rnn.bias_ih_l0",
        "encoder.rnn.bias_hh_l0",
        "head.weight",
        "head.bias",
    ]


def test_unknown_encoder_is_refused():
    with pytest.raises(ValueError, match="encoder must be one of"):
        make_net(encoder="rnn")


def test_prediction_does_not_depend_on_the_batch_size():
    """Exactly: eval-mode outputs of one row equal those of the row inside a
    batch (the head runs in float64)."""
    net = _net("last+mean+max", bag="mean")
    cat, num, lens = random_batch([6] * 20, seed=8)
    with torch.no_grad():
        full = net(cat, num, lens)
        single = torch.cat([net(cat[i:i + 1], num[i:i + 1], lens[i:i + 1])
                            for i in range(20)])
    assert torch.equal(full, single)
