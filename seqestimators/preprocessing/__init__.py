"""Turning sequence frames into model input: :class:`SequenceVectorizer`."""

from ._vectorizer import SequenceVectorizer

__all__ = ["SequenceVectorizer"]
