"""The sequence network behind the estimators (pure torch, no scikit-learn).

``SequenceNet`` = :class:`EventInputs` -> encoder (:class:`RecurrentEncoder`
or :class:`TransformerEncoder`) ->
:class:`SequencePooling` -> dropout -> linear head, with two optional skip
paths that expose *which* events a sequence holds straight to the head: a
pooled bag of the input vectors (concatenated with the encoder's pooled
output) and :class:`WideEvents` (one weight per id, added to the outputs).
Padding never changes a prediction: right padding, each sequence read at its
true last step, masked pooling, a per-sequence reversal for the backward
direction and masked (or causal) attention.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._inputs import EventInputs
from ._pooling import SequencePooling
from ._recurrent import RecurrentEncoder
from ._transformer import TransformerEncoder
from ._wide import WideEvents

__all__ = ["ENCODERS", "SequenceNet"]

#: the encoders of SequenceNet
ENCODERS = ("recurrent", "transformer")


def _make_encoder(encoder: str, input_size: int, settings: dict) -> nn.Module:
    """The encoder named ``encoder`` with the (shared and own) ``settings``
    of :class:`SequenceNet`."""
    shared = {
        "input_size": input_size,
        "hidden_size": settings["hidden_size"],
        "num_layers": settings["num_layers"],
        "dropout": settings["dropout"],
    }
    if encoder == "recurrent":
        return RecurrentEncoder(
            **shared, bidirectional=settings["bidirectional"], cell=settings["cell"]
        )
    if encoder == "transformer":
        return TransformerEncoder(
            **shared,
            num_heads=settings["num_heads"],
            causal=settings["causal"],
            max_positions=settings["max_positions"],
            attention_dropout=settings["attention_dropout"],
        )
    raise ValueError(f"encoder must be one of {ENCODERS}; got {encoder!r}.")


class SequenceNet(nn.Module):
    """Embeddings + numeric projection -> LSTM/GRU or self-attention ->
    pooling -> linear head.

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
        Encoder settings; ``bidirectional`` and ``cell`` ("lstm" or "gru")
        are those of the recurrent encoder (defaults False and "lstm");
        ``hidden_size`` is the Transformer's model width.
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
        summed over the events / sqrt(length); see ``wide_counts``) to the
        outputs: a logistic regression on the bag of ids inside the
        network. Without categorical channels there is no wide path.
    wide_l2 : float, default=0.0
        L2 penalty of the wide weights (see :class:`WideEvents`).
    wide_ngrams : int, default=1
        The wide path also weighs runs of 2 to ``wide_ngrams`` consecutive ids
        (hashed n-grams / k-mers); 1: single ids only.
    wide_ngram_channels : sequence of int or None, default=None
        The categorical channels whose n-grams the wide path weighs (None:
        all of them).
    input_dropout : float, default=0.0
        Dropout on the per-event input vectors (embedding dropout), in
        training only.
    wide_numeric : bool, default=False
        The wide path also weighs the numeric channels' summaries (mean,
        std, min, max, last and the log length; see
        :func:`~seqestimators.nn.numeric_summaries`).
    wide_counts : {"linear", "log1p"}, default="linear"
        How the wide path enters an id's (or n-gram's) count c in a
        sequence: c, or ``log1p(c)`` (the estimators' choice; "linear" is
        the default here so that networks described before it existed
        rebuild unchanged).
    encoder : {"recurrent", "transformer"}, default="recurrent"
        :class:`RecurrentEncoder` or
        :class:`TransformerEncoder` (pre-norm
        self-attention, learned positions counted from each sequence's end).
    num_heads : int, default=4
        Attention heads (Transformer only); a divisor of ``hidden_size``.
    causal : bool, default=False
        Each step attends only to earlier steps (Transformer only).
    max_positions : int, default=512
        Learned positions of the Transformer; older events share the oldest.
    attention_dropout : float, default=0.0
        Dropout on the attention weights (Transformer only; above 0 the CPU
        runs a slower attention kernel with memory quadratic in the length).

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

    With the Transformer encoder (same inputs, pooling, head and skip paths):

    >>> net = SequenceNet(cardinalities=[6], embedding_dims=[4], n_numeric=0,
    ...                   numeric_dim=0, hidden_size=8, num_layers=1,
    ...                   dropout=0.0, pooling="last+mean", n_outputs=3,
    ...                   encoder="transformer", num_heads=2)
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
        bidirectional: bool = False,
        cell: str = "lstm",
        dropout: float,
        pooling: str | Sequence[str],
        n_outputs: int,
        bag: str | Sequence[str] | None = None,
        wide: bool = False,
        wide_l2: float = 0.0,
        wide_ngrams: int = 1,
        wide_ngram_channels: Sequence[int] | None = None,
        input_dropout: float = 0.0,
        wide_numeric: bool = False,
        wide_counts: str = "linear",
        encoder: str = "recurrent",
        num_heads: int = 4,
        causal: bool = False,
        max_positions: int = 512,
        attention_dropout: float = 0.0,
    ):
        super().__init__()
        self.inputs = EventInputs(
            cardinalities=cardinalities,
            embedding_dims=embedding_dims,
            n_numeric=n_numeric,
            numeric_dim=numeric_dim,
        )
        self.encoder = _make_encoder(
            encoder,
            self.inputs.output_size,
            {
                "hidden_size": hidden_size,
                "num_layers": num_layers,
                "dropout": dropout,
                "bidirectional": bidirectional,
                "cell": cell,
                "num_heads": num_heads,
                "causal": causal,
                "max_positions": max_positions,
                "attention_dropout": attention_dropout,
            },
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
        n_wide_numeric = n_numeric if wide_numeric else 0
        if wide and (len(cardinalities) or n_wide_numeric):
            self.wide = WideEvents(
                cardinalities, n_outputs, l2=wide_l2, ngrams=wide_ngrams,
                ngram_channels=wide_ngram_channels,
                n_numeric=n_wide_numeric, counts=wide_counts,
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
        if self.training:
            out = self.head(self.head_dropout(z))
        else:
            # float32 matrix products round differently for one row than
            # for many (matrix-vector vs matrix-matrix kernels): in float64,
            # rounded back, a sequence predicts the same in any batch
            w, b = self.head.weight, self.head.bias
            out = F.linear(z.double(), w.double(), b.double()).to(z.dtype)
        if self.wide is not None:
            out = out + self.wide(categorical, lengths, numeric)
        return out

    def linear_output(self, categorical, numeric, lengths) -> torch.Tensor:
        """The output of the linear part alone: the wide path plus the
        head's bias (what :func:`fit_linear_start` fits)."""
        out = self.head.bias.expand(len(lengths), -1)
        if self.wide is not None:
            out = out + self.wide(categorical, lengths, numeric)
        return out
