"""ExportedModel: an exported file run from raw event lists.

:class:`NumpyEncoder` (numpy) then an onnxruntime session -- no torch,
scikit-learn or skorch -- or, for a TorchScript file, ``torch.jit.load``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from ._encoder import NumpyEncoder, pad_encoded
from ._state import FORMAT

__all__ = ["ExportedModel"]

#: sequences per network call (sorted by length, so padding stays small)
BATCH_SIZE = 256
_KEY = "seqestimators"  # METADATA_KEY of ._export (no torch import here)


def _log_softmax(out: np.ndarray) -> np.ndarray:
    z = out.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
    return z


class _OnnxRunner:
    def __init__(self, path: str, n_threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(n_threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(
            path, options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        meta = self.session.get_modelmeta().custom_metadata_map
        self.state_json = meta.get(_KEY)

    def __call__(self, cat, num, lengths) -> np.ndarray:
        feed = {"categorical": cat, "numeric": num, "lengths": lengths}
        feed = {k: v for k, v in feed.items() if k in self.inputs}
        return self.session.run(["output"], feed)[0]


class _TorchScriptRunner:
    def __init__(self, path: str, n_threads: int):
        import torch

        extra = {_KEY: ""}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript's
            self.module = torch.jit.load(path, _extra_files=extra).eval()
        self.state_json = extra[_KEY] or None
        self.n_threads = int(n_threads)

    def __call__(self, cat, num, lengths) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.module(*(torch.from_numpy(a) for a in (cat, num, lengths)))
        out = out[0] if isinstance(out, tuple) else out
        return out.numpy()


def _is_torchscript(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"PK"  # a zip archive; ONNX is a protobuf


class ExportedModel:
    """A file written by :func:`export`, predicting from raw event lists.

    Parameters
    ----------
    path : str or path-like
        An ``.onnx`` (onnxruntime) or TorchScript (torch) file of
        :func:`export`.
    n_threads : int, default=1
        Threads of one network call (onnxruntime's intra-op threads).

    Attributes
    ----------
    encoder : NumpyEncoder
        Turns raw event lists into the network's input.
    state : dict
        The exported state: ``"vectorizer"`` and ``"estimator"`` settings.
    task : {"classification", "regression"}
    classes_ : ndarray
        The class labels (classifiers only).

    Examples
    --------
    >>> import tempfile
    >>> from seqestimators import make_sequence_pipeline, to_sequences
    >>> from seqestimators.export import export
    >>> from seqestimators import SequenceVectorizer, LSTMSequenceRegressor
    >>> from seqestimators.datasets import make_event_log
    >>> events, targets = make_event_log(n_users=60, random_state=0)
    >>> X = to_sequences(events, columns=["event_type"])
    >>> y = targets.loc[X.index, "future_spend"].to_numpy()
    >>> pipe = make_sequence_pipeline(SequenceVectorizer(), LSTMSequenceRegressor(
    ...     hidden_size=4, max_epochs=1, random_state=0)).fit(X, y)
    >>> path = tempfile.mkdtemp() + "/model.onnx"
    >>> export(pipe, path).encoder.columns
    ['event_type']
    >>> ExportedModel(path).predict([{"event_type": ["view", "cart"]}]).shape
    (1,)
    """

    def __init__(self, path, *, n_threads: int = 1):
        self.path = os.fspath(path)
        runner = (_TorchScriptRunner if _is_torchscript(self.path) else _OnnxRunner)
        self._run = runner(self.path, n_threads)
        if self._run.state_json is None:
            raise ValueError(
                f"{self.path} holds no seqestimators state: it was not written "
                "by seqestimators.export.export."
            )
        self.state = json.loads(self._run.state_json)
        if self.state.get("format") != FORMAT:
            raise ValueError(f"{self.path} is not a {FORMAT} file.")
        self.encoder = NumpyEncoder(self.state["vectorizer"])
        self.task = self.state["estimator"]["task"]
        if self.task == "classification":
            self.classes_ = np.asarray(self.state["estimator"]["classes"])

    # ------------------------------------------------------------ output
    def predict_output(self, instances: Sequence[Mapping]) -> np.ndarray:
        """The network's raw outputs ``(n, n_outputs)`` (logits, scaled
        values or log-rates), in input order.

        Parameters
        ----------
        instances : sequence of dict
            One mapping per sequence: column name -> list of event values
            (see :meth:`NumpyEncoder.encode`).

        Returns
        -------
        ndarray of shape (n_sequences, n_outputs), float32
        """
        if len(instances) <= BATCH_SIZE:
            return self._run(*self.encoder.encode(instances))
        return self.run_encoded([self.encoder.encode_one(x, where=f"sequence {i}")
                                 for i, x in enumerate(instances)])

    def run_encoded(self, encoded: list) -> np.ndarray:
        """Raw outputs of sequences already encoded by
        :meth:`NumpyEncoder.encode_one`, in their order (batches of similar
        lengths)."""
        if len(encoded) <= BATCH_SIZE:
            return self._run(*self._pad(encoded))
        order = np.argsort([len(c) for c, _ in encoded], kind="stable")
        parts = []
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            parts.append(self._run(*self._pad([encoded[i] for i in rows])))
        out = np.concatenate(parts)
        result = np.empty_like(out)
        result[order] = out
        return result

    def _pad(self, encoded):
        return pad_encoded(encoded, len(self.encoder.categorical),
                           len(self.encoder.state["mean"]))

    def _check_task(self, task: str, method: str) -> None:
        if self.task != task:
            raise AttributeError(f"{method} needs a {task} model; this is a "
                                 f"{self.task} model.")

    def predict_proba(self, instances):
        """Class probabilities ``(n, n_classes)``, columns in ``classes_``.

        Parameters
        ----------
        instances : sequence of dict
            Raw event lists, one mapping per sequence.

        Returns
        -------
        ndarray of shape (n_sequences, n_classes)
        """
        self._check_task("classification", "predict_proba")
        return self.proba_from_output(self.predict_output(instances))

    def predict_topk(self, instances, k: int = 5):
        """The ``k`` most likely classes of each sequence, best first.

        Parameters
        ----------
        instances : sequence of dict
            Raw event lists, one mapping per sequence.
        k : int, default=5
            Labels per sequence, at most ``len(classes_)``.

        Returns
        -------
        ndarray of shape (n_sequences, k)
        """
        self._check_task("classification", "predict_topk")
        self.check_k(k)
        return self.topk_from_output(self.predict_output(instances), k)

    def predict(self, instances):
        """Class labels, or regression values in the original scale.

        Parameters
        ----------
        instances : sequence of dict
            Raw event lists, one mapping per sequence.

        Returns
        -------
        ndarray of shape (n_sequences,) or (n_sequences, n_outputs)
        """
        return self.predict_from_output(self.predict_output(instances))

    # ------------------------------------------- from raw outputs (serving)
    def check_k(self, k) -> int:
        """``k`` as an int; ValueError outside ``[1, n_classes]``."""
        n = len(self.classes_)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
            raise ValueError(f"k must be an integer in [1, {n}]; got {k!r}.")
        return k

    def proba_from_output(self, out: np.ndarray) -> np.ndarray:
        """Class probabilities of raw outputs (float64 softmax)."""
        return np.exp(_log_softmax(out))

    def topk_from_output(self, out: np.ndarray, k: int) -> np.ndarray:
        """The ``k`` best classes of raw outputs; ties by class order."""
        scores = _log_softmax(out)
        return self.classes_[np.argsort(-scores, axis=1, kind="stable")[:, :k]]

    def predict_from_output(self, out: np.ndarray) -> np.ndarray:
        """Labels, or values in the original scale, of raw outputs."""
        if self.task == "classification":
            return self.classes_[out.argmax(axis=1)]
        est = self.state["estimator"]
        out = out.astype(np.float64)
        if est["loss"] == "poisson":
            out = np.exp(out)
        else:
            out = out * np.asarray(est["y_scale"]) + np.asarray(est["y_mean"])
        return out[:, 0] if est["y_ndim"] == 1 else out

    # ------------------------------------------------------------- helpers
    def info(self) -> dict:
        """What the model needs and gives, for humans and services.

        Returns
        -------
        dict
            The task, the columns, the classes or outputs, and the file.
        """
        vec, est = self.state["vectorizer"], self.state["estimator"]
        info = {"task": self.task, "estimator": est["estimator"],
                "columns": {"categorical": vec["categorical"],
                            "numeric": vec["numeric"], "time": vec["time"]},
                "time_kind": vec["time_kind"], "reference": self.encoder.reference,
                "file": os.path.basename(self.path)}
        if self.task == "classification":
            info["classes"] = est["classes"]
        else:
            info["n_outputs"] = len(est["y_mean"])
        return info

    def to_frame(self, instances):
        """The same sequences as a pandas sequence frame, for the fitted
        pipeline (comparisons; needs pandas).

        Parameters
        ----------
        instances : sequence of dict
            Raw event lists, one mapping per sequence.

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd

        keys = list(self.encoder.columns)
        if self.encoder.reference is not None:
            keys.append(self.encoder.reference)
        return pd.DataFrame({k: [x[k] for x in instances] for k in keys})

    def check_against(self, module, example, atol: float = 1e-4) -> None:
        """Raise a RuntimeError when the file's raw outputs on ``example``
        (a padded batch) differ from ``module``'s by more than ``atol``."""
        import torch

        with torch.inference_mode():
            ref = module(*(torch.from_numpy(a) for a in example))
        ref = (ref[0] if isinstance(ref, tuple) else ref).numpy()
        got = self._run(*example)
        gap = float(np.abs(got - ref).max())
        if not gap <= atol:
            raise RuntimeError(
                f"The exported network's outputs differ from the pipeline's by "
                f"{gap:.3g} (> {atol}); please report this model's settings."
            )
