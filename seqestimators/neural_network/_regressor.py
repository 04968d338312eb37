"""LSTMSequenceRegressor: a recurrent regressor of event sequences."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score

from ..nn import HalfPoissonDeviance
from ..utils._compat import StrOptions, _fit_context
from ._base import _BaseSequenceEstimator
from ._docstrings import fill_doc

__all__ = ["LSTMSequenceRegressor"]

#: the standard deviation of a normal distribution per median absolute deviation
_MAD_TO_STD = 1.4826

#: loss name of the regressor -> criterion class of its skorch net
_REGRESSION_LOSSES = {
    "squared_error": torch.nn.MSELoss,
    "absolute_error": torch.nn.L1Loss,
    "huber": torch.nn.HuberLoss,
    "poisson": HalfPoissonDeviance,
}


class _SequenceRegressorMixin(RegressorMixin):
    """The regression side of the sequence regressors: losses, target
    standardization, ``partial_fit`` and ``predict``. Combined with
    ``_BaseSequenceEstimator`` by LSTMSequenceRegressor and
    TransformerSequenceRegressor, whose own parts are the parameters and the
    encoder."""

    def _default_lr(self) -> float:
        # the log-rate output of the Poisson loss diverges at 3e-3 on long,
        # bursty count data (docs/defaults.md)
        return 1e-3 if self._fitted_loss == "poisson" else 3e-3

    @property
    def _fitted_loss(self) -> str:
        """The loss the network was (or is being) trained with."""
        return self._loss

    def _encode_targets(self, y, *, first, classes=None):
        name = type(self).__name__
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{name} needs numeric targets; got y of dtype {y.dtype}."
                ) from None
        if y.ndim == 0 or y.ndim > 2:
            raise ValueError(
                f"y must have shape (n,) or (n, n_outputs); got shape {y.shape}."
            )
        if len(y) == 0:
            raise ValueError(f"{name} got an empty y; at least 1 sample is needed.")
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            raise ValueError(
                "Input y contains NaN or infinity; regression targets must be "
                "finite."
            )
        y2 = y.reshape(len(y), -1)
        if not first and self.loss not in ("auto", self._fitted_loss):
            raise ValueError(
                f"{name} was fitted with loss={self._fitted_loss!r}, but loss is "
                f"now {self.loss!r}; a warm start or partial_fit continues "
                "training with the loss of the first fit. Set "
                f"loss={self._fitted_loss!r}, or warm_start=False to train a new "
                "model with the new loss."
            )
        loss = _resolve_loss(self.loss, y2) if first else self._fitted_loss
        if loss == "poisson":
            self._check_poisson_targets(y2, first=first)
        if first:
            mean, scale = _standardization(y2, loss)
            fitted = {"_loss": loss, "_y_ndim": y.ndim, "n_outputs_": y2.shape[1],
                      "y_mean_": mean, "y_scale_": scale}
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2.shape[1]} outputs, but {name} was fitted with "
                f"{self.n_outputs_}."
            )
        else:
            fitted, mean, scale = {}, self.y_mean_, self.y_scale_
        return ((y2 - mean) / scale).astype(np.float32), fitted

    def _check_poisson_targets(self, y2, *, first: bool) -> None:
        """Poisson targets are counts or rates: no negative values, and (in
        the first fit, whose output bias starts at ``log(mean(y))``) not all
        zero. The wording follows HistGradientBoostingRegressor's."""
        name = type(self).__name__
        negative = y2 < 0
        if negative.any():
            raise ValueError(
                f"{name} with loss='poisson' requires non-negative y and "
                f"sum(y) > 0, but y has {int(negative.sum())} negative "
                f"value{'s' if negative.sum() > 1 else ''} (min "
                f"{y2.min():.6g}). Poisson targets are counts or rates; use "
                "loss='squared_error' or 'huber' for targets that can be "
                "negative."
            )
        if first:
            zero = np.flatnonzero(y2.sum(axis=0) <= 0)
            if len(zero):
                which = (
                    "every target is 0"
                    if y2.shape[1] == 1
                    else f"every target of output(s) {zero.tolist()} is 0"
                )
                raise ValueError(
                    f"{name} with loss='poisson' requires non-negative y and "
                    f"sum(y) > 0, but {which}: a rate of 0 has no finite "
                    "log-rate to start from. Fit on data with at least one "
                    "positive count (later partial_fit batches may be all zero)."
                )

    def _n_outputs(self):
        return self.n_outputs_

    @property
    def _criterion_class(self):
        return _REGRESSION_LOSSES[self._fitted_loss]

    def _criterion_kwargs(self, y_train):
        if self._fitted_loss == "huber":
            return {"delta": 1.0}
        return {}

    @property
    def _combine(self):
        # log-rates: the ensemble predicts the mean rate
        return "mean_exp" if self._fitted_loss == "poisson" else "mean"

    def _init_output(self, module, y_enc):
        if self._fitted_loss != "poisson":
            return
        # start at the constant model: the mean rate of each output
        bias = torch.as_tensor(np.log(y_enc.mean(axis=0)))
        with torch.no_grad():
            for member in getattr(module, "members", [module]):
                member.head.bias.copy_(bias)

    def _valid_score(self, y_true, y_pred, sample_weight=None):
        if len(y_true) < 2:
            return float("nan")
        if self._fitted_loss == "poisson":
            with np.errstate(over="ignore"):
                y_pred = np.exp(y_pred)
            if not np.isfinite(y_pred).all():
                return float("nan")
        return r2_score(y_true, y_pred, sample_weight=sample_weight)

    def _stratify_labels(self, y_enc):
        return None

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : sequences (see ``fit``)
        y : array-like of shape (n,) or (n, n_outputs)
        sample_weight : array-like of shape (n,), default=None
            Non-negative weights of the sequences (see ``fit``).

        Returns
        -------
        self
        """
        first = not hasattr(self, "net_")
        return self._fit(
            X, y, incremental=True, continuing=not first,
            sample_weight=sample_weight,
        )

    def predict(self, X):
        """Predicted targets in the original scale, shape (n,) or (n, n_outputs).

        With ``loss="poisson"``, the predicted rates ``exp(log_rate)``.
        """
        out = self._forward(X).astype(np.float64)
        if self._fitted_loss == "poisson":
            out = np.exp(out)
        else:
            out = out * self.y_scale_ + self.y_mean_
        return out[:, 0] if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags


@fill_doc(score="R²", stratified="")
class LSTMSequenceRegressor(_SequenceRegressorMixin, _BaseSequenceEstimator):
    """Recurrent regressor of event sequences (LSTM or GRU).

    Targets are standardized internally (except with ``loss="poisson"``) and
    predictions returned in the original scale; 1-D and multi-output ``y``
    are supported. The validation split of early stopping is not stratified;
    ``valid_score`` is the R² on the validation data and ``valid_loss`` the
    training loss on it (on the standardized scale; for "poisson" half the
    mean Poisson deviance).

    Parameters
    ----------
    loss : {{"auto", "squared_error", "absolute_error", "huber", "poisson"}}, \
default="auto"
        Training loss (the names of
        :class:`~sklearn.ensemble.HistGradientBoostingRegressor`). "auto" is
        "poisson" for counts (non-negative integer targets, not all zero) and
        "squared_error" otherwise: on the count task of the real-data suite
        the Poisson loss was clearly better (``docs/defaults.md``).
        "squared_error" estimates the conditional mean, "absolute_error" the
        conditional median. "huber" is squared for residuals up to 1 and
        absolute beyond, measured on the standardized targets (``delta=1``):
        robust to outliers in ``y``. These two standardize ``y`` robustly, by
        its median and ``1.4826 * MAD`` (the standard deviation for normal
        data; outliers cannot inflate it), so Huber's ``delta`` is about one
        standard deviation of the bulk of ``y``.
        "poisson" suits counts and rates: the network outputs a log-rate,
        ``predict`` returns the rate ``exp(log_rate) >= 0``, targets are not
        standardized and must be non-negative with ``sum(y) > 0`` (per
        output) in ``fit``; the output bias starts at ``log(mean(y))``.
        A warm start or ``partial_fit`` keeps the loss of the first fit.
    {parameters}

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardization, ``(y - y_mean_) / y_scale_``: mean and
        standard deviation of ``y`` for "squared_error", median and
        ``1.4826 * MAD`` (the standard deviation where the MAD is 0) for
        "huber" and "absolute_error", 0 and 1 for "poisson".
    {attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from seqestimators import LSTMSequenceRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 5)).astype("float32")
    >>> y = X.sum(axis=1)
    >>> reg = LSTMSequenceRegressor(hidden_size=8, max_epochs=3, random_state=0)
    >>> reg.fit(X, y).predict(X[:2]).shape
    (2,)

    Counts with the Poisson loss predict non-negative rates:

    >>> counts = rng.poisson(np.exp(0.3 * y))
    >>> reg = LSTMSequenceRegressor(loss="poisson", hidden_size=4, max_epochs=1,
    ...                             random_state=0).fit(X, counts)
    >>> bool((reg.predict(X) >= 0).all())
    True
    """

    _parameter_constraints: dict = {
        **_BaseSequenceEstimator._parameter_constraints,
        "loss": [StrOptions({"auto", *_REGRESSION_LOSSES})],
    }

    def __init__(
        self,
        *,
        loss="auto",
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
        self.loss = loss


def _standardization(y2: np.ndarray, loss: str):
    """``(y_mean_, y_scale_)`` of the targets for ``loss``."""
    n_outputs = y2.shape[1]
    std = y2.std(axis=0)
    if loss == "poisson":
        # the log-rate output needs y on its own scale
        return np.zeros(n_outputs), np.ones(n_outputs)
    if loss in ("huber", "absolute_error"):
        # outliers must not set the scale (and with it Huber's delta)
        mean = np.median(y2, axis=0)
        mad = np.median(np.abs(y2 - mean), axis=0)
        scale = np.where(mad > 1e-12, _MAD_TO_STD * mad, std)
        return mean, np.where(scale > 1e-12, scale, 1.0)
    return y2.mean(axis=0), np.where(std > 1e-12, std, 1.0)


def _resolve_loss(loss: str, y: np.ndarray) -> str:
    """The loss of ``loss="auto"``: "poisson" for counts, else squared error."""
    if loss != "auto":
        return loss
    counts = (y >= 0).all() and (y == np.round(y)).all() and (y.sum(axis=0) > 0).all()
    return "poisson" if counts else "squared_error"
