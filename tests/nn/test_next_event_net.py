"""NextEventNet: causality, padding invariance, full and sampled losses."""

import pytest
import torch

from seqestimators.nn._next_event import NextEventNet


def _net(encoder, **kw):
    torch.manual_seed(0)
    return NextEventNet(
        cardinalities=[20, 5], embedding_dims=[8, 3], n_numeric=2, numeric_dim=4,
        target=0, encoder=encoder, hidden_size=8, num_layers=1, dropout=0.0, **kw,
    ).eval()


def _batch(B=3, T=6):
    g = torch.Generator().manual_seed(1)
    cat = torch.stack(
        [torch.randint(2, 20, (B, T), generator=g),
         torch.randint(2, 5, (B, T), generator=g)], dim=-1
    )
    return cat, torch.randn(B, T, 2, generator=g), torch.tensor([6, 4, 2])


@pytest.mark.parametrize("encoder", ["lstm", "gru", "transformer"])
def test_queries_are_causal_and_ignore_padding(encoder):
    net = _net(encoder)
    cat, num, lengths = _batch()
    with torch.no_grad():
        q = net(cat, num, lengths)
        later = cat.clone()
        later[:, 3:] = 2  # change events 3.. of every sequence
        q2 = net(later, num, lengths)
        padded = net(
            torch.cat([cat, torch.ones(3, 4, 2, dtype=torch.long)], 1),
            torch.cat([num, torch.randn(3, 4, 2)], 1),
            lengths,
        )
    torch.testing.assert_close(q[:, :3], q2[:, :3], atol=1e-5, rtol=1e-5)
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(q[i, :n], padded[i, :n], atol=1e-5, rtol=1e-5)


def test_scores_never_rank_reserved_ids():
    net = _net("gru")
    cat, num, lengths = _batch()
    s = net.scores(net(cat, num, lengths)[:, 0])
    assert torch.isinf(s[:, :2]).all() and torch.isfinite(s[:, 2:]).all()


def test_tied_weights_share_the_input_embedding():
    tied, untied = _net("gru"), _net("gru", tie_weights=False)
    assert tied.item_table is tied.inputs.embeddings[0].weight
    assert untied.item_table is not untied.inputs.embeddings[0].weight


def test_full_loss_is_cross_entropy_over_valid_positions():
    net = _net("lstm")
    cat, num, lengths = _batch()
    q = net(cat, num, lengths)
    targets = torch.zeros(3, 6, dtype=torch.long)
    targets[0, :5] = cat[0, 1:, 0]
    want = torch.nn.functional.cross_entropy(net.scores(q[0, :5]), cat[0, 1:, 0])
    torch.testing.assert_close(net.loss(q, targets), want)
    assert float(net.loss(q, torch.zeros_like(targets)).detach()) == 0.0


def test_sampled_loss_trains_toward_the_true_item():
    torch.manual_seed(0)
    net = _net("gru").train()
    cat, num, lengths = _batch()
    targets = torch.full((3, 6), 7)  # always item 7 next
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(0)
    for _ in range(60):
        opt.zero_grad()
        net.loss(net(cat, num, lengths), targets, n_negatives=8, generator=g).backward()
        opt.step()
    with torch.no_grad():
        top = net.scores(net.eval()(cat, num, lengths)).argmax(-1)
    assert (top == 7).float().mean() > 0.9
