"""A scikit-learn Pipeline that also ranks: ``predict_topk`` through the steps.

:class:`sklearn.pipeline.Pipeline` exposes the methods it knows
(``predict``, ``predict_proba``, ...); ``predict_topk`` of the classifiers
and recommenders is not one of them. :class:`SequencePipeline` adds it,
available when the last step has it.
"""

from __future__ import annotations

from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.metaestimators import available_if

__all__ = ["SequencePipeline", "make_sequence_pipeline"]


def _last_step_has(method: str):
    def check(pipeline) -> bool:
        getattr(pipeline.steps[-1][1], method)  # raises AttributeError
        return True

    return check


class SequencePipeline(Pipeline):
    """A :class:`~sklearn.pipeline.Pipeline` with ``predict_topk``.

    Everything else is scikit-learn's Pipeline. ``predict_topk`` runs ``X``
    through the ``transform`` of every step but the last, then calls the last
    step's ``predict_topk``, as ``predict`` does with ``predict``: no more
    ``pipe[-1].predict_topk(pipe[:-1].transform(X))``. It exists only when the
    last step has ``predict_topk`` (``hasattr`` says False otherwise).

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        The steps, as for :class:`~sklearn.pipeline.Pipeline`.
    transform_input : list of str or None, default=None
        As for :class:`~sklearn.pipeline.Pipeline` (metadata routing).
    memory : str, joblib.Memory or None, default=None
        Caches the fitted transformers, as for
        :class:`~sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        Print the time each step takes to fit.

    See Also
    --------
    make_sequence_pipeline : Build one from the steps, naming them.

    Examples
    --------
    >>> from seqestimators import (LSTMSequenceClassifier, SequencePipeline,
    ...                            SequenceVectorizer, to_sequences)
    >>> from seqestimators.datasets import make_event_log
    >>> events, targets = make_event_log(n_users=100, random_state=0)
    >>> X = to_sequences(events, columns=["event_type", "category"])
    >>> y = targets.loc[X.index, "will_buy"].to_numpy()
    >>> pipe = SequencePipeline([
    ...     ("vectorizer", SequenceVectorizer()),
    ...     ("lstm", LSTMSequenceClassifier(hidden_size=4, max_epochs=1,
    ...                                     random_state=0)),
    ... ]).fit(X, y)
    >>> pipe.predict_topk(X.head(3), k=2).shape
    (3, 2)
    """

    @available_if(_last_step_has("predict_topk"))
    def predict_topk(self, X, **params):
        """The last step's ``predict_topk`` on ``X`` transformed by the others.

        Parameters
        ----------
        X : sequence frame or what the first step accepts
            Not modified.
        **params : dict
            Keyword arguments of the last step's ``predict_topk``: ``k`` (and
            ``exclude_seen`` for the recommenders).

        Returns
        -------
        top : ndarray of shape (n_samples, k)
            What the last step's ``predict_topk`` returns, best first.

        Examples
        --------
        >>> from seqestimators import (LSTMSequenceClassifier,
        ...                            SequenceVectorizer, make_sequence_pipeline,
        ...                            to_sequences)
        >>> from seqestimators.datasets import make_event_log
        >>> events, targets = make_event_log(n_users=100, random_state=0)
        >>> X = to_sequences(events, columns=["event_type"])
        >>> y = targets.loc[X.index, "will_buy"].to_numpy()
        >>> pipe = make_sequence_pipeline(
        ...     SequenceVectorizer(),
        ...     LSTMSequenceClassifier(hidden_size=4, max_epochs=1, random_state=0),
        ... ).fit(X, y)
        >>> pipe.predict_topk(X.head(2), k=1).shape
        (2, 1)
        """
        Xt = X
        for _, step in self.steps[:-1]:
            if step is not None and step != "passthrough":
                Xt = step.transform(Xt)
        return self.steps[-1][1].predict_topk(Xt, **params)


def make_sequence_pipeline(*steps, memory=None, verbose=False):
    """Build a :class:`SequencePipeline`, naming the steps after their class.

    :func:`sklearn.pipeline.make_pipeline` for a pipeline with
    ``predict_topk``: the positional arguments are the steps (estimators),
    of which all but the last must transform.

    Parameters
    ----------
    memory : str, joblib.Memory or None, default=None
        Caches the fitted transformers, as for
        :class:`~sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        Print the time each step takes to fit.

    Returns
    -------
    pipeline : SequencePipeline

    Examples
    --------
    >>> from seqestimators import (LSTMSequenceRecommender, SequenceVectorizer,
    ...                            make_sequence_pipeline)
    >>> pipe = make_sequence_pipeline(
    ...     SequenceVectorizer(), LSTMSequenceRecommender(target="item_id"))
    >>> [name for name, _ in pipe.steps]
    ['sequencevectorizer', 'lstmsequencerecommender']
    """
    named = make_pipeline(*steps, memory=memory, verbose=verbose)
    return SequencePipeline(named.steps, memory=memory, verbose=verbose)
