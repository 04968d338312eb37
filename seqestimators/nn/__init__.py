"""Pure-torch building blocks of the sequence models.

Nothing in this package imports scikit-learn or skorch (a test enforces it):
the modules are usable on their own in a hand-written torch loop.
"""

from ._model import SequenceNet, reverse_within_lengths

__all__ = ["SequenceNet", "reverse_within_lengths"]
