"""Several independently initialized networks trained side by side.

:class:`SequenceEnsemble` holds ``n_members`` copies of :class:`SequenceNet`
(each initialized from its own part of the random stream). In training mode
its forward pass returns every member's output, shape
``(n_members, batch, n_outputs)``, so that each member is fitted on its own
loss; in evaluation mode it returns the members' combined output, shape
``(batch, n_outputs)``, in the same form as one member's output (logits,
log-rates or values), so that a loss, a validation score or a prediction
reads it as if it came from one network.

Averaging the predictions of a few networks that differ only in their
initialization is the classic defence against the seed-to-seed variance and
the overfitting of small data: the members make different errors, the
average makes fewer.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._model import SequenceNet

__all__ = ["COMBINE", "SequenceEnsemble", "combine_outputs", "network_class"]

#: how members' outputs are combined, by the kind of output
COMBINE = ("mean", "mean_exp", "mean_proba")


def combine_outputs(outputs: torch.Tensor, combine: str) -> torch.Tensor:
    """Combine member outputs ``(n_members, batch, n_outputs)`` into one.

    Parameters
    ----------
    outputs : torch.Tensor of shape (n_members, batch, n_outputs)
        One output per member.
    combine : {"mean", "mean_exp", "mean_proba"}
        ``"mean"``: the mean output (regression values); ``"mean_exp"``: the
        log of the mean of ``exp(output)`` (log-rates: the mean rate);
        ``"mean_proba"``: the log of the mean softmax probability (logits:
        the mean class probabilities, as normalized log-probabilities).

    Returns
    -------
    torch.Tensor of shape (batch, n_outputs)

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[[0.0, 2.0]], [[2.0, 0.0]]])
    >>> combine_outputs(logits, "mean_proba").exp()
    tensor([[0.5000, 0.5000]])
    >>> combine_outputs(torch.log(torch.tensor([[[1.0]], [[3.0]]])), "mean_exp").exp()
    tensor([[2.]])
    """
    if combine == "mean":
        return outputs.mean(dim=0)
    log_k = math.log(outputs.shape[0])
    if combine == "mean_exp":
        return torch.logsumexp(outputs, dim=0) - log_k
    if combine == "mean_proba":
        return torch.logsumexp(torch.log_softmax(outputs, dim=-1), dim=0) - log_k
    raise ValueError(f"combine must be one of {COMBINE}, got {combine!r}.")


class SequenceEnsemble(nn.Module):
    """``n_members`` :class:`SequenceNet` s, fitted side by side, combined.

    Parameters
    ----------
    n_members : int
        Number of networks (2 or more).
    combine : {"mean", "mean_exp", "mean_proba"}
        How the members' outputs are combined in evaluation mode (see
        :func:`combine_outputs`).
    **kwargs
        The keyword arguments of every member's :class:`SequenceNet`.
        ``wide_l2`` applies to each member as if it were fitted alone.

    Notes
    -----
    In training mode the output is ``(n_members, batch, n_outputs)``: the
    loss of the ensemble is the *sum* of the members' losses, which gives
    each member exactly the gradient of its own fit (Adam, weight decay and
    the wide path's L2 act per member as they would alone).

    Examples
    --------
    >>> import torch
    >>> net = SequenceEnsemble(n_members=3, combine="mean_proba",
    ...                        cardinalities=[6], embedding_dims=[4],
    ...                        n_numeric=0, numeric_dim=0, hidden_size=8,
    ...                        num_layers=1, bidirectional=False, cell="lstm",
    ...                        dropout=0.0, pooling="last", n_outputs=2)
    >>> cat = torch.randint(1, 6, (4, 5, 1))
    >>> lengths = torch.tensor([5, 3, 2, 1])
    >>> net.train()(cat, torch.zeros(4, 5, 0), lengths).shape
    torch.Size([3, 4, 2])
    >>> net.eval()(cat, torch.zeros(4, 5, 0), lengths).shape
    torch.Size([4, 2])
    """

    def __init__(self, *, n_members: int, combine: str, **kwargs):
        super().__init__()
        if int(n_members) < 2:
            raise ValueError(f"n_members must be >= 2, got {n_members!r}.")
        if combine not in COMBINE:
            raise ValueError(f"combine must be one of {COMBINE}, got {combine!r}.")
        self.n_members = int(n_members)
        self.combine = combine
        self.members = nn.ModuleList(
            SequenceNet(**kwargs) for _ in range(self.n_members)
        )

    def member_outputs(self, categorical, numeric, lengths) -> torch.Tensor:
        """Every member's output, ``(n_members, batch, n_outputs)``."""
        return torch.stack(
            [m(categorical, numeric, lengths) for m in self.members], dim=0
        )

    def forward(self, categorical, numeric, lengths) -> torch.Tensor:
        outputs = self.member_outputs(categorical, numeric, lengths)
        if self.training:
            return outputs
        return combine_outputs(outputs, self.combine)

    def embed(self, categorical, numeric, lengths) -> torch.Tensor:
        """The members' pooled representations, concatenated ``(batch, size)``."""
        return torch.cat(
            [m.embed(categorical, numeric, lengths) for m in self.members], dim=-1
        )


def network_class(kwargs: dict) -> type[nn.Module]:
    """The network that ``kwargs`` describe: :class:`SequenceEnsemble` when
    they hold ``n_members``, else :class:`SequenceNet`.

    Parameters
    ----------
    kwargs : dict
        The network's keyword arguments.

    Returns
    -------
    type

    Examples
    --------
    >>> network_class({"n_members": 3}).__name__
    'SequenceEnsemble'
    >>> network_class({}).__name__
    'SequenceNet'
    """
    return SequenceEnsemble if "n_members" in kwargs else SequenceNet
