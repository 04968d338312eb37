"""The estimators' HTML repr links to their API page."""

import pytest

from seqestimators import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceVectorizer,
)


@pytest.mark.parametrize(
    "est", [LSTMSequenceClassifier(), LSTMSequenceRegressor(), SequenceVectorizer()]
)
def test_html_repr_links_to_the_api_page(est, monkeypatch):
    monkeypatch.delenv("SEQESTIMATORS_DOCS_URL", raising=False)
    name = type(est).__name__
    want = f"https://seqestimators.readthedocs.io/en/latest/generated/seqestimators.{name}.html"
    assert est._get_doc_link() == want
    assert want in est._repr_html_()


def test_docs_url_can_point_to_a_local_build(monkeypatch):
    monkeypatch.setenv("SEQESTIMATORS_DOCS_URL", "file:///tmp/site/")
    link = LSTMSequenceClassifier()._get_doc_link()
    assert link == "file:///tmp/site/generated/seqestimators.LSTMSequenceClassifier.html"
