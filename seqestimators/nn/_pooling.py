"""Masked pooling of per-step outputs into one vector per sequence."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["POOLINGS", "SequencePooling", "padding_mask", "parse_pooling"]

#: the pooling names every encoder accepts
POOLINGS = ("last", "mean", "max", "attention")


def parse_pooling(pooling: str | Sequence[str]) -> tuple[str, ...]:
    """The pooling names of ``pooling``: one name, names joined by "+"
    (``"last+mean+max"``) or a sequence of names.

    Parameters
    ----------
    pooling : str or sequence of str
        Names among ``POOLINGS``, each at most once.

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        If a name is unknown or repeated, or no name is given.

    Examples
    --------
    >>> parse_pooling("last+max")
    ('last', 'max')
    """
    names = pooling.split("+") if isinstance(pooling, str) else list(pooling)
    names = tuple(str(n).strip() for n in names)
    bad = [n for n in names if n not in POOLINGS]
    if not names or bad or len(set(names)) != len(names):
        raise ValueError(
            f"pooling must be one of {POOLINGS}, or several of them without "
            f"repetition joined by '+' (e.g. 'last+mean+max') or given as a "
            f"tuple; got {pooling!r}."
        )
    return names


def padding_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """``(batch, T)`` boolean mask, True at the real (non-padding) steps.

    Parameters
    ----------
    lengths : torch.Tensor of shape (batch,)
        True length of each right-padded sequence.
    T : int
        Padded length of the batch.

    Returns
    -------
    torch.Tensor of shape (batch, T), dtype bool

    Examples
    --------
    >>> import torch
    >>> padding_mask(torch.tensor([2, 0]), 3).tolist()
    [[True, True, False], [False, False, False]]
    """
    steps = torch.arange(T, device=lengths.device).unsqueeze(0)
    return steps < lengths.unsqueeze(1)


class SequencePooling(nn.Module):
    """Pool ``(batch, T, size)`` outputs of right-padded sequences.

    Parameters
    ----------
    pooling : {"last", "mean", "max", "attention"} or several of them
        ``last`` reads each sequence at its true last step; ``mean``/``max``
        reduce over the real steps only; ``attention`` learns a softmax weight
        per step (padding gets weight 0). Several names, joined by "+"
        (``"last+mean+max"``) or as a tuple, concatenate those views in that
        order: the output is then ``len(names) * size`` wide.
    size : int
        Feature size of the outputs.
    backward_from : int, default=None
        For a bidirectional recurrence, the feature index where the backward
        direction starts: ``last`` then takes the forward half at the last
        step and the backward half at the first step (where the backward
        direction has read the whole sequence).

    Attributes
    ----------
    names : tuple of str
        The pooling views, in output order.
    output_size : int
        Width of the pooled vector.

    Examples
    --------
    >>> import torch
    >>> pool = SequencePooling("mean", 2)
    >>> out = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]])
    >>> pool(out, torch.tensor([2])).tolist()
    [[2.0, 3.0]]
    >>> SequencePooling("last+max", 2)(out, torch.tensor([2])).tolist()
    [[3.0, 4.0, 3.0, 4.0]]
    """

    def __init__(
        self,
        pooling: str | Sequence[str],
        size: int,
        *,
        backward_from: int | None = None,
    ):
        super().__init__()
        self.names = parse_pooling(pooling)
        # one name keeps the plain string (and the original behaviour)
        self.pooling = self.names[0] if len(self.names) == 1 else self.names
        self.backward_from = backward_from
        self.output_size = len(self.names) * int(size)
        self.attention = nn.Linear(size, 1) if "attention" in self.names else None

    def forward(self, out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = None if self.names == ("last",) else padding_mask(lengths, out.shape[1])
        views = [self._pool(name, out, lengths, mask) for name in self.names]
        return views[0] if len(views) == 1 else torch.cat(views, dim=-1)

    def _pool(self, name, out, lengths, mask) -> torch.Tensor:
        if name == "last":
            rows = torch.arange(out.shape[0], device=out.device)
            last = out[rows, lengths - 1]
            h = self.backward_from
            if h is None:
                return last
            return torch.cat([last[:, :h], out[:, 0, h:]], dim=-1)
        if name == "mean":
            m = mask.unsqueeze(-1).to(out.dtype)
            return (out * m).sum(1) / lengths.unsqueeze(1).to(out.dtype)
        if name == "max":
            return out.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
        scores = self.attention(out).squeeze(-1).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1).unsqueeze(-1)
        return (out * weights).sum(1)
