"""The sequence network behind the estimators (pure torch, no scikit-learn).

``SequenceNet`` = :class:`EventInputs` -> :class:`RecurrentEncoder` ->
:class:`SequencePooling` -> dropout -> linear head, with two optional skip
paths that expose *which* events a sequence holds straight to the head: a
pooled bag of the input vectors (concatenated with the encoder's pooled
output) and :class:`WideEvents` (one weight per id, added to the outputs).
Padding never changes a prediction: right padding, each sequence read at its
true last step, masked pooling, and a per-sequence reversal for the backward
direction.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._inputs import EventInputs
from ._pooling import SequencePooling
from ._recurrent import RecurrentEncoder
from ._wide import WideEvents

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
    pooling : {"last", "mean", "max", "attention"} or several of them
        How the per-step outputs become one vector per sequence; several
        names ("last+mean+max" or a tuple) concatenate those views.
    n_outputs : int
        Size of the output layer (logits or regression outputs).
    bag : str, tuple of str or None, default=None
        Pooling of the *input* vectors (embeddings and numeric projection,
        before the recurrence), e.g. "mean": concatenated with the pooled
        encoder output before the head, a bag-of-events skip path. None (no
        bag) is the plain network.
    wide : bool, default=False
        Add :class:`WideEvents` (one weight per categorical id and output,
        summed over the events / sqrt(length)) to the outputs: a logistic
        regression on the bag of ids inside the network. Without categorical
        channels there is no wide path.
    wide_l2 : float, default=0.0
        L2 penalty of the wide weights (see :class:`WideEvents`).
    wide_ngrams : int, default=1
        The wide path also weighs runs of 2 to ``wide_ngrams`` consecutive ids
        (hashed n-grams / k-mers); 1: single ids only.
    input_dropout : float, default=0.0
        Dropout on the per-event input vectors (embedding dropout), in
        training only.

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

    With combined pooling views and both skip paths:

    >>> net = SequenceNet(cardinalities=[6], embedding_dims=[4], n_numeric=0,
    ...                   numeric_dim=0, hidden_size=8, num_layers=1,
    ...                   bidirectional=False, cell="lstm", dropout=0.1,
    ...                   pooling="last+mean+max", n_outputs=3, bag="mean+max",
    ...                   wide=True, wide_l2=1e-3)
    >>> net.head.in_features  # 3 views of 8 + 2 views of the 4-wide inputs
    32
    >>> net.eval()(cat, torch.zeros(2, 5, 0), torch.tensor([5, 3])).shape
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
        pooling: str | Sequence[str],
        n_outputs: int,
        bag: str | Sequence[str] | None = None,
        wide: bool = False,
        wide_l2: float = 0.0,
        wide_ngrams: int = 1,
        input_dropout: float = 0.0,
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
        self.pool = SequencePooling(
            pooling, self.encoder.output_size, backward_from=self.encoder.backward_from
        )
        size = self.pool.output_size
        self.input_dropout = nn.Dropout(input_dropout)
        self.bag = None
        if bag is not None:
            self.bag = SequencePooling(bag, self.inputs.output_size)
            size += self.bag.output_size
        self.wide = None
        if wide and len(cardinalities):
            self.wide = WideEvents(
                cardinalities, n_outputs, l2=wide_l2, ngrams=wide_ngrams
            )
        self.head_dropout = nn.Dropout(dropout)
        self.head = nn.Linear(size, n_outputs)

    def encode(self, categorical, numeric, lengths) -> torch.Tensor:
        """Per-step outputs ``(batch, T, size)`` of the encoder."""
        x = self.input_dropout(self.inputs(categorical, numeric))
        return self.encoder(x, lengths)

    def embed(self, categorical, numeric, lengths) -> torch.Tensor:
        """The pooled representation ``(batch, size)`` of each sequence (with
        the pooled bag of inputs after it, if ``bag`` is set)."""
        # An empty sequence is read as one padding step: every empty sequence
        # gets the same, well-defined output.
        lengths = lengths.clamp(min=1)
        x = self.input_dropout(self.inputs(categorical, numeric))
        pooled = self.pool(self.encoder(x, lengths), lengths)
        if self.bag is None:
            return pooled
        return torch.cat([pooled, self.bag(x, lengths)], dim=-1)

    def forward(self, categorical, numeric, lengths) -> torch.Tensor:
        z = self.embed(categorical, numeric, lengths)
        out = self.head(self.head_dropout(z))
        if self.wide is not None:
            out = out + self.wide(categorical, lengths)
        return out
