"""The event-log data layer: sequence frames, ragged model input, labels.

Everything here works on pandas frames and flat Arrow/numpy arrays, without
torch: ``import seqestimators.data`` is cheap.
"""

from ._labels import make_window_labels
from ._leave_last_out import leave_last_out
from ._next_event import make_next_event_samples
from ._out_of_core import SequencePartitions, load_ragged, sequences_from_parquet
from ._ragged import RaggedSequences
from ._sequences import to_sequences
from ._sessions import split_sessions

__all__ = [
    "RaggedSequences",
    "SequencePartitions",
    "leave_last_out",
    "load_ragged",
    "make_next_event_samples",
    "make_window_labels",
    "sequences_from_parquet",
    "split_sessions",
    "to_sequences",
]
