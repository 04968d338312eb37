"""The numpydoc text of the parameters and attributes both estimators share,
written once and formatted into their class docstrings (``{name}``
placeholders filled by :func:`fill_doc`, in the style of imbalanced-learn's
``Substitution``)."""

from __future__ import annotations

import textwrap

__all__ = ["fill_doc"]

_PARAMETERS = {
    "hidden_size": """\
hidden_size : int, default=64
    Units of each recurrent layer (per direction).""",
    "num_layers": """\
num_layers : int, default=1
    Stacked recurrent layers.""",
    "bidirectional": """\
bidirectional : bool, default=False
    Also read each sequence backwards (within its own length).""",
    "cell": """\
cell : {"lstm", "gru"}, default="lstm"
    Recurrent cell.""",
    "embedding_dim": """\
embedding_dim : int or "auto", default="auto"
    Embedding size of every categorical channel; "auto" uses
    ``round(1.6 * n_ids ** 0.56)`` clipped to [4, 64] per channel.""",
    "dropout": """\
dropout : float, default=0.1
    Dropout between recurrent layers and before the output layer.""",
    "pooling": """\
pooling : str or tuple of str, default="last+mean+max"
    How per-step outputs become one vector: "last" (the output at the
    true last step), "mean", "max" or "attention" (masked over the real
    steps), or several of them joined by "+" or as a tuple, concatenated.
    The combined default was the clear winner on the real-data suite
    (docs/defaults.md): a single "last" view lost up to 0.28 accuracy.""",
    "bag_pooling": """\
bag_pooling : str, tuple of str or None, default="mean+max"
    A bag-of-events skip path: the per-event input vectors (embeddings and
    numeric projection) pooled this way and concatenated with the
    encoder's output before the head, so the model sees *which* events a
    sequence holds as directly as a bag-of-events model does. None turns
    it off.""",
    "wide": """\
wide : bool, default=True
    Add a generalized linear model to the outputs: one weight per
    categorical id (an id seen c times in a sequence weighs ``log1p(c)``,
    divided by ``sqrt(length)``) and per standardized summary of each
    numeric channel (mean, std, min, max, last value, and the log length).
    It is fitted first, alone and to convergence (L-BFGS, the penalty of
    ``wide_alpha``), then frozen: the network starts as this
    LogisticRegression / PoissonRegressor / ridge model and learns only
    what it misses, and is kept only if it beats the linear model on the
    validation split by more than one standard error
    (else ``best_epoch_ == 0``). Either way the linear model is then
    refitted on every sequence, the validation split included, with the
    penalties chosen; a kept network adds to it what it learned to add.
    The fitted penalty is ``wide_alpha_``.""",
    "wide_alpha": """\
wide_alpha : float or "auto", default="auto"
    L2 penalty of the wide weights, as ``1 / C`` of a LogisticRegression
    on the summed loss (applied as ``wide_alpha / n_train`` on the mean
    loss). "auto": chosen among penalties 1.0 to 1e-4 on the mean loss,
    then refined for each group of weights (each categorical channel, the
    n-grams, the numeric summaries), by 3-fold cross-validation on the
    training sequences up to 2M training events (above, one penalty on
    the early-stopping validation split); last, each group is left out
    (penalty ``inf``, weights 0) unless that makes the held-out loss worse
    by more than one standard error. Without early stopping and above 2M
    events: 1 / n_train.""",
    "wide_ngrams": """\
wide_ngrams : int or "auto", default="auto"
    The wide path also weighs hashed runs of 2 to ``wide_ngrams``
    consecutive ids (k-mers, n-grams) of every categorical channel. "auto":
    when every categorical channel has at most 32 distinct values and the
    median training sequence holds at least 32 events (long token strings
    such as DNA, whose local patterns carry signal), runs of up to the
    largest k for which ``alphabet ** k`` stays within the training
    events, at most 8 (``alphabet``: the exponential of the ids' entropy,
    4 for DNA; 8 on 180,000 bases, 6 on 5,000); single ids otherwise
    (items, products, short funnels). The n-grams' penalty is chosen with
    the rest of the wide path's.""",
    "ensemble_size": """\
ensemble_size : int or "auto", default=1
    Number of networks fitted side by side from different initializations
    (one pass over the data, ``ensemble_size`` times the compute); the
    prediction averages their probabilities (classifier), values or rates
    (regressor). "auto": 5 below 1,000 training sequences, 3 below 5,000,
    else 1. Averaging a few networks removes much of the seed-to-seed
    variance of small data.""",
    "lr": """\
lr : float or "auto", default="auto"
    Learning rate; "auto" is 3e-3 (1e-3 for the regressor's Poisson
    loss).""",
    "optimizer": """\
optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, \
default="adam"
    Optimizer ("sgd" uses momentum 0.9).""",
    "weight_decay": """\
weight_decay : float, default=0.0
    L2 penalty (decoupled for "adamw").""",
    "batch_size": """\
batch_size : int or "auto", default="auto"
    Sequences per batch; "auto" is ``n_train // 16`` clipped to [16, 256].""",
    "max_epochs": """\
max_epochs : int, default=100
    Maximum passes over the training data.""",
    "early_stopping": """\
early_stopping : bool, default=True
    Hold out ``validation_fraction`` of the training data{stratified}, stop
    when the validation loss has not improved by ``tol`` for
    ``n_iter_no_change`` epochs, and restore the best weights.""",
    "validation_fraction": """\
validation_fraction : float, default=0.1
    Share of the training data held out for early stopping.""",
    "n_iter_no_change": """\
n_iter_no_change : int, default=10
    Patience of early stopping, in epochs.""",
    "tol": """\
tol : float, default=1e-4
    Minimum decrease of the validation loss that counts as improvement.""",
    "clip_grad_norm": """\
clip_grad_norm : float or None, default=1.0
    Clip the gradient norm to this value.""",
    "callbacks": """\
callbacks : list of skorch callbacks, default=None
    Extra callbacks (instances or ``(name, callback)`` tuples), copied at
    each fit.""",
    "device": """\
device : {"cpu", "cuda", "auto"} or str, default="cpu"
    Torch device; "auto" picks CUDA when available.""",
    "n_threads": """\
n_threads : int, default=None
    CPU threads torch may use during ``fit`` and ``predict`` (restored
    afterwards); None keeps torch's setting (``torch.get_num_threads()``).
    Use 1 when several fits share the cores (``n_jobs`` in a search,
    parallel tuning workers): oversubscribed torch threads can be 10x
    slower.""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seeds weight initialization, dropout, the validation split and
    shuffling. An int gives identical results on the CPU, also for fits
    running at once in several threads. The global random states of numpy
    and torch are left untouched.""",
    "verbose": """\
verbose : int, default=0
    1 prints a table per epoch (train loss, valid loss, valid score,
    duration); 2 also shows a text progress bar over batches.""",
    "warm_start": """\
warm_start : bool, default=False
    Continue training the fitted network on the next ``fit``. Training
    parameters (``lr``, ``optimizer``, ``weight_decay``, ``batch_size``,
    ``max_epochs``, early stopping, ``clip_grad_norm``, ``callbacks``,
    ``verbose``) take their new values; changing one that defines the
    network (``hidden_size``, ``num_layers``, ``bidirectional``, ``cell``,
    ``embedding_dim``, ``dropout``, ``pooling``, ``bag_pooling``, ``wide``,
    ``wide_ngrams``) raises a ValueError.""",
}

_ATTRIBUTES = {
    "net_": """\
net_ : skorch.NeuralNet
    The trained skorch net; ``net_.module_`` is the torch model.""",
    "history_": """\
history_ : pandas.DataFrame
    One row per epoch: ``epoch``, ``train_loss``, ``valid_loss``,
    ``valid_score`` ({score}), ``dur`` (seconds), any other per-epoch value
    recorded (e.g. ``lr``), and ``best`` (True on ``best_epoch_``). The
    ``valid_*`` columns are always there, NaN for epochs trained without
    validation data. Plot it with
    :func:`~seqestimators.plot_training_history`; skorch's own record is
    ``net_.history``.""",
    "n_iter_": """\
n_iter_ : int
    Epochs trained.""",
    "best_epoch_": """\
best_epoch_ : int
    Epoch (1-based) whose weights were kept; 0 when the network did not
    beat the linear start (``wide=True``) on the validation split by more
    than one standard error of the per-sequence loss differences, and the
    linear model alone was kept (the heads' weights are zero).""",
    "loss_curve_": """\
loss_curve_ : list of float
    Training loss per epoch.""",
    "validation_scores_": """\
validation_scores_ : list of float or None
    Validation {score} per epoch (None without early stopping).""",
    "best_validation_score_": """\
best_validation_score_ : float or None
    Validation {score} at ``best_epoch_``.""",
    "best_loss_": """\
best_loss_ : float
    Lowest validation loss (training loss without early stopping).""",
    "wide_alpha_": """\
wide_alpha_ : dict or None
    The wide path's fitted penalty of each group of weights, in the units
    of ``wide_alpha``: ``"ids_<i>"`` for categorical channel ``i``,
    ``"ngrams"``, ``"numeric"`` for the numeric summaries; ``inf`` for a
    group left out, whose weights are 0 (None when ``wide=False``).""",
    "stop_reason_": """\
stop_reason_ : str
    Why the last ``fit``/``partial_fit`` ended: "completed" (all epochs
    ran), "early_stopping", "non_finite_loss" (the loss became NaN or
    infinite; the weights of the best or last finished epoch were
    restored, with a ConvergenceWarning) or "interrupted" (Ctrl-C; the
    same restoration, with a UserWarning). See docs/reliability.md.""",
    "batch_size_": """\
batch_size_ : int
    Batch size used.""",
    "device_": """\
device_ : str
    Device used.""",
    "input_signature_": """\
input_signature_ : dict
    Channels (counts and names) and categorical cardinalities seen in
    ``fit``; ``predict`` refuses X encoded differently.""",
    "n_features_in_": """\
n_features_in_ : int
    Sequence length ``L``, only when fitted on a 2-D array.""",
}


def _block(entries: dict, **values) -> str:
    """The entries one after the other, ``{key}`` replaced by ``values``
    (not ``str.format``: the entries hold literal braces), indented for a
    placeholder at the four-space indentation of a class docstring."""
    text = "\n".join(entries.values())
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return textwrap.indent(text, "    ").lstrip()


def fill_doc(*, score: str, stratified: str):
    """Class decorator: fill ``{parameters}`` and ``{attributes}`` in the
    docstring with the shared entries (indented like the docstring).

    ``score`` names the validation score ("accuracy", "R²"); ``stratified``
    is inserted after "training data" in ``early_stopping``."""

    def decorate(cls):
        cls.__doc__ = cls.__doc__.format(
            parameters=_block(_PARAMETERS, stratified=stratified),
            attributes=_block(_ATTRIBUTES, score=score),
        )
        return cls

    return decorate
