"""Synthetic behaviour data for examples and tests."""

from ._event_log import make_event_log

__all__ = ["make_event_log"]
