"""Candidate networks and defaults, as subclasses of the library estimators.

A candidate is estimator parameters (``est``) plus extra keyword arguments of
:class:`seqestimators.nn.SequenceNet` (``net``) passed through an overridden
``_module_kwargs``; ``net`` values that are callables get the estimator and
the number of training sequences. The library estimators are not edited.
"""

from __future__ import annotations

from sklearn.pipeline import make_pipeline

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceVectorizer,
)


class _Extra:
    #: extra SequenceNet kwargs (set on a generated subclass)
    _net_extra: dict = {}

    def _train(self, Xr, y_enc, **kwargs):
        # the number of fitted sequences, for penalties that scale with 1/n
        self._n_fit = len(Xr)
        return super()._train(Xr, y_enc, **kwargs)

    def _module_kwargs(self):
        kw = super()._module_kwargs()
        for key, value in self._net_extra.items():
            kw[key] = value(self, kw) if callable(value) else value
        return kw


def per_n(c):
    """``c / n_train``: the L2 of an LR with C=1/c on the mean loss."""
    return lambda est, kw: c / (est._n_fit * (1 - est.validation_fraction))


def hidden_from_n(est, kw):
    """hidden_size "auto": ~ n_train ** 0.5, clipped to [16, 64]."""
    return int(min(64, max(16, round((est._n_fit * 0.9) ** 0.5))))


def _estimator(task, est: dict, net: dict):
    base = LSTMSequenceRegressor if task.kind == "count" else LSTMSequenceClassifier
    cls = type(f"Candidate{base.__name__}", (_Extra, base), {"_net_extra": dict(net)})
    est = dict(est)
    if task.kind == "count":
        est.setdefault("loss", "poisson")
    else:
        est.pop("loss", None)
    return make_pipeline(SequenceVectorizer(), cls(n_threads=1, **est))



#: name -> (estimator params, SequenceNet extras)
CANDIDATES: dict[str, tuple[dict, dict]] = {
    # the library as it is; on counts the default squared error...
    "defaults": ({"loss": "squared_error"}, {}),
    # ...and the Poisson loss a user picks for counts
    "defaults-poisson": ({}, {}),
    # skip paths on top of the default network
    "bag": ({}, {"bag": "mean"}),
    "wide": ({}, {"wide": True, "wide_l2": per_n(1.0)}),
    "wide+bag": ({}, {"bag": "mean", "wide": True, "wide_l2": per_n(1.0)}),
    "wide+bag-l2/10": ({}, {"bag": "mean", "wide": True, "wide_l2": per_n(0.1)}),
    "wide+bag-nol2": ({}, {"bag": "mean", "wide": True}),
    # pooling views
    "lmm": ({}, {"pooling": "last+mean+max"}),
    "bi-lmm": ({"bidirectional": True}, {"pooling": "last+mean+max"}),
    # the combination
    "lmm+wide+bag": ({}, {"pooling": "last+mean+max", "bag": "mean", "wide": True,
                          "wide_l2": per_n(1.0)}),
    "bi-lmm+wide+bag": ({"bidirectional": True},
                        {"pooling": "last+mean+max", "bag": "mean", "wide": True,
                         "wide_l2": per_n(1.0)}),
    "lmm+wide+bag-d3": ({"dropout": 0.3},
                        {"pooling": "last+mean+max", "bag": "mean", "wide": True,
                         "wide_l2": per_n(1.0), "input_dropout": 0.1}),
    # candidates for the new defaults
    "rec1": ({}, {"pooling": "last+mean+max", "bag": "mean+max", "wide": True,
                  "wide_l2": per_n(1.0)}),
    "rec1-bi": ({"bidirectional": True},
                {"pooling": "last+mean+max", "bag": "mean+max", "wide": True,
                 "wide_l2": per_n(1.0)}),
    "bagmm": ({}, {"bag": "mean+max"}),
    "rec1-lr1e-3": ({"lr": 1e-3}, {"pooling": "last+mean+max", "bag": "mean+max",
                                   "wide": True, "wide_l2": per_n(1.0)}),
    "rec1-d3": ({"dropout": 0.3}, {"pooling": "last+mean+max", "bag": "mean+max",
                                   "wide": True, "wide_l2": per_n(1.0)}),
    "rec1-lr1e-3-d3": ({"lr": 1e-3, "dropout": 0.3},
                       {"pooling": "last+mean+max", "bag": "mean+max", "wide": True,
                        "wide_l2": per_n(1.0)}),
    "rec1-nowide-lr1e-3": ({"lr": 1e-3},
                           {"pooling": "last+mean+max", "bag": "mean+max"}),
    "rec1-ng6": ({}, {"pooling": "last+mean+max", "bag": "mean+max", "wide": True,
                      "wide_l2": per_n(1.0), "wide_ngrams": 6}),
    "rec1-ng3": ({}, {"pooling": "last+mean+max", "bag": "mean+max", "wide": True,
                      "wide_l2": per_n(1.0), "wide_ngrams": 3}),
    "rec1-nowide": ({}, {"pooling": "last+mean+max", "bag": "mean+max"}),
}


def make(name, task):
    est, net = CANDIDATES[name]
    return _estimator(task, est, net)
