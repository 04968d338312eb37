"""A self-attention encoder for right-padded event sequences (pure torch).

Pre-norm blocks (``x + attn(LN(x))``, ``x + ffn(LN(x))``) over
:func:`torch.nn.functional.scaled_dot_product_attention` with a padding mask,
causal or bidirectional. Positions are learned and counted from the *end* of
each sequence (the most recent event is position 0): behaviour is read from
its recent end, right padding never shifts a real event's position, and a
sequence longer than ``max_positions`` shares the oldest position for its
oldest events instead of failing. Time features (gaps, recency, calendar)
come from the vectorizer as numeric input channels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._pooling import padding_mask

__all__ = ["TransformerEncoder"]


class _Block(nn.Module):
    """One pre-norm Transformer block."""

    def __init__(self, d_model: int, num_heads: int, ffn_size: int, dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.norm1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(
            nn.Linear(d_model, ffn_size), nn.GELU(), nn.Linear(ffn_size, d_model)
        )
        self.dropout = nn.Dropout(dropout)
        self.attn_dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(D, dim=-1)
        q, k, v = (t.view(B, T, self.num_heads, -1).transpose(1, 2) for t in (q, k, v))
        p = self.attn_dropout if self.training else 0.0
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        x = x + self.dropout(self.out(a.transpose(1, 2).reshape(B, T, D)))
        return x + self.dropout(self.ffn(self.norm2(x)))


class TransformerEncoder(nn.Module):
    """Self-attention layers over right-padded batches, per-step outputs.

    Parameters
    ----------
    input_size : int
        Size of the per-event input vectors.
    hidden_size : int
        Model width (``d_model``); a multiple of ``num_heads``.
    num_layers : int
        Number of blocks.
    num_heads : int
        Attention heads per block.
    dropout : float
        Dropout on attention weights and on each residual branch.
    causal : bool, default=False
        Each step attends only to itself and earlier steps (what a
        next-event model needs at every position); otherwise every real step
        attends to every real step.
    max_positions : int, default=512
        Number of learned positions, counted from each sequence's end.
    ffn_factor : int, default=4
        Width of the feed-forward layer per unit of ``hidden_size``.

    Examples
    --------
    >>> import torch
    >>> enc = TransformerEncoder(input_size=3, hidden_size=8, num_layers=1,
    ...                          num_heads=2, dropout=0.0)
    >>> enc(torch.zeros(2, 5, 3), torch.tensor([5, 2])).shape
    torch.Size([2, 5, 8])
    """

    backward_from = None

    def __init__(
        self,
        *,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        num_heads: int,
        dropout: float,
        causal: bool = False,
        max_positions: int = 512,
        ffn_factor: int = 4,
    ):
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(
                f"hidden_size={hidden_size} must be a multiple of "
                f"num_heads={num_heads}."
            )
        self.output_size = int(hidden_size)
        self.causal = bool(causal)
        self.max_positions = int(max_positions)
        self.input_proj = nn.Linear(input_size, hidden_size)
        self.positions = nn.Embedding(self.max_positions, hidden_size)
        self.input_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            _Block(hidden_size, num_heads, ffn_factor * hidden_size, dropout)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(hidden_size)

    def attention_mask(self, lengths: torch.Tensor, T: int) -> torch.Tensor:
        """Boolean ``(batch, 1, T, T)`` mask, True where a query may attend."""
        keys = padding_mask(lengths, T)[:, None, None, :]
        if not self.causal:
            return keys
        steps = torch.arange(T, device=lengths.device)
        return keys & (steps[None, :] <= steps[:, None])[None, None]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        steps = torch.arange(T, device=x.device).unsqueeze(0)
        from_end = (lengths.unsqueeze(1) - 1 - steps).clamp(0, self.max_positions - 1)
        h = self.input_dropout(self.input_proj(x) + self.positions(from_end))
        mask = self.attention_mask(lengths, T)
        for block in self.blocks:
            h = block(h, mask)
        return self.norm(h)
