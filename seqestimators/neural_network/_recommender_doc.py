"""The numpydoc text of the two recommenders, written once: the shared
parameter entries of the LSTM estimators where the meaning is the same
(``_docstrings``), the recommender's own entries, and the per-class ones."""

from __future__ import annotations

import textwrap

from ._docstrings import _PARAMETERS

__all__ = ["recommender_doc"]

_HEAD = """\
target : str, int or None, default=None
    The channel whose next value is predicted (e.g. ``"item_id"``): a list
    column of a sequence frame, or a categorical channel of vectorized input
    (its name or position; None: the only categorical channel). The other
    channels (event type, time gaps, price...) are inputs.
vectorizer : SequenceVectorizer or None, default=None
    Vectorizes a sequence frame in ``fit`` (a clone is fitted: ``vectorizer_``);
    None means ``SequenceVectorizer()`` with ``target`` kept as categorical.
    Vectorized input (RaggedSequences) is used as is; its ids are then the
    labels (``classes_`` = ``2 .. cardinality - 1``)."""

_ENCODER = {
    "lstm": """\
cell : {"lstm", "gru"}, default="gru"
    Recurrent cell.
hidden_size : int, default=128
    Units of each recurrent layer.
num_layers : int, default=1
    Stacked recurrent layers.""",
    "transformer": """\
hidden_size : int, default=64
    Model width; a multiple of ``num_heads``.
num_layers : int, default=2
    Self-attention blocks.
num_heads : int, default=2
    Attention heads per block.
max_positions : int, default=200
    Learned positions, counted from the end of each sequence. Training cuts
    sequences into windows of this many events; prediction reads the last
    ``max_positions`` events of each history (``exclude_seen`` uses all).""",
}

_TAIL = """\
embedding_dim : int or "auto", default="auto"
    Embedding size of every categorical channel; "auto" uses
    ``round(1.6 * n_ids ** 0.56)`` clipped to [4, 64] per channel. The target
    channel's size is that of the item vectors.
dropout : float, default=0.1
    Dropout on the inputs and inside the encoder.
tie_weights : bool, default=True
    Score candidates with the target's input embedding (one table per item,
    ``item_embeddings_``); False learns a separate output table.
loss : {"auto", "full", "sampled"}, default="auto"
    "full": softmax cross-entropy over the whole catalogue; batches are cut
    so that ``events x items`` stays below 2**25 floats. "sampled": the true
    item against ``n_negatives`` negatives shared by the batch, drawn in
    proportion to the items' training frequency with the logQ correction
    (for catalogues too large for the full softmax). "auto": full up to
    20,000 items, sampled above. The validation loss of early stopping is
    the full softmax up to 20,000 items.
n_negatives : int, default=256
    Negatives per batch of the sampled softmax.
lr
optimizer
weight_decay
batch_size : int, default=64
    Sequences (training windows) per batch, fewer where the event cap of the
    loss or the encoder is reached.
max_epochs : int, default=10
    Maximum passes over the training data.
early_stopping : bool, default=True
    Hold out ``validation_fraction`` of the sequences, stop when their
    next-event loss has not improved by ``tol`` for ``n_iter_no_change``
    epochs, and restore the best weights.
validation_fraction
n_iter_no_change : int, default=3
    Patience of early stopping, in epochs.
tol
clip_grad_norm
k : int, default=10
    Cut-off of :meth:`score` (hit rate at ``k``).
exclude_seen : bool, default=True
    Whether :meth:`score` leaves each history's own items out of its ranking
    (False where users repeat items: re-purchases, funnels of one item).
priors : {"auto"} or None, default="auto"
    Count priors added to the network's scores of every candidate: how often
    it directly followed the sequence's last item in the fitted sequences
    (item-to-item transitions) and how often the sequence itself holds it
    (repeats). "auto": each term's weight (0 turns it off) and a smoothing
    are chosen after training by the NDCG@``k`` of the validation
    sequences' next items at their last 20 steps, ranked over the whole
    catalogue with ``exclude_seen`` (without early stopping: of the training
    sequences', each predicted transition left out of the counts); a term
    is kept only when it beats the network alone by more than one standard
    error.
    None: the network alone.
device
n_threads
random_state
verbose"""

_ATTRIBUTES = """\
classes_ : ndarray of shape (n_items,)
    The target values that can be predicted (original labels), aligned with
    the rows of ``item_embeddings_``.
item_embeddings_ : ndarray of shape (n_items, dim)
    The item vectors the next-event scores are dot products with.
vectorizer_ : SequenceVectorizer or None
    The fitted vectorizer (None when fitted on vectorized input).
target_index_ : int
    Position of the target among the categorical channels.
net_ : skorch.NeuralNet
    The trained skorch net; ``net_.module_`` is the
    :class:`~seqestimators.nn.NextEventNet`.
history_ : pandas.DataFrame
    One row per epoch: ``epoch``, ``train_loss``, ``valid_loss`` (next-event
    cross-entropy; NaN without early stopping), ``dur`` (seconds) and
    ``best`` (True on ``best_epoch_``). Plot it with
    :func:`~seqestimators.plot_training_history`; skorch's own record is
    ``net_.history``.
n_iter_ : int
    Epochs trained.
loss_curve_ : list of float
    Training loss per epoch.
validation_loss_curve_ : list of float or None
    Validation loss per epoch (None without early stopping).
best_epoch_ : int
    Epoch (1-based) whose weights were kept.
prior_weights_ : dict
    The count priors' weights ``{"transition": w_t, "repeat": w_r,
    "smoothing": a}``: the score of item ``j`` after a sequence is the
    network's plus ``w_t * log1p(c / a) + w_r * log1p(n / a)``, ``c`` the
    transitions from the last item to ``j`` counted in fit and ``n`` the
    occurrences of ``j`` in the sequence. All 0 with ``priors=None`` or when
    no prior helped.
best_loss_ : float
    Lowest validation loss (training loss without early stopping).
stop_reason_ : str
    "completed", "early_stopping", "non_finite_loss" or "interrupted".
input_signature_ : dict
    Channels and cardinalities of the vectorized training input.
device_ : str
    Device used."""

_EXAMPLE = """\
>>> from seqestimators import {name}, leave_last_out, to_sequences
>>> from seqestimators.datasets import make_event_log
>>> events, _ = make_event_log(200, random_state=0)
>>> X = to_sequences(events[["user_id", "timestamp", "event_type", "item_id"]])
>>> history, y = leave_last_out(X, "item_id")
>>> rec = {name}(target="item_id", hidden_size=16,
...     max_epochs=2, random_state=0).fit(history)
>>> rec.predict_topk(history.iloc[:3], k=5).shape
(3, 5)
>>> rec.item_embeddings_.shape[0] == len(rec.classes_)
True
>>> 0 <= rec.score(history, y) <= 1
True"""

_NAMES = {"lstm": "LSTMSequenceRecommender",
          "transformer": "TransformerSequenceRecommender"}


def _parameters(encoder: str) -> str:
    lines = []
    for line in _TAIL.split("\n"):
        if line in _PARAMETERS:  # a bare name: the shared entry
            lines.append(_PARAMETERS[line])
        else:
            lines.append(line)
    return "\n".join([_HEAD, _ENCODER[encoder], *lines])


def recommender_doc(encoder: str):
    """Class decorator: fill ``{doc}`` with Parameters, Attributes, See Also
    and Examples for the ``encoder`` ("lstm" or "transformer")."""
    name = _NAMES[encoder]
    other = _NAMES["transformer" if encoder == "lstm" else "lstm"]
    text = "\n".join([
        "Parameters", "----------", _parameters(encoder), "",
        "Attributes", "----------", _ATTRIBUTES, "",
        "See Also", "--------",
        f"{other} : The same task with the other encoder.",
        "seqestimators.metrics.make_next_item_scorer : Scorer for model selection.",
        "", "Examples", "--------", _EXAMPLE.replace("{name}", name),
    ])
    body = textwrap.indent(text, "    ").lstrip()

    def decorate(cls):
        cls.__doc__ = cls.__doc__.replace("{doc}", body)
        return cls

    return decorate
