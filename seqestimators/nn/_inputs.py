"""Per-event input vectors: categorical embeddings and a numeric projection."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["EventInputs"]


class EventInputs(nn.Module):
    """Concatenate one embedding per categorical channel and a linear
    projection of the numeric channels into one vector per event.

    Parameters
    ----------
    cardinalities : sequence of int
        Number of ids of each categorical channel (id 0 is padding: its
        embedding is zero and receives no gradient).
    embedding_dims : sequence of int
        Embedding size of each categorical channel.
    n_numeric : int
        Number of numeric channels.
    numeric_dim : int
        Size of the linear projection of the numeric channels.

    Examples
    --------
    >>> import torch
    >>> inputs = EventInputs(cardinalities=[5], embedding_dims=[3], n_numeric=2,
    ...                      numeric_dim=4)
    >>> inputs(torch.zeros(2, 7, 1, dtype=torch.long), torch.zeros(2, 7, 2)).shape
    torch.Size([2, 7, 7])
    """

    def __init__(
        self,
        *,
        cardinalities: Sequence[int],
        embedding_dims: Sequence[int],
        n_numeric: int,
        numeric_dim: int,
    ):
        super().__init__()
        self.embeddings = nn.ModuleList(
            nn.Embedding(int(n), int(d), padding_idx=0)
            for n, d in zip(cardinalities, embedding_dims)
        )
        self.numeric_proj = nn.Linear(n_numeric, numeric_dim) if n_numeric else None
        self.output_size = sum(int(d) for d in embedding_dims) + (
            numeric_dim if n_numeric else 0
        )
        if self.output_size == 0:
            raise ValueError("SequenceNet needs at least one input channel.")

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        parts = [emb(categorical[..., i]) for i, emb in enumerate(self.embeddings)]
        if self.numeric_proj is not None:
            parts.append(self.numeric_proj(numeric))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)
