"""The sequence network behind the estimators (pure torch, no scikit-learn).

``SequenceNet`` = :class:`EventInputs` -> :class:`RecurrentEncoder` ->
:class:`SequencePooling` -> dropout -> linear head. Padding never changes a
prediction: right padding, each sequence read at its true last step, masked
pooling, and a per-sequence reversal for the backward direction.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._inputs import EventInputs
from ._pooling import SequencePooling
from ._recurrent import RecurrentEncoder

__all__ = ["SequenceNet"]


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

    Examples
    --------
    >>> import torch
    >>> net = SequenceNet(cardinalities=[6], embedding_dims=[4], n_numeric=0,
    ...                   numeric_dim=0, hidden_size=8, num_layers=1,
    ...                   bidirectional=False, cell="lstm", dropout=0.0,
    ...                   pooling="last", n_outputs=3)
    >>> cat = torch.randint(1, 6, (2, 5, 1))
    >>> net(cat, torch.zeros(2, 5, 0), torch.tensor([5, 3])).shape
    torch.Size([2, 3])
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
        self.inputs = EventInputs(
            cardinalities=cardinalities,
            embedding_dims=embedding_dims,
            n_numeric=n_numeric,
            numeric_dim=numeric_dim,
        )
        self.encoder = RecurrentEncoder(
            input_size=self.inputs.output_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            cell=cell,
            dropout=dropout,
        )
        size = self.encoder.output_size
        self.pool = SequencePooling(
            pooling, size, backward_from=self.encoder.backward_from
        )
        self.head_dropout = nn.Dropout(dropout)
        self.head = nn.Linear(size, n_outputs)

    def encode(self, categorical, numeric, lengths) -> torch.Tensor:
        """Per-step outputs ``(batch, T, size)`` of the encoder."""
        return self.encoder(self.inputs(categorical, numeric), lengths)

    def embed(self, categorical, numeric, lengths) -> torch.Tensor:
        """The pooled representation ``(batch, size)`` of each sequence."""
        # An empty sequence is read as one padding step: every empty sequence
        # gets the same, well-defined output.
        lengths = lengths.clamp(min=1)
        return self.pool(self.encode(categorical, numeric, lengths), lengths)

    def forward(self, categorical, numeric, lengths) -> torch.Tensor:
        return self.head(self.head_dropout(self.embed(categorical, numeric, lengths)))
