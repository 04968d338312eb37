"""The recurrent network behind the estimators (pure torch, no scikit-learn).

Padding never changes a prediction: batches are right-padded, the forward
direction is read at each sequence's true last step, pooling is masked, and
the backward direction of a bidirectional model runs over each sequence
reversed within its own length. No ``pack_padded_sequence`` on the training
path: on the CPU its backward pass runs step by step and is many times slower
than a padded batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["SequenceNet", "reverse_within_lengths"]

_RNN = {"lstm": nn.LSTM, "gru": nn.GRU}


def reverse_within_lengths(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of a right-padded batch within its own length.

    ``x`` has shape ``(batch, T, features)``; positions at or beyond a
    sequence's length stay where they are (they remain padding at the end).
    """
    T = x.shape[1]
    steps = torch.arange(T, device=x.device).unsqueeze(0)
    last = (lengths - 1).unsqueeze(1)
    index = torch.where(steps <= last, last - steps, steps)
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))


class SequenceNet(nn.Module):
    """Embeddings + numeric projection -> LSTM/GRU -> pooling -> linear head.

    Parameters
    ----------
    cardinalities : sequence of int
        Number of ids of each categorical channel (id 0 is padding).
    embedding_dims : sequence of int
        Embedding size of each categorical channel.
    n_numeric : int
        Number of numeric channels.
    numeric_dim : int
        Size of the linear projection of the numeric channels.
    hidden_size, num_layers, bidirectional, cell, dropout
        Recurrent layer settings; ``cell`` is "lstm" or "gru".
    pooling : {"last", "mean", "max", "attention"}
        How the per-step outputs become one vector per sequence.
    n_outputs : int
        Size of the output layer (logits or regression outputs).
    """

    def __init__(
        self,
        *,
        cardinalities: Sequence[int],
        embedding_dims: Sequence[int],
        n_numeric: int,
        numeric_dim: int,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool,
        cell: str,
        dropout: float,
        pooling: str,
        n_outputs: int,
    ):
        super().__init__()
        self.embeddings = nn.ModuleList(
            nn.Embedding(int(n), int(d), padding_idx=0)
            for n, d in zip(cardinalities, embedding_dims)
        )
        self.numeric_proj = (
            nn.Linear(n_numeric, numeric_dim) if n_numeric > 0 else None
        )
        input_size = sum(int(d) for d in embedding_dims) + (
            numeric_dim if n_numeric > 0 else 0
        )
        if input_size == 0:
            raise ValueError("SequenceNet needs at least one input channel.")
        rnn_cls = _RNN[cell]
        self.bidirectional = bool(bidirectional)
        self.pooling = pooling
        self.hidden_size = hidden_size
        if self.bidirectional:
            # One single-layer RNN per direction and layer: the backward one
            # runs over sequences reversed within their lengths, so padding
            # never reaches a real step.
            self.forward_layers = nn.ModuleList()
            self.backward_layers = nn.ModuleList()
            size = input_size
            for _ in range(num_layers):
                self.forward_layers.append(rnn_cls(size, hidden_size, batch_first=True))
                self.backward_layers.append(
                    rnn_cls(size, hidden_size, batch_first=True)
                )
                size = 2 * hidden_size
            self.rnn = None
        else:
            self.rnn = rnn_cls(
                input_size,
                hidden_size,
                num_layers=num_layers,
                batch_first=True,
                dropout=dropout if num_layers > 1 else 0.0,
            )
        self.layer_dropout = nn.Dropout(dropout)
        out_size = hidden_size * (2 if self.bidirectional else 1)
        self.attention = nn.Linear(out_size, 1) if pooling == "attention" else None
        self.head_dropout = nn.Dropout(dropout)
        self.head = nn.Linear(out_size, n_outputs)

    def _inputs(self, categorical, numeric) -> torch.Tensor:
        parts = [emb(categorical[..., i]) for i, emb in enumerate(self.embeddings)]
        if self.numeric_proj is not None:
            parts.append(self.numeric_proj(numeric))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def encode(self, categorical, numeric, lengths) -> torch.Tensor:
        """Per-step outputs ``(batch, T, out_size)`` of the recurrent layers."""
        x = self._inputs(categorical, numeric)
        if self.rnn is not None:
            out, _ = self.rnn(x)
            return out
        for i, (fwd, bwd) in enumerate(zip(self.forward_layers, self.backward_layers)):
            if i:
                x = self.layer_dropout(x)
            f, _ = fwd(x)
            b, _ = bwd(reverse_within_lengths(x, lengths))
            x = torch.cat([f, reverse_within_lengths(b, lengths)], dim=-1)
        return x

    def forward(self, categorical, numeric, lengths) -> torch.Tensor:
        # An empty sequence is read as one padding step: every empty sequence
        # gets the same, well-defined output.
        lengths = lengths.clamp(min=1)
        out = self.encode(categorical, numeric, lengths)
        T = out.shape[1]
        mask = torch.arange(T, device=out.device).unsqueeze(0) < lengths.unsqueeze(1)
        if self.pooling == "last":
            rows = torch.arange(out.shape[0], device=out.device)
            last = out[rows, lengths - 1]
            if self.bidirectional:
                h = self.hidden_size
                pooled = torch.cat([last[:, :h], out[:, 0, h:]], dim=-1)
            else:
                pooled = last
        elif self.pooling == "mean":
            m = mask.unsqueeze(-1).to(out.dtype)
            pooled = (out * m).sum(1) / lengths.unsqueeze(1).to(out.dtype)
        elif self.pooling == "max":
            pooled = out.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
        else:  # attention
            scores = self.attention(out).squeeze(-1)
            scores = scores.masked_fill(~mask, float("-inf"))
            weights = torch.softmax(scores, dim=1).unsqueeze(-1)
            pooled = (out * weights).sum(1)
        return self.head(self.head_dropout(pooled))
