"""export(): a fitted pipeline as one ONNX (or TorchScript) file.

The network is traced on a padded batch (the path every estimator predicts
with: right padding, true lengths, masked pooling) with dynamic batch size
and sequence length; the vectorizer's state and the output settings travel
inside the file as JSON metadata (key :data:`METADATA_KEY`).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np

from ._state import FORMAT, FORMAT_VERSION, estimator_state, vectorizer_state

__all__ = ["METADATA_KEY", "NOISE_SCALE", "export", "noisy_summaries"]

#: key of the JSON state in the ONNX metadata / TorchScript extra files
METADATA_KEY = "seqestimators"
#: ONNX opset of the exported graph
OPSET = 17
_INPUTS = ["categorical", "numeric", "lengths"]
_DYNAMIC = {
    "categorical": {0: "batch", 1: "steps"},
    "numeric": {0: "batch", 1: "steps"},
    "lengths": {0: "batch"},
}


def _split_pipeline(pipeline):
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    from ..preprocessing import SequenceVectorizer

    steps = [s for _, s in pipeline.steps] if isinstance(pipeline, Pipeline) else []
    if len(steps) != 2 or not isinstance(steps[0], SequenceVectorizer):
        raise TypeError(
            "export needs a fitted pipeline of two steps, a SequenceVectorizer "
            "then a sequence classifier or regressor (make_sequence_pipeline("
            f"SequenceVectorizer(), LSTMSequenceClassifier())); got {pipeline!r}."
        )
    vec, est = steps
    check_is_fitted(vec)
    check_is_fitted(est, "net_")
    return vec, est


def _min_steps(module) -> int:
    """Steps the graph pads every batch to (the wide path's n-grams are
    traced for the longest run)."""
    members = getattr(module, "members", [module])
    ngrams = [m.wide.ngrams for m in members if getattr(m, "wide", None) is not None]
    return max(ngrams, default=1)


#: a wide-path summary whose spread in training was below this is rounding
#: noise (the numeric channels are standardized before they are summarized)
NOISE_SCALE = 1e-3


def noisy_summaries(module, numeric_names) -> list[str]:
    """The numeric summaries the wide path weighs although their training
    spread (``summary_scale``) is below :data:`NOISE_SCALE`, such as the
    std of a channel that is constant within each sequence (``log_recency``):
    float rounding, amplified by ``1 / scale``, moves their predictions, so
    that onnxruntime and torch (or two torch batch shapes) may disagree.

    Examples
    --------
    >>> import torch
    >>> from seqestimators.nn import SequenceNet
    >>> net = SequenceNet(cardinalities=[], embedding_dims=[], n_numeric=1,
    ...                   numeric_dim=2, hidden_size=2, num_layers=1, dropout=0.0,
    ...                   pooling="last", n_outputs=2, wide=True, wide_numeric=True)
    >>> with torch.no_grad():
    ...     net.wide.summary_scale[1] = 1e-5
    ...     net.wide.numeric_weights[1] = 0.5
    >>> noisy_summaries(net, ["price"])
    ['std of price']
    """
    from ..nn._wide import NUMERIC_SUMMARIES

    names = [f"{kind} of {c}" for kind in NUMERIC_SUMMARIES for c in numeric_names]
    names.append("log length")
    found = []
    for member in getattr(module, "members", [module]):
        wide = getattr(member, "wide", None)
        if wide is None or wide.numeric_weights is None:
            continue
        scale = wide.summary_scale.detach().cpu().numpy()
        weight = wide.numeric_weights.detach().abs().sum(dim=1).cpu().numpy()
        noisy = np.flatnonzero((scale < NOISE_SCALE) & (weight > 0))
        found += [names[j] for j in noisy]
    return sorted(set(found), key=found.index)


def _wrapper(module, classification: bool):
    import torch
    from torch import nn

    pad = _min_steps(module) - 1

    class ExportNet(nn.Module):
        """The network on a padded batch; classifiers also give the
        probabilities."""

        def __init__(self):
            super().__init__()
            self.net = module

        def forward(self, categorical, numeric, lengths):
            if pad:
                zeros = torch.zeros_like(categorical[:, :1]).expand(-1, pad, -1)
                categorical = torch.cat([categorical, zeros], dim=1)
                zeros = torch.zeros_like(numeric[:, :1]).expand(-1, pad, -1)
                numeric = torch.cat([numeric, zeros], dim=1)
            out = self.net(categorical, numeric, lengths)
            if not classification:
                return out
            return out, torch.softmax(out.double(), dim=-1).float()

    return ExportNet().eval()


def _example(state: dict, n_cardinality: list[int], steps: int):
    """A small padded batch of valid ids for tracing."""
    rng = np.random.RandomState(0)
    cat = np.stack(
        [rng.randint(1, max(n, 2), size=(3, steps)) for n in n_cardinality], axis=-1
    ) if n_cardinality else np.zeros((3, steps, 0), dtype=np.int64)
    n_numeric = len(state["mean"])
    num = rng.normal(size=(3, steps, n_numeric)).astype(np.float32)
    lengths = np.array([steps, max(steps - 2, 1), 1], dtype=np.int64)
    return cat.astype(np.int64), num, lengths


def _trace_onnx(wrapper, example, path: str, classification: bool) -> None:
    import torch

    outputs = ["output", "probabilities"] if classification else ["output"]
    with warnings.catch_warnings():
        # the TorchScript-based exporter warns about itself and about the
        # constants it folds (model settings, not input data)
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, tuple(torch.from_numpy(a) for a in example), path,
            dynamo=False, input_names=_INPUTS, output_names=outputs,
            dynamic_axes={**_DYNAMIC, **{o: {0: "batch"} for o in outputs}},
            opset_version=OPSET,
        )


def _add_metadata(path: str, state: dict) -> None:
    import onnx

    model = onnx.load(path)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(state)
    onnx.save(model, path)


def _quantize(path: str, state: dict) -> None:
    """Dynamic int8 quantization of the weights, in place."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = f"{path}.fp32"
    os.replace(path, tmp)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # per-tensor notes on what stays in float
    try:
        quantize_dynamic(tmp, path, weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
        os.remove(tmp)
    import onnx

    model = onnx.load(path)
    if not any(p.key == METADATA_KEY for p in model.metadata_props):
        _add_metadata(path, state)


def export(pipeline, path, *, format="onnx", quantize=False):
    """Write a fitted pipeline to one file that predicts without scikit-learn.

    The file holds the network (every encoder, cell, direction, pooling and
    skip path, ensembles included), traced with dynamic batch size and
    sequence length, and the vectorizer's state as JSON data, from which
    :class:`NumpyEncoder` turns raw event lists into the network's input
    with numpy alone. :class:`ExportedModel` runs the two.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted pipeline of a ``SequenceVectorizer`` and a sequence
        classifier or regressor (LSTM or Transformer).
    path : str or path-like
        The file to write (``.onnx`` for ONNX, ``.pt`` for TorchScript, by
        convention).
    format : {"onnx", "torchscript"}, default="onnx"
        ONNX runs with onnxruntime (the ``export`` extra) and no torch;
        TorchScript (``torch.jit.trace``) runs with torch alone.
    quantize : bool, default=False
        ONNX only: quantize the weights to int8 (onnxruntime's dynamic
        quantization); faster for wide models, slightly different outputs
        (docs/serving.md has measured numbers).

    Returns
    -------
    model : ExportedModel
        The file, loaded, with its outputs checked against the pipeline's on
        a traced batch.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from seqestimators import make_sequence_pipeline, to_sequences
    >>> from seqestimators.export import export
    >>> from seqestimators import SequenceVectorizer, LSTMSequenceClassifier
    >>> from seqestimators.datasets import make_event_log
    >>> events, targets = make_event_log(n_users=60, random_state=0)
    >>> X = to_sequences(events, columns=["event_type", "price"])
    >>> y = targets.loc[X.index, "will_buy"].to_numpy()
    >>> pipe = make_sequence_pipeline(SequenceVectorizer(), LSTMSequenceClassifier(
    ...     hidden_size=4, max_epochs=1, random_state=0)).fit(X, y)
    >>> path = tempfile.mkdtemp() + "/model.onnx"
    >>> model = export(pipe, path)
    >>> events = [{"event_type": ["view", "cart"], "price": [9.5, 9.5]}]
    >>> np.abs(model.predict_proba(events) - pipe.predict_proba(
    ...     model.to_frame(events))).max() < 1e-5
    np.True_
    """
    if format not in ("onnx", "torchscript"):
        raise ValueError(f"format must be 'onnx' or 'torchscript'; got {format!r}.")
    if quantize and format != "onnx":
        raise ValueError("quantize=True needs format='onnx'.")
    vec, est = _split_pipeline(pipeline)
    # a CPU copy: the estimator's own module (perhaps on a GPU) is untouched
    module = copy.deepcopy(est.net_.module_).cpu().eval()
    noisy = noisy_summaries(module, vec._numeric_channel_names())
    if noisy:
        warnings.warn(
            f"The wide path of this model weighs {noisy}, whose spread in "
            f"training was below {NOISE_SCALE} (float rounding noise, such as "
            "the std of a channel constant within each sequence); their "
            "weights amplify rounding, so the exported model's outputs may "
            "differ from the pipeline's by more than 1e-5.",
            UserWarning, stacklevel=2,
        )
    classification = hasattr(est, "classes_")
    state = {"format": FORMAT, "version": FORMAT_VERSION,
             "vectorizer": vectorizer_state(vec), "estimator": estimator_state(est)}
    steps = max(_min_steps(module) + 2, 5)
    example = _example(state["vectorizer"], list(vec.cardinalities_), steps)
    wrapper = _wrapper(module, classification)
    path = os.fspath(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if format == "torchscript":
        _trace_torchscript(wrapper, example, path, state)
    else:
        _trace_onnx(wrapper, example, path, classification)
        _add_metadata(path, state)
        if quantize:
            _quantize(path, state)
    from ._runtime import ExportedModel

    model = ExportedModel(path)
    if not quantize:
        model.check_against(wrapper, example)
    return model


def _trace_torchscript(wrapper, example, path: str, state: dict) -> None:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.inference_mode(False), torch.no_grad():
            traced = torch.jit.trace(
                wrapper, tuple(torch.from_numpy(a) for a in example),
                check_trace=False,
            )
        # TorchScript is deprecated in favour of torch.export (which has no
        # runtime without torch either); the file still loads in torch 2.x
        torch.jit.save(traced, path, _extra_files={METADATA_KEY: json.dumps(state)})
