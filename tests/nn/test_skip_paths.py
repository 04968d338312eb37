"""Combined pooling views, the bag and wide skip paths, input dropout."""

from __future__ import annotations

import re

import pytest
import torch

from seqestimators.nn import (
    SequenceNet,
    SequencePooling,
    WideEvents,
    l2_gradient,
    parse_pooling,
)

from .test_model import (
    CARDINALITIES,
    assert_padding_invariant,
    make_net,
    pad_to,
    random_batch,
)

OPTIONS = {
    "last+mean+max": dict(pooling="last+mean+max"),
    "tuple-attention+mean": dict(pooling=("attention", "mean")),
    "bag-mean": dict(bag="mean"),
    "bag-mean+max": dict(bag="mean+max", pooling="max"),
    "wide": dict(wide=True, wide_l2=0.1),
    "wide-ngrams": dict(wide=True, wide_l2=0.1, wide_ngrams=3),
    "all": dict(
        pooling="last+mean+max", bag="mean", wide=True, wide_l2=0.1, input_dropout=0.5
    ),
}


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_padding_invariance_of_new_options(options, bidirectional):
    net = make_net(bidirectional=bidirectional, **{"cell": "gru", **options})
    assert_padding_invariant(net)


def test_wide_ignores_garbage_ids_on_padding():
    net = make_net(pooling="mean", wide=True, bag="mean", wide_ngrams=3)
    with torch.no_grad():
        for w in [*net.wide.weights, net.wide.ngram_weights]:
            w.normal_()
    cat, num, lens = random_batch([3, 1, 5], seed=6)
    cat_p, num_p = pad_to(cat, num, 12)
    garbage = torch.arange(12).view(1, -1, 1) >= lens.view(-1, 1, 1)
    with torch.no_grad():
        clean = net(cat_p, num_p, lens)
        noisy = net(cat_p + 1 * garbage, num_p, lens)  # ids 1.. on padding
    torch.testing.assert_close(noisy, clean, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_empty_sequence_and_gradients_with_new_options(options):
    net = make_net(**options)
    cat, num, lens = random_batch([0, 4, 0], seed=4)
    with torch.no_grad():
        out = net(cat, num, lens)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], out[2])
    # a training step on a padded batch equals one on the unpadded batch
    grads = []
    for T in (4, 30):
        net = make_net(**{**options, "input_dropout": 0.0}).train()
        net.head_dropout.p = 0.0
        c, n = pad_to(*random_batch([4, 2], seed=5)[:2], T)
        net(c, n, torch.tensor([4, 2])).sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in net.parameters()]))
    torch.testing.assert_close(grads[0], grads[1], atol=1e-5, rtol=1e-5)


def test_defaults_reproduce_the_plain_network():
    """The new options default to the network as it was: same parameters,
    same initialization, same outputs."""
    plain = make_net(pooling="mean")
    explicit = make_net(
        pooling="mean", bag=None, wide=False, wide_l2=0.0, input_dropout=0.0
    )
    assert plain.bag is None and plain.wide is None
    assert list(plain.state_dict()) == list(explicit.state_dict())
    modules = {k.split(".")[0] for k in plain.state_dict()}
    assert modules == {"inputs", "encoder", "head"}
    cat, num, lens = random_batch([3, 5], seed=7)
    with torch.no_grad():
        torch.testing.assert_close(plain(cat, num, lens), explicit(cat, num, lens))


def test_combined_pooling_concatenates_the_views():
    out = torch.randn(3, 6, 4)
    lens = torch.tensor([6, 2, 4])
    pool = SequencePooling("last+mean+max", 4)
    assert pool.output_size == 12
    got = pool(out, lens)
    parts = [SequencePooling(name, 4)(out, lens) for name in ("last", "mean", "max")]
    torch.testing.assert_close(got, torch.cat(parts, dim=-1))
    assert SequencePooling(("max", "last"), 4)(out, lens).shape == (3, 8)
    assert SequencePooling("mean", 4).pooling == "mean"  # one name: a str


@pytest.mark.parametrize("bad", ["sum", "last+last", "", ("mean", "median"), ()])
def test_parse_pooling_rejects_bad_names(bad):
    msg = "pooling must be one of ('last', 'mean', 'max', 'attention'), or several"
    with pytest.raises(ValueError, match=re.escape(msg)):
        parse_pooling(bad)


def test_head_width_follows_the_paths():
    net = make_net(pooling="last+max", bag="mean+max", bidirectional=True)
    inputs = net.inputs.output_size
    assert net.head.in_features == 2 * 12 + 2 * inputs  # hidden 6, two directions


def test_wide_is_a_linear_model_on_id_counts():
    wide = WideEvents([4, 3], n_outputs=2)
    with torch.no_grad():
        wide.weights[0].copy_(torch.arange(8.0).view(4, 2))
        wide.weights[1].copy_(10 * torch.ones(3, 2))
    # one sequence of 4 events: channel 0 ids 1, 1, 3, 2; channel 1 ids 2, 1, 1, 1
    cat = torch.tensor([[[1, 2], [1, 1], [3, 1], [2, 1], [0, 0]]])
    got = wide(cat, torch.tensor([4]))
    w0 = torch.arange(8.0).view(4, 2)
    expected = (2 * w0[1] + w0[3] + w0[2] + 4 * 10.0) / 2.0  # / sqrt(4)
    torch.testing.assert_close(got, expected.unsqueeze(0))
    # the padding row never contributes, even if its weight is set
    with torch.no_grad():
        wide.weights[0][0] = 1e6
    torch.testing.assert_close(wide(cat, torch.tensor([4])), expected.unsqueeze(0))


def test_wide_ngrams_see_order():
    """Unigrams see the bag of ids only; with n-grams the order matters,
    and each n-gram is counted once per occurrence inside the length."""
    a = torch.tensor([[[1], [2], [3], [1]]])
    b = torch.tensor([[[3], [1], [2], [1]]])  # the same ids, another order
    lens = torch.tensor([4])
    uni = WideEvents([4], n_outputs=1)
    tri = WideEvents([4], n_outputs=1, ngrams=3, buckets=1024)
    with torch.no_grad():
        for w in [*uni.weights, *tri.weights, tri.ngram_weights]:
            w.normal_(generator=torch.Generator().manual_seed(0))
        torch.testing.assert_close(uni(a, lens), uni(b, lens))
        assert (tri(a, lens) - tri(b, lens)).abs().item() > 1e-4
        # a sequence of 4 ids has 3 bigrams and 2 trigrams
        tri.ngram_weights.fill_(1.0)
        for w in tri.weights:
            w.zero_()
        torch.testing.assert_close(tri(a, lens), torch.tensor([[5.0 / 2.0]]))
        # sequences shorter than the window (one of them empty) are fine
        ids = torch.tensor([[[2], [0], [0], [0]], [[0]] * 4])
        short = tri(ids, torch.tensor([1, 0]))
        torch.testing.assert_close(short, torch.zeros(2, 1))


def test_wide_starts_at_zero_and_learns():
    net = make_net(pooling="last", wide=True)
    cat, num, lens = random_batch([3, 2], seed=8)
    assert all(float(w.detach().abs().sum()) == 0 for w in net.wide.weights)
    net.train()(cat, num, lens).sum().backward()
    assert float(net.wide.weights[0].grad.abs().sum()) > 0


def test_l2_gradient_is_the_gradient_of_an_l2_penalty():
    w = torch.randn(5, 2, requires_grad=True)
    x = torch.randn(5, 2)
    (l2_gradient(w, 0.3) * x).sum().backward()
    torch.testing.assert_close(w.grad, x + 0.3 * w.detach())
    # the same as adding the penalty to the loss
    w2 = w.detach().clone().requires_grad_()
    ((w2 * x).sum() + 0.15 * (w2**2).sum()).backward()
    torch.testing.assert_close(w.grad, w2.grad)
    # without gradients (prediction) or with l2=0 the weight itself is returned
    with torch.no_grad():
        assert l2_gradient(w, 0.3) is w
    assert l2_gradient(w, 0.0) is w


def test_wide_l2_shrinks_the_weights():
    torch.manual_seed(0)
    cat = torch.stack([torch.randint(1, c, (8, 5)) for c in CARDINALITIES], dim=-1)
    lens = torch.full((8,), 5)
    y = torch.randn(8, 1)
    norms = []
    for l2 in (0.0, 1.0):
        wide = WideEvents(CARDINALITIES, n_outputs=1, l2=l2)
        opt = torch.optim.SGD(wide.parameters(), lr=0.1)
        for _ in range(200):
            opt.zero_grad()
            ((wide(cat, lens) - y) ** 2).mean().backward()
            opt.step()
        norms.append(sum(float(w.detach().norm()) for w in wide.weights))
    assert norms[1] < 0.5 * norms[0]


def test_input_dropout_only_in_training():
    net = make_net(pooling="mean", bag="mean", input_dropout=0.9)
    cat, num, lens = random_batch([5, 5], seed=9)
    with torch.no_grad():
        a, b = net(cat, num, lens), net(cat, num, lens)
        torch.testing.assert_close(a, b)
        net.train()
        torch.manual_seed(1)
        c = net(cat, num, lens)
    assert (a - c).abs().max() > 1e-4


def test_sequence_net_keyword_only():
    with pytest.raises(TypeError):
        SequenceNet([7], [3])  # the options are keyword-only
