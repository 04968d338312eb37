"""The linear start: the wide path fitted alone, to convergence, then frozen."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression, PoissonRegressor

from seqestimators.nn import (
    L2_PATH,
    SequenceEnsemble,
    SequenceNet,
    fit_linear_start,
    numeric_summaries,
)


def _net(cardinalities, n_numeric, n_outputs, l2, **kwargs):
    torch.manual_seed(0)
    return SequenceNet(
        cardinalities=cardinalities, embedding_dims=[3] * len(cardinalities),
        n_numeric=n_numeric, numeric_dim=8 if n_numeric else 0, hidden_size=4,
        num_layers=1, dropout=0.0, pooling="last", n_outputs=n_outputs,
        wide=True, wide_l2=l2, wide_numeric=True, **kwargs,
    )


def _data(n=300, T=12, seed=0):
    rng = np.random.RandomState(seed)
    lengths = rng.randint(1, T + 1, size=n)
    cat = rng.randint(1, 6, size=(n, T, 1))
    num = rng.normal(size=(n, T, 2)).astype(np.float32)
    steps = np.arange(T)[None, :]
    pad = steps >= lengths[:, None]
    cat[pad] = 0
    num[pad] = 0.0
    return torch.from_numpy(cat), torch.from_numpy(num), torch.from_numpy(lengths)


def _features(cat, num, lengths):
    """The wide path's design matrix, computed independently with numpy:
    id counts / sqrt(length) (ids 1..5) and the numeric summaries."""
    cat, num, lengths = cat.numpy(), num.numpy(), lengths.numpy()
    n = len(lengths)
    counts = np.zeros((n, 5))
    for i in range(n):  # a reference implementation: a loop is fine here
        counts[i] = np.bincount(cat[i, : lengths[i], 0], minlength=6)[1:]
    counts /= np.sqrt(lengths)[:, None]
    stats = []
    for i in range(n):
        v = num[i, : lengths[i]]
        stats.append(np.r_[v.mean(0), v.std(0), v.min(0), v.max(0), v[-1],
                           np.log1p(lengths[i])])
    return np.column_stack([counts, np.array(stats)])


def _standardized(Z):
    """The wide path's standardization of the summaries (columns 5:)."""
    Z = Z.copy()
    std = Z[:, 5:].std(0)
    Z[:, 5:] = (Z[:, 5:] - Z[:, 5:].mean(0)) / np.where(std > 1e-6, std, 1.0)
    return Z


def test_numeric_summaries_match_numpy():
    cat, num, lengths = _data(n=50)
    got = numeric_summaries(num, lengths).numpy()
    want = _features(cat, num, lengths)[:, 5:]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_empty_sequences_summarize_to_zeros():
    num = torch.ones(2, 3, 1)
    out = numeric_summaries(num, torch.tensor([0, 3]))
    assert torch.equal(out[0], torch.zeros(6))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("n_classes", [2, 3])
def test_fit_matches_logistic_regression(n_classes):
    """Same features, same penalty: the linear start is LogisticRegression
    (C = 1 / (l2 * n); twice that for two classes, where our two softmax
    rows penalize the one coefficient vector of the binomial model half as
    much) up to the solvers' tolerance."""
    cat, num, lengths = _data()
    Z = _features(cat, num, lengths)
    rng = np.random.RandomState(1)
    logits = Z @ rng.normal(size=(Z.shape[1], n_classes))
    y = logits.argmax(1) if n_classes > 2 else (logits[:, 0] > np.median(logits[:, 0]))
    y = y.astype(np.int64)
    l2 = 0.01
    net = _net([6], 2, n_classes, l2)
    data = [({"categorical": cat, "numeric": num, "lengths": lengths},
             torch.from_numpy(y), 1.0)]
    result = fit_linear_start(net, lambda: data, torch.nn.functional.cross_entropy)
    assert result["l2"] == {"ids_0": l2, "numeric": l2}
    assert result["evaluations"] > 1
    C = (2 if n_classes == 2 else 1) / (l2 * len(y))
    ref = LogisticRegression(C=C, tol=1e-10, max_iter=10_000)
    Z = _standardized(Z)
    ref.fit(Z, y)
    with torch.no_grad():
        ours = torch.softmax(net.linear_output(cat, num, lengths), 1).numpy()
    np.testing.assert_allclose(ours, ref.predict_proba(Z), atol=2e-3)
    # the network starts as that model: head weights zero, wide path frozen
    net.eval()
    with torch.no_grad():
        np.testing.assert_allclose(
            torch.softmax(net(cat, num, lengths), 1).numpy(), ours, atol=1e-6
        )
    assert float(net.wide.frozen) == 1.0


def test_fit_matches_poisson_regression():
    cat, num, lengths = _data(seed=3)
    Z = _features(cat, num, lengths)
    rate = np.exp(0.3 * Z[:, 5] - 0.2 * Z[:, 0] + 0.5)
    y = np.random.RandomState(2).poisson(rate).astype(np.float32)

    def half_deviance(log_rate, target):
        return (torch.exp(log_rate[:, 0]) - target * log_rate[:, 0]).mean()

    net = _net([6], 2, 1, 0.05)
    data = [({"categorical": cat, "numeric": num, "lengths": lengths},
             torch.from_numpy(y), 1.0)]
    fit_linear_start(net, lambda: data, half_deviance)
    # sklearn: mean half deviance + alpha / 2 ||w||^2
    ref = PoissonRegressor(alpha=0.05, tol=1e-10, max_iter=10_000)
    Z = _standardized(Z)
    ref.fit(Z, y)
    with torch.no_grad():
        ours = torch.exp(net.linear_output(cat, num, lengths)[:, 0]).numpy()
    np.testing.assert_allclose(ours, ref.predict(Z), rtol=2e-3)


def test_penalty_is_chosen_on_the_validation_batches():
    """Pure noise labels: the strongest penalty of the path wins (weaker
    ones only fit the noise); a learnable target picks a weaker one."""
    cat, num, lengths = _data(n=400, seed=4)
    Z = _features(cat, num, lengths)
    split = 300

    def chosen(y, cat=cat, per_group=False):
        net = _net([int(cat.max()) + 1], 2, 2, 0.0)
        y = torch.from_numpy(y.astype(np.int64))

        def part(rows):
            return lambda: [({"categorical": cat[rows], "numeric": num[rows],
                              "lengths": lengths[rows]}, y[rows], 1.0)]

        return fit_linear_start(
            net, part(slice(0, split)), torch.nn.functional.cross_entropy,
            valid_batches=part(slice(split, None)),
            l2_path=(1.0, 0.1, 0.01, 1e-3, 1e-4), per_group=per_group,
        )["l2"]

    noise = np.random.RandomState(5).randint(0, 2, size=len(lengths))
    signal = (Z[:, 0] + Z[:, 5] > np.median(Z[:, 0] + Z[:, 5])).astype(int)
    assert chosen(noise) == {"ids_0": 1.0, "numeric": 1.0}
    assert max(chosen(signal).values()) < 1.0
    # many rare ids that carry nothing next to a numeric signal: per group,
    # the ids get a stronger penalty than the summaries
    rare = torch.randint(1, 2000, cat.shape, generator=torch.Generator().manual_seed(0))
    rare = rare.masked_fill(cat == 0, 0)
    mean0 = Z[:, 5]
    numeric_signal = (mean0 > np.median(mean0)).astype(int)
    flip = np.random.RandomState(6).rand(len(mean0)) < 0.2
    numeric_signal[flip] = 1 - numeric_signal[flip]
    l2 = chosen(numeric_signal, cat=rare, per_group=True)
    assert l2["ids_0"] > l2["numeric"], l2


def test_frozen_weights_get_no_gradient_and_ensembles_share_them():
    cat, num, lengths = _data(n=60)
    y = torch.from_numpy((lengths.numpy() > 6).astype(np.int64))
    net = SequenceEnsemble(
        n_members=2, combine="mean_proba", cardinalities=[6],
        embedding_dims=[3], n_numeric=2, numeric_dim=8, hidden_size=4,
        num_layers=1, dropout=0.0, pooling="last", n_outputs=2, wide=True,
        wide_l2=0.01, wide_numeric=True,
    )
    data = [({"categorical": cat, "numeric": num, "lengths": lengths}, y, 1.0)]
    fit_linear_start(net, lambda: data, torch.nn.functional.cross_entropy)
    a, b = net.members
    for (name, p), q in zip(a.wide.named_parameters(), b.wide.parameters()):
        assert torch.equal(p, q), name
    net.train()
    out = net(cat, num, lengths)
    torch.nn.functional.cross_entropy(out[0], y).backward()
    assert all(p.grad is None for p in a.wide.parameters())
    assert a.head.weight.grad is not None


def test_no_wide_path_is_a_no_op():
    cat, num, lengths = _data(n=10)
    net = SequenceNet(
        cardinalities=[6], embedding_dims=[3], n_numeric=2, numeric_dim=8,
        hidden_size=4, num_layers=1, dropout=0.0, pooling="last", n_outputs=2,
    )
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert fit_linear_start(net, lambda: [], torch.nn.functional.cross_entropy) == {}
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_design_matrix_reproduces_the_forward_pass():
    """The linear start fits on sparse designs; their output equals the
    wide path's forward pass, ids at 0 (padding or unknown) left out,
    n-grams of the chosen channels only."""
    from seqestimators.nn import WideEvents

    torch.manual_seed(0)
    wide = WideEvents([7, 5], n_outputs=3, ngrams=4, buckets=128, n_numeric=2,
                      ngram_channels=[1])
    for p in wide.parameters():
        torch.nn.init.normal_(p)
    cat = torch.randint(0, 5, (6, 9, 2))
    lengths = torch.tensor([9, 3, 1, 0, 5, 2])
    num = torch.randn(6, 9, 2)
    design = wide.design(cat, lengths, num)
    assert set(design) == {"ids_0", "ids_1", "ngrams", "numeric"}
    torch.testing.assert_close(
        wide.design_output(design), wide(cat, lengths, num), rtol=1e-5, atol=1e-5
    )


def test_ngram_table_is_fitted_on_the_buckets_that_occur():
    """A 2**18-row hashed table: only the buckets seen in training get
    weights, every other row stays 0."""
    cat, num, lengths = _data(n=80)
    y = torch.from_numpy((lengths.numpy() % 2).astype(np.int64))
    net = _net([6], 2, 2, 0.01, wide_ngrams=3)
    data = [({"categorical": cat, "numeric": num, "lengths": lengths}, y, 1.0)]
    fit_linear_start(net, lambda: data, torch.nn.functional.cross_entropy)
    table = net.wide.ngram_weights.detach()
    used = net.wide.design(cat, lengths)["ngrams"].coalesce().indices()[1].unique()
    nonzero = (table != 0).any(1).nonzero().ravel()
    assert set(nonzero.tolist()) <= set(used.tolist())
    assert len(nonzero) > 0


def _noise_or_signal(signal: bool, n=400, seed=0):
    """Sequences of 8 ids out of 200; with ``signal`` the label is whether
    id 2 occurs, else a coin flip."""
    g = torch.Generator().manual_seed(seed)
    cat = torch.randint(3, 200, (n, 8, 1), generator=g)
    cat[: n // 2, 0, 0] = 2
    y = (torch.arange(n) < n // 2).long()
    if not signal:
        y = torch.randint(0, 2, (n,), generator=g)
    return cat, y


@pytest.mark.parametrize("signal", [False, True])
def test_cross_validated_penalty_follows_the_signal(signal):
    """cv folds of the training sequences choose the penalty: the strongest
    on noise, a weaker one where an id decides the label; the final fit
    uses the chosen penalty scaled to all rows ((k - 1) / k), the same for
    the same seed."""
    cat, y = _noise_or_signal(signal, seed=1)
    inputs = {"categorical": cat, "numeric": torch.zeros(len(y), 8, 0),
              "lengths": torch.full((len(y),), 8)}
    results = []
    for _ in range(2):
        net = _net([200], 0, 2, 0.0)
        results.append(fit_linear_start(
            net, lambda: [(inputs, y, 1.0)], torch.nn.functional.cross_entropy,
            cv=3, seed=1, per_group=False))
    l2 = results[0]["l2"]["ids_0"]
    assert results[0]["l2"] == results[1]["l2"]
    assert results[0]["valid_loss"] is None and results[0]["cv_loss"] > 0
    if signal:
        assert l2 == pytest.approx(L2_PATH[-1] * 2 / 3)
        assert results[0]["cv_loss"] < 0.05
        assert net.eval()(**inputs).argmax(1).eq(y).float().mean() > 0.95
    else:
        # left out: no finite penalty, weights exactly 0, one output for all
        assert math.isinf(l2) and L2_PATH[0] == math.inf
        assert torch.count_nonzero(net.wide.weights[0]) == 0
        out = net.eval()(**inputs)
        assert torch.equal(out, out[:1].expand_as(out))


def test_group_within_noise_is_left_out():
    """An id decides the label, a numeric channel is noise: cross-validated,
    the ids keep a finite penalty and the numeric summaries are left out
    (weights exactly 0), not merely shrunk: shrunk weights still rank the
    rows, and on rows they were not fitted on, by chance the wrong way."""
    cat, y = _noise_or_signal(True, seed=2)
    flip = torch.rand(len(y), generator=torch.Generator().manual_seed(3)) < 0.3
    y = torch.where(flip, 1 - y, y)
    num = torch.randn(len(y), 8, 2, generator=torch.Generator().manual_seed(4))
    inputs = {"categorical": cat, "numeric": num,
              "lengths": torch.full((len(y),), 8)}
    net = _net([200], 2, 2, 0.0)
    F = torch.nn.functional

    def row_loss(output, target):
        losses = F.cross_entropy(output, target, reduction="none")
        return losses, torch.ones(len(target))

    l2 = fit_linear_start(net, lambda: [(inputs, y, 1.0)], F.cross_entropy,
                          cv=3, seed=0, row_loss=row_loss)["l2"]
    assert math.isfinite(l2["ids_0"]) and math.isinf(l2["numeric"])
    assert torch.count_nonzero(net.wide.numeric_weights) == 0
    assert torch.count_nonzero(net.wide.weights[0]) > 0


def test_std_summary_of_a_constant_channel_is_exactly_zero():
    """A channel constant within each sequence (a recency at a reference
    time) has std 0, not float32 rounding noise that standardizing would
    turn into a feature (and that differs between runtimes)."""
    values = torch.tensor([0.1234567, 7.654321, 123.456, 1e4 / 3])
    x = values.view(-1, 1, 1).expand(-1, 50, 1).contiguous()
    lengths = torch.tensor([50, 37, 2, 1])
    std = numeric_summaries(x, lengths)[:, 1]
    assert torch.equal(std, torch.zeros(4))


def test_sparse_product_and_its_gradient_match_the_dense_ones():
    """The linear start multiplies its sparse designs through CSR copies of
    the design and of its transpose (its own gradient): values and
    gradients equal the dense product's."""
    from seqestimators.nn._linear_start import _CSRMatmul

    gen = torch.Generator().manual_seed(0)
    keep = torch.rand(30, 50, generator=gen) < 0.1
    dense = torch.rand(30, 50, generator=gen) * keep
    x = dense.to_sparse().coalesce()
    w = torch.randn(50, 3, generator=gen, requires_grad=True)
    w_dense = w.detach().clone().requires_grad_(True)
    out = _CSRMatmul.apply(w, x.to_sparse_csr(), x.t().coalesce().to_sparse_csr())
    expected = dense @ w_dense
    torch.testing.assert_close(out, expected)
    upstream = torch.randn(30, 3, generator=gen)
    (out * upstream).sum().backward()
    (expected * upstream).sum().backward()
    torch.testing.assert_close(w.grad, w_dense.grad)
