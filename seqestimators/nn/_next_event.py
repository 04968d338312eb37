"""Next-event networks: a causal encoder that predicts, at every position,
the next value of one categorical channel (SASRec / GRU4Rec style).

The scores of all candidate values are dot products with the channel's
embedding table (tied with the input embedding by default) plus a bias, so
memory grows with ``batch events x catalogue`` only where a loss or a ranking
is computed, never with the number of sequences. :meth:`NextEventNet.loss`
is the full softmax cross-entropy over the catalogue, or a sampled softmax
over shared uniform negatives for catalogues too large for it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._inputs import EventInputs
from ._recurrent import RecurrentEncoder
from ._transformer import TransformerEncoder

__all__ = ["NextEventNet", "N_RESERVED_IDS"]

#: ids 0 (padding) and 1 (unknown) are never predicted
N_RESERVED_IDS = 2


class NextEventNet(nn.Module):
    """Inputs -> causal encoder -> a query per step -> scores over a channel.

    Parameters
    ----------
    cardinalities, embedding_dims, n_numeric, numeric_dim
        As for :class:`EventInputs`.
    target : int
        Index of the categorical channel whose next value is predicted.
    encoder : {"lstm", "gru", "transformer"}
        The causal encoder (recurrences are causal by construction; the
        Transformer uses a causal mask).
    hidden_size, num_layers, dropout : int, int, float
        Encoder settings.
    num_heads : int, default=2
        Attention heads (Transformer only).
    tie_weights : bool, default=True
        Score candidates with the input embedding of the target channel;
        otherwise with a separate output table.
    max_positions : int, default=512
        Learned positions of the Transformer.

    Examples
    --------
    >>> import torch
    >>> net = NextEventNet(cardinalities=[12], embedding_dims=[8], n_numeric=0,
    ...                    numeric_dim=0, target=0, encoder="gru",
    ...                    hidden_size=16, num_layers=1, dropout=0.0)
    >>> cat = torch.randint(2, 12, (3, 5, 1))
    >>> q = net(cat, torch.zeros(3, 5, 0), torch.tensor([5, 4, 2]))
    >>> net.scores(q[:, -1]).shape
    torch.Size([3, 12])
    """

    def __init__(
        self,
        *,
        cardinalities: Sequence[int],
        embedding_dims: Sequence[int],
        n_numeric: int,
        numeric_dim: int,
        target: int,
        encoder: str,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        num_heads: int = 2,
        tie_weights: bool = True,
        max_positions: int = 512,
    ):
        super().__init__()
        self.target = int(target)
        self.inputs = EventInputs(
            cardinalities=cardinalities,
            embedding_dims=embedding_dims,
            n_numeric=n_numeric,
            numeric_dim=numeric_dim,
        )
        size = self.inputs.output_size
        if encoder == "transformer":
            self.encoder = TransformerEncoder(
                input_size=size, hidden_size=hidden_size, num_layers=num_layers,
                num_heads=num_heads, dropout=dropout, causal=True,
                max_positions=max_positions,
            )
        else:
            self.encoder = RecurrentEncoder(
                input_size=size, hidden_size=hidden_size, num_layers=num_layers,
                bidirectional=False, cell=encoder, dropout=dropout,
            )
        self.input_dropout = nn.Dropout(dropout)
        n_items, dim = int(cardinalities[target]), int(embedding_dims[target])
        self.query = nn.Linear(self.encoder.output_size, dim)
        self.output_embedding = None if tie_weights else nn.Embedding(n_items, dim)
        self.item_bias = nn.Parameter(torch.zeros(n_items))

    def init_parameters(self, generator=None) -> list[nn.Parameter]:
        """Draw every embedding (inputs, output table, positions) with standard
        deviation ``dim ** -0.5`` (so the first scores, dot products with the
        item table, are of order one; padding rows stay zero) and zero the
        item bias; returns the parameters set. The other layers keep torch's
        schemes."""
        tables = [m for m in self.modules() if isinstance(m, nn.Embedding)]
        with torch.no_grad():
            for emb in tables:
                nn.init.normal_(emb.weight, std=emb.embedding_dim**-0.5,
                                generator=generator)
                if emb.padding_idx is not None:
                    emb.weight[emb.padding_idx].fill_(0)
            self.item_bias.zero_()
        return [*(emb.weight for emb in tables), self.item_bias]

    @property
    def item_table(self) -> torch.Tensor:
        """``(n_items, dim)`` embeddings the queries are scored against."""
        if self.output_embedding is not None:
            return self.output_embedding.weight
        return self.inputs.embeddings[self.target].weight

    def forward(self, categorical, numeric, lengths) -> torch.Tensor:
        """Per-step queries ``(batch, T, dim)``; the query at step ``t`` has
        read events ``0..t`` only."""
        lengths = lengths.clamp(min=1)
        x = self.input_dropout(self.inputs(categorical, numeric))
        return self.query(self.encoder(x, lengths))

    def scores(self, queries: torch.Tensor) -> torch.Tensor:
        """Scores ``(..., n_items)`` of every candidate; reserved ids get -inf."""
        s = queries @ self.item_table.T + self.item_bias
        s[..., :N_RESERVED_IDS] = float("-inf")
        return s

    def loss(
        self,
        queries: torch.Tensor,
        targets: torch.Tensor,
        *,
        n_negatives: int | None = None,
        generator: torch.Generator | None = None,
        sampling_probs: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean cross-entropy of the next ids ``targets`` (same leading shape
        as ``queries``; ids below 2 -- padding, unknown, no next event -- are
        ignored).

        With ``n_negatives``, a sampled softmax: the true id against
        ``n_negatives`` ids drawn with replacement (shared by the batch; a
        draw that hits the true id is masked out), cost
        ``O(events x n_negatives)``. The draws are uniform, or follow
        ``sampling_probs`` (``(n_items,)``, e.g. the items' frequencies),
        in which case every negative's logit is corrected by
        ``-log(n_negatives x probability)`` (the "logQ" correction: the sum
        over the draws estimates the full softmax's normalizer, so the loss
        estimates the full cross-entropy rather than under-rating popular
        items).
        """
        keep = targets >= N_RESERVED_IDS
        q, t = queries[keep], targets[keep]
        if not len(t):
            return queries.sum() * 0.0
        if n_negatives is None:
            return F.cross_entropy(self.scores(q), t)
        table, bias = self.item_table, self.item_bias
        if sampling_probs is None:
            neg = torch.randint(
                N_RESERVED_IDS, table.shape[0], (int(n_negatives),),
                generator=generator, device="cpu",
            ).to(q.device)
            log_q = None
        else:
            probs = sampling_probs.detach().float().cpu()
            neg = torch.multinomial(probs, int(n_negatives), replacement=True,
                                    generator=generator).to(q.device)
            log_q = torch.log(probs.to(q.device) * int(n_negatives)).clamp(min=-30)
        pos = (q * table[t]).sum(-1) + bias[t]
        negs = q @ table[neg].T + bias[neg]
        if log_q is not None:  # the true id is always in: no correction
            negs = negs - log_q[neg]
        negs = negs.masked_fill(neg.unsqueeze(0) == t.unsqueeze(1), float("-inf"))
        logits = torch.cat([pos.unsqueeze(1), negs], dim=1)
        return F.cross_entropy(logits, torch.zeros_like(t))
