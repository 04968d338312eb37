"""A self-attention encoder for right-padded event sequences (pure torch).

Pre-norm blocks (``x + attn(LN(x))``, ``x + ffn(LN(x))``) over
:func:`torch.nn.functional.scaled_dot_product_attention`, causal or
bidirectional. Positions are learned and counted from the *end* of each
sequence (the most recent event is position 0): behaviour is read from its
recent end and right padding never shifts a real event's position. Time
features (gaps, recency, calendar) come from the vectorizer as numeric input
channels.

Padding: a bidirectional encoder masks the padded keys; a causal one needs no
mask at all (a real step only looks back, and right padding lies ahead of
every real step), so it runs torch's ``is_causal`` kernels. Padded steps get
finite outputs that the pooling ignores.

Positions beyond the trained ones: a sequence longer than ``max_positions``
shares the oldest position for its oldest events instead of failing, and in
evaluation a sequence longer than every training sequence does the same with
the oldest position *trained* (``trained_positions``, kept with the weights):
an untrained position embedding (random) never reaches a prediction.

Attention dropout (``attention_dropout > 0``) makes torch fall back to the
plain attention kernel on the CPU, which holds the ``T x T`` weights of every
head for the backward pass and is several times slower; without it the CPU
and CUDA kernels need memory linear in ``T``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._pooling import padding_mask

__all__ = ["TransformerEncoder"]


class _Block(nn.Module):
    """One pre-norm Transformer block."""

    def __init__(
        self, d_model: int, num_heads: int, ffn_size: int, dropout: float,
        attention_dropout: float,
    ):
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
        self.attn_dropout = attention_dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """``mask``: the ``(batch, 1, 1, T)`` key mask, or None for causal
        attention."""
        B, T, D = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(D, dim=-1)
        q, k, v = (t.view(B, T, self.num_heads, -1).transpose(1, 2) for t in (q, k, v))
        p = self.attn_dropout if self.training else 0.0
        a = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=p, is_causal=mask is None
        )
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
        Dropout on the input vectors, on each residual branch and (unless
        ``attention_dropout`` is set) on the attention weights.
    causal : bool, default=False
        Each step attends only to itself and earlier steps (what a
        next-event model needs at every position); otherwise every real step
        attends to every real step.
    max_positions : int, default=512
        Number of learned positions, counted from each sequence's end; older
        events share the oldest one.
    ffn_factor : int, default=4
        Width of the feed-forward layer per unit of ``hidden_size``.
    attention_dropout : float, default=None
        Dropout on the attention weights; None: ``dropout``. Above 0 the CPU
        runs the slow, quadratic-memory attention kernel (module docstring).

    Attributes
    ----------
    trained_positions : torch.Tensor
        Buffer (saved with the weights): the most positions any training
        sequence used, 0 before training. In evaluation, positions beyond it
        reuse the oldest trained one.

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
        attention_dropout: float | None = None,
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
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        self.input_proj = nn.Linear(input_size, hidden_size)
        self.positions = nn.Embedding(self.max_positions, hidden_size)
        self.register_buffer("trained_positions", torch.zeros((), dtype=torch.long))
        self.input_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            _Block(
                hidden_size, num_heads, ffn_factor * hidden_size, dropout,
                float(attention_dropout),
            )
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(hidden_size)

    def init_parameters(self, generator=None) -> list[nn.Parameter]:
        """Reset ``trained_positions`` to 0 (the module may have been built
        on the meta device); sets no parameter, so returns ``[]``."""
        with torch.no_grad():
            self.trained_positions.zero_()
        return []

    def attention_mask(self, lengths: torch.Tensor, T: int) -> torch.Tensor | None:
        """Boolean ``(batch, 1, 1, T)`` mask, True at the keys a query may
        attend to; None for causal attention (right padding lies after every
        real step, so the causal kernel alone keeps it out)."""
        if self.causal:
            return None
        return padding_mask(lengths, T)[:, None, None, :]

    def positions_from_end(self, lengths: torch.Tensor, T: int) -> torch.Tensor:
        """``(batch, T)`` position index of every step (0: the last real
        one), capped at the oldest learned position -- in evaluation, at the
        oldest position met in training."""
        steps = torch.arange(T, device=lengths.device).unsqueeze(0)
        from_end = (lengths.unsqueeze(1) - 1 - steps).clamp(min=0)
        if self.training:
            with torch.no_grad():
                longest = lengths.max().clamp(max=self.max_positions)
                self.trained_positions.copy_(
                    torch.maximum(self.trained_positions, longest)
                )
            return from_end.clamp(max=self.max_positions - 1)
        seen = self.trained_positions
        cap = torch.where(seen > 0, seen, self.max_positions) - 1
        return torch.minimum(from_end, cap)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        positions = self.positions(self.positions_from_end(lengths, T))
        h = self.input_dropout(self.input_proj(x) + positions)
        mask = self.attention_mask(lengths, T)
        for block in self.blocks:
            h = block(h, mask)
        return self.norm(h)
