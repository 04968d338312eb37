"""The recurrent encoder (LSTM or GRU, one or both directions).

Padding never reaches a real step: batches are right-padded, and the backward
direction of a bidirectional model runs over each sequence reversed within
its own length. No ``pack_padded_sequence`` on the training path: on the CPU
its backward pass runs step by step and is many times slower than a padded
batch.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["RecurrentEncoder", "reverse_within_lengths"]

_RNN = {"lstm": nn.LSTM, "gru": nn.GRU}


def reverse_within_lengths(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of a right-padded batch within its own length.

    Positions at or beyond a sequence's length stay where they are (they
    remain padding at the end).

    Parameters
    ----------
    x : torch.Tensor of shape (batch, T, features)
        Right-padded batch.
    lengths : torch.Tensor of shape (batch,)
        True length of each sequence.

    Returns
    -------
    torch.Tensor of the shape of ``x``

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[[1.0], [2.0], [0.0]]])
    >>> reverse_within_lengths(x, torch.tensor([2])).flatten().tolist()
    [2.0, 1.0, 0.0]
    """
    T = x.shape[1]
    steps = torch.arange(T, device=x.device).unsqueeze(0)
    last = (lengths - 1).unsqueeze(1)
    index = torch.where(steps <= last, last - steps, steps)
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))


class RecurrentEncoder(nn.Module):
    """LSTM/GRU layers over right-padded batches, per-step outputs.

    Parameters
    ----------
    input_size, hidden_size, num_layers : int
        Sizes of the recurrence.
    bidirectional : bool
        Add a backward direction; outputs are ``2 * hidden_size`` wide, the
        forward half first.
    cell : {"lstm", "gru"}
        The recurrent cell.
    dropout : float
        Dropout between stacked layers.

    Examples
    --------
    >>> import torch
    >>> enc = RecurrentEncoder(input_size=3, hidden_size=4, num_layers=1,
    ...                        bidirectional=True, cell="gru", dropout=0.0)
    >>> enc(torch.zeros(2, 5, 3), torch.tensor([5, 2])).shape
    torch.Size([2, 5, 8])
    """

    def __init__(
        self,
        *,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool,
        cell: str,
        dropout: float,
    ):
        super().__init__()
        rnn_cls = _RNN[cell]
        self.bidirectional = bool(bidirectional)
        self.hidden_size = int(hidden_size)
        self.output_size = self.hidden_size * (2 if self.bidirectional else 1)
        if self.bidirectional:
            # one single-layer RNN per direction and layer
            self.forward_layers = nn.ModuleList()
            self.backward_layers = nn.ModuleList()
            size = input_size
            for _ in range(num_layers):
                for layers in (self.forward_layers, self.backward_layers):
                    layers.append(rnn_cls(size, hidden_size, batch_first=True))
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

    @property
    def backward_from(self) -> int | None:
        """Feature index where the backward direction starts (None: one way)."""
        return self.hidden_size if self.bidirectional else None

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
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
