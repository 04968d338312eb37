"""The wide path's count transform: an id or n-gram seen c times in a
sequence enters as c ("linear") or log1p(c) ("log1p"), by one rule in the
forward pass, the design matrix and the per-event attributions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from seqestimators.nn import SequenceNet, WideEvents, fit_linear_start, repeat_counts
from seqestimators.nn._attributions import wide_event_terms


def test_repeat_counts_match_a_direct_count():
    g = torch.Generator().manual_seed(0)
    code = torch.randint(0, 7, (50, 40), generator=g)
    valid = torch.rand(50, 40, generator=g) > 0.3
    got = repeat_counts(code, valid).numpy()
    code, valid = code.numpy(), valid.numpy()
    for i in range(len(code)):  # a reference implementation: a loop is fine here
        for j in range(code.shape[1]):
            want = (code[i][valid[i]] == code[i, j]).sum() if valid[i, j] else 1
            assert got[i, j] == want


def test_unknown_count_transform_is_refused():
    with pytest.raises(ValueError, match="counts must be one of"):
        WideEvents([4], n_outputs=1, counts="sqrt")


def _wide(counts):
    torch.manual_seed(0)
    wide = WideEvents([7, 5], n_outputs=3, ngrams=4, buckets=64, n_numeric=2,
                      ngram_channels=[1], counts=counts)
    for p in wide.parameters():
        torch.nn.init.normal_(p)
    return wide


def _batch():
    g = torch.Generator().manual_seed(1)
    cat = torch.randint(0, 4, (6, 12, 2), generator=g)  # many repeats
    lengths = torch.tensor([12, 3, 1, 0, 7, 2])
    return cat, lengths, torch.randn(6, 12, 2, generator=g)


@pytest.mark.parametrize("counts", ["linear", "log1p"])
def test_design_forward_and_attributions_agree(counts):
    """The design's output and the per-event terms (plus the numeric part)
    both reproduce the forward pass."""
    wide = _wide(counts).eval()
    cat, lengths, num = _batch()
    with torch.no_grad():
        out = wide(cat, lengths, num)
    torch.testing.assert_close(
        wide.design_output(wide.design(cat, lengths, num)), out, rtol=1e-5, atol=1e-5
    )
    # the id and n-gram terms: the output less its numeric-summary part
    terms = wide_event_terms(wide, cat, lengths)
    assert terms.shape == (6, 12, 2, 3)
    numeric_part = wide.summaries(num, lengths) @ wide.numeric_weights
    torch.testing.assert_close(
        terms.sum(dim=(1, 2)), out - numeric_part, rtol=1e-5, atol=1e-5
    )


def test_log1p_design_holds_log1p_of_the_counts():
    """Sequence [1, 1, 1, 2] of one channel: id 1 enters as log1p(3), id 2
    as log1p(1), both / sqrt(4)."""
    wide = WideEvents([4], n_outputs=1, counts="log1p")
    cat, lengths = torch.tensor([[[1], [1], [1], [2]]]), torch.tensor([4])
    dense = wide.design(cat, lengths)["ids_0"].to_dense()[0]
    np.testing.assert_allclose(
        dense.numpy(), [0.0, np.log1p(3) / 2, np.log1p(1) / 2, 0.0], rtol=1e-6
    )
    linear = WideEvents([4], n_outputs=1).design(cat, lengths)["ids_0"].to_dense()[0]
    np.testing.assert_allclose(linear.numpy(), [0.0, 3 / 2, 1 / 2, 0.0], rtol=1e-6)


def test_linear_start_on_log1p_counts_matches_logistic_regression():
    """The linear start with log1p counts is scikit-learn's logistic
    regression on log1p(counts) / sqrt(length) (same penalty)."""
    rng = np.random.RandomState(0)
    n, T = 300, 10
    lengths = rng.randint(1, T + 1, size=n)
    cat = rng.randint(1, 6, size=(n, T, 1))
    cat[np.arange(T)[None, :] >= lengths[:, None]] = 0
    counts = np.stack([np.bincount(c[: m, 0], minlength=6)[1:]
                       for c, m in zip(cat, lengths)])
    X = np.log1p(counts) / np.sqrt(lengths)[:, None]
    y = (counts[:, 0] >= 2).astype(np.int64)  # a threshold on a count
    l2 = 0.01
    torch.manual_seed(0)
    net = SequenceNet(cardinalities=[6], embedding_dims=[3], n_numeric=0,
                      numeric_dim=0, hidden_size=4, num_layers=1, dropout=0.0,
                      pooling="last", n_outputs=2, wide=True, wide_l2=l2,
                      wide_counts="log1p")
    batch = {"categorical": torch.from_numpy(cat), "numeric": None,
             "lengths": torch.from_numpy(lengths)}
    fit_linear_start(net, lambda: [(batch, torch.from_numpy(y), 1.0)],
                     torch.nn.functional.cross_entropy)
    with torch.no_grad():
        ours = torch.softmax(net.linear_output(**batch), 1)[:, 1].numpy()
    # two softmax rows penalize the binomial model's one vector half as much
    ref = LogisticRegression(C=2 / (l2 * n), tol=1e-10, max_iter=10_000)
    ref = ref.fit(X, y).predict_proba(X)[:, 1]
    np.testing.assert_allclose(ours, ref, atol=2e-3)
