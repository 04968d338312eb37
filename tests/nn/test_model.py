"""SequenceNet (pure torch): padding never changes a prediction."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from seqestimators import LSTMSequenceClassifier, RaggedSequences
from seqestimators.nn import SequenceNet, reverse_within_lengths

CARDINALITIES = [7, 5]
N_NUMERIC = 2


def make_net(
    *, pooling="last", bidirectional=False, cell="lstm", num_layers=1, **extra
):
    torch.manual_seed(0)
    net = SequenceNet(
        cardinalities=CARDINALITIES,
        embedding_dims=[3, 2],
        n_numeric=N_NUMERIC,
        numeric_dim=4,
        hidden_size=6,
        num_layers=num_layers,
        bidirectional=bidirectional,
        cell=cell,
        dropout=0.5,  # must be inert in eval mode
        pooling=pooling,
        n_outputs=3,
        **extra,
    )
    return net.eval()


def random_batch(lengths, seed=0):
    """Right-padded batch (ids >= 1 and numeric values on real steps, zeros
    on padding), as the estimators build it."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.as_tensor(lengths, dtype=torch.int64)
    T = max(int(lengths.max()), 1)
    mask = torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)
    cat = torch.stack(
        [torch.randint(1, c, (len(lengths), T), generator=gen) for c in CARDINALITIES],
        dim=-1,
    )
    num = torch.randn(len(lengths), T, N_NUMERIC, generator=gen)
    cat = cat * mask.unsqueeze(-1)
    num = num * mask.unsqueeze(-1)
    return cat, num, lengths


def pad_to(cat, num, T):
    """Right-pad a batch with zeros to ``T`` steps."""
    extra = T - cat.shape[1]
    cat = torch.nn.functional.pad(cat, (0, 0, 0, extra))
    num = torch.nn.functional.pad(num, (0, 0, 0, extra))
    return cat, num


CONFIGS = list(
    itertools.product(
        ("last", "mean", "max", "attention"), (False, True), ("lstm", "gru"), (1, 2)
    )
)


@pytest.mark.parametrize(
    "pooling, bidirectional, cell, num_layers",
    CONFIGS,
    ids=[f"{p}-{'bi' if b else 'uni'}-{c}-{n}layer" for p, b, c, n in CONFIGS],
)
def test_padding_invariance(pooling, bidirectional, cell, num_layers):
    net = make_net(
        pooling=pooling, bidirectional=bidirectional, cell=cell, num_layers=num_layers
    )
    assert_padding_invariant(net)


def assert_padding_invariant(net):
    """Each short sequence predicts the same alone, padded inside a batch of
    long sequences, and with garbage on its padded numeric steps."""
    # short sequences of various lengths, each also run alone
    lengths = [3, 1, 5, 2]
    cat, num, lens = random_batch(lengths, seed=1)
    with torch.no_grad():
        alone = torch.cat(
            [
                net(cat[i : i + 1, :L], num[i : i + 1, :L], lens[i : i + 1])
                for i, L in enumerate(lengths)
            ]
        )
        # the same rows, padded far beyond their lengths, next to long rows
        long_cat, long_num, long_lens = random_batch([40, 25], seed=2)
        cat_p, num_p = pad_to(cat, num, 40)
        batched = net(
            torch.cat([long_cat, cat_p]),
            torch.cat([long_num, num_p]),
            torch.cat([long_lens, lens]),
        )[2:]
        # garbage (not zeros) on the padded steps must not matter either
        noisy_num = num_p + 100.0 * (
            torch.arange(40).view(1, -1, 1) >= lens.view(-1, 1, 1)
        )
        noisy = net(cat_p, noisy_num, lens)
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(noisy, alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_invariance_is_not_trivial(bidirectional):
    """The invariance test above could pass with a model that ignores its
    input: outputs do change when a real step changes."""
    net = make_net(pooling="last", bidirectional=bidirectional)
    cat, num, lens = random_batch([4, 4], seed=3)
    num2 = num.clone()
    num2[:, 0] += 1.0  # first step: reaches "last" only through the recurrence
    with torch.no_grad():
        out, out2 = net(cat, num, lens), net(cat, num2, lens)
    assert (out - out2).abs().min() > 1e-4


def test_reverse_within_lengths():
    x = torch.arange(2 * 5, dtype=torch.float32).view(2, 5, 1)
    x = torch.cat([x, -x], dim=-1)  # two features, reversed together
    lengths = torch.tensor([3, 5])
    out = reverse_within_lengths(x, lengths)
    assert out[0, :, 0].tolist() == [2, 1, 0, 3, 4]  # padding stays at the end
    assert out[1, :, 0].tolist() == [9, 8, 7, 6, 5]
    assert torch.equal(out[..., 1], -out[..., 0])
    # an involution: reversing twice gives the input back
    assert torch.equal(reverse_within_lengths(out, lengths), x)
    # a zero length leaves the row unchanged
    assert torch.equal(reverse_within_lengths(x, torch.tensor([0, 1])), x)


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_empty_sequence_gives_finite_output(pooling, bidirectional):
    net = make_net(pooling=pooling, bidirectional=bidirectional)
    cat, num, lens = random_batch([0, 4, 0], seed=4)
    with torch.no_grad():
        out = net(cat, num, lens)
        alone = net(cat[:1, :1], num[:1, :1], lens[:1])
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], out[2])
    torch.testing.assert_close(out[:1], alone, atol=1e-5, rtol=1e-5)


def test_training_gradients_ignore_padding():
    """A training step on a padded batch equals one on the unpadded batch."""
    grads = []
    for T in (4, 30):
        net = make_net(pooling="mean", bidirectional=True).train()
        net.encoder.layer_dropout.p = net.head_dropout.p = 0.0
        cat, num, lens = random_batch([4, 2], seed=5)
        cat, num = pad_to(cat, num, T)
        net(cat, num, lens).sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in net.parameters()]))
    torch.testing.assert_close(grads[0], grads[1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_estimator_prediction_independent_of_batch(bidirectional):
    """Through the estimator: a short sequence predicts the same alone and
    inside a batch with much longer sequences (which pads it to their
    length)."""
    rng = np.random.RandomState(0)
    lengths = np.r_[rng.randint(1, 8, size=40), 60, 80]
    offsets = np.r_[0, np.cumsum(lengths)]
    n_events = offsets[-1]
    X = RaggedSequences(
        offsets,
        rng.randint(2, 6, size=(n_events, 1)),
        rng.normal(size=(n_events, 1)),
        cardinalities=[6],
    )
    y = rng.randint(0, 2, size=len(lengths))
    clf = LSTMSequenceClassifier(
        hidden_size=8,
        max_epochs=2,
        bidirectional=bidirectional,
        pooling="max",
        random_state=0,
    ).fit(X, y)
    proba = clf.predict_proba(X)
    alone = np.vstack([clf.predict_proba(X[[i]]) for i in range(0, 40, 7)])
    np.testing.assert_allclose(proba[0:40:7], alone, atol=1e-5)
