"""LSTMSequenceClassifier: a recurrent classifier of event sequences."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_scalar, column_or_1d
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..data._ops import top_k_indices
from ..utils._compat import StrOptions, _fit_context
from ._base import _BaseSequenceEstimator
from ._docstrings import fill_doc

__all__ = ["LSTMSequenceClassifier"]


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=1, keepdims=True))
    return z


class _SequenceClassifierMixin(ClassifierMixin):
    """The classification side of the sequence classifiers: labels, class
    weights, loss, ``partial_fit`` and the predict methods. Combined with
    ``_BaseSequenceEstimator`` by LSTMSequenceClassifier and
    TransformerSequenceClassifier, whose own parts are the parameters and
    the encoder."""

    def _encode_targets(self, y, *, first, classes=None):
        name = type(self).__name__
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if len(y) == 0:
            raise ValueError(f"{name} got an empty y; at least 2 samples are needed.")
        fitted = {}
        encoder = self.__dict__.get("_label_encoder")
        if first:
            labels = np.unique(y) if classes is None else np.unique(classes)
            if len(labels) < 2:
                raise ValueError(
                    f"{name} needs samples of at least 2 classes in the data, but "
                    f"the data contains only one class: {labels.tolist()[0]!r}."
                )
            encoder = LabelEncoder().fit(labels)
            self._check_class_weight(encoder.classes_)
            fitted = {"_label_encoder": encoder, "classes_": encoder.classes_}
        unseen = np.setdiff1d(np.unique(y), encoder.classes_)
        if len(unseen):
            raise ValueError(
                f"y contains classes {unseen.tolist()} not in classes_ "
                f"{encoder.classes_.tolist()}; pass every class to the first "
                "partial_fit call through `classes`."
            )
        return encoder.transform(y).astype(np.int64), fitted

    def _check_class_weight(self, classes) -> None:
        if not isinstance(self.class_weight, dict):
            return
        unknown = set(self.class_weight) - set(classes.tolist())
        if unknown:
            raise ValueError(
                f"class_weight has keys {sorted(unknown, key=str)} that are "
                f"not classes of y {classes.tolist()}."
            )

    def _check_weighted_targets(self, y_enc, weight) -> None:
        present = np.unique(y_enc[weight > 0])
        if len(present) < 2:
            label = self.__dict__.get("_label_encoder")
            only = present if label is None else label.inverse_transform(present)
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes with "
                f"a positive sample_weight, but only class {only.tolist()[0]!r} "
                "has positive weights."
            )

    def _n_outputs(self):
        return len(self.classes_)

    _criterion_class = torch.nn.CrossEntropyLoss
    _combine = "mean_proba"

    def _criterion_kwargs(self, y_train):
        if self.class_weight is None:
            return {}
        classes = np.arange(len(self.classes_))
        if self.class_weight == "balanced":
            present = np.unique(y_train)
            w = np.ones(len(classes))
            w[present] = compute_class_weight("balanced", classes=present, y=y_train)
        else:
            w = np.array([float(self.class_weight.get(c, 1.0)) for c in self.classes_])
        return {"weight": torch.as_tensor(w, dtype=torch.float32)}

    def _valid_score(self, y_true, y_pred, sample_weight=None):
        return accuracy_score(y_true, y_pred.argmax(1), sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : sequences (see ``fit``)
        y : array-like of shape (n,)
        classes : array-like of shape (n_classes,), default=None
            All classes that will ever appear; required on the first call.
        sample_weight : array-like of shape (n,), default=None
            Non-negative weights of the sequences (see ``fit``).

        Returns
        -------
        self
        """
        first = not hasattr(self, "net_")
        if first and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit."
            )
        return self._fit(
            X, y, incremental=True, continuing=not first, classes=classes,
            sample_weight=sample_weight,
        )

    def predict_proba(self, X):
        """Class probabilities, shape (n, n_classes), columns in ``classes_``."""
        return _softmax(self._forward(X))

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`."""
        logits = self._forward(X)
        return _log_softmax(logits)

    def predict(self, X):
        """Most likely class label of each sequence (original labels)."""
        best = self._forward(X).argmax(axis=1)
        return self.classes_[best]

    def predict_topk(self, X, k=5):
        """The ``k`` most likely class labels of each sequence, best first.

        Parameters
        ----------
        X : sequences (see ``fit``)
        k : int, default=5
            Labels per sequence, at most ``len(classes_)``.

        Returns
        -------
        labels : ndarray of shape (n_samples, k)
            Original class labels; column 0 equals :meth:`predict`. Equal
            probabilities are ordered by their position in ``classes_``, as
            in :func:`seqestimators.metrics.top_k` applied to
            :meth:`predict_proba`.

        Notes
        -----
        The ranking uses the log-probabilities, so classes whose
        probabilities underflow to 0 in :meth:`predict_proba` are still
        ordered. A :class:`~seqestimators.SequencePipeline` (built with
        :func:`~seqestimators.make_sequence_pipeline`) has ``predict_topk``
        itself: ``pipe.predict_topk(X, k=3)``; scikit-learn's ``Pipeline``
        has not (call ``pipe[-1].predict_topk(pipe[:-1].transform(X))``).

        Examples
        --------
        >>> import numpy as np
        >>> from seqestimators import LSTMSequenceClassifier
        >>> rng = np.random.RandomState(0)
        >>> X = rng.normal(size=(60, 5, 1)).astype("float32")
        >>> y = np.array(["a", "b", "c"])[rng.randint(3, size=60)]
        >>> clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=1,
        ...                              random_state=0).fit(X, y)
        >>> clf.predict_topk(X[:4], k=2).shape
        (4, 2)
        """
        check_is_fitted(self, "net_")
        if isinstance(k, bool):
            raise TypeError(f"k must be an int >= 1, not a bool. Got {k!r}.")
        check_scalar(k, "k", Integral, min_val=1)
        n_classes = len(self.classes_)
        if k > n_classes:
            raise ValueError(
                f"k={k} is larger than the number of classes ({n_classes}) of "
                f"{type(self).__name__}; pass k <= {n_classes}."
            )
        scores = _log_softmax(self._forward(X))
        return self.classes_[top_k_indices(scores, int(k))]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


@fill_doc(score="accuracy", stratified=" (stratified)")
class LSTMSequenceClassifier(_SequenceClassifierMixin, _BaseSequenceEstimator):
    """Recurrent classifier of event sequences (LSTM or GRU).

    Parameters
    ----------
    {parameters}
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    {attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from seqestimators import LSTMSequenceClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 5, 1)).astype("float32")
    >>> y = np.where(X[:, -1, 0] > 0, "up", "down")
    >>> clf = LSTMSequenceClassifier(hidden_size=8, max_epochs=3, random_state=0)
    >>> clf.fit(X, y).predict(X[:2]).shape
    (2,)
    >>> clf.classes_.tolist()
    ['down', 'up']
    """

    _parameter_constraints: dict = {
        **_BaseSequenceEstimator._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        cell="lstm",
        embedding_dim="auto",
        dropout=0.1,
        pooling="last+mean+max",
        bag_pooling="mean+max",
        wide=True,
        wide_alpha="auto",
        wide_ngrams="auto",
        ensemble_size=1,
        lr="auto",
        optimizer="adam",
        weight_decay=0.0,
        batch_size="auto",
        max_epochs=100,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        clip_grad_norm=1.0,
        callbacks=None,
        device="cpu",
        n_threads=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        class_weight=None,
    ):
        super().__init__(
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            cell=cell,
            embedding_dim=embedding_dim,
            dropout=dropout,
            pooling=pooling,
            bag_pooling=bag_pooling,
            wide=wide,
            wide_alpha=wide_alpha,
            wide_ngrams=wide_ngrams,
            ensemble_size=ensemble_size,
            lr=lr,
            optimizer=optimizer,
            weight_decay=weight_decay,
            batch_size=batch_size,
            max_epochs=max_epochs,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            clip_grad_norm=clip_grad_norm,
            callbacks=callbacks,
            device=device,
            n_threads=n_threads,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
        )
        self.class_weight = class_weight
