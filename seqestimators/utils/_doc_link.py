"""Links from an estimator's HTML repr (Jupyter) to its API page."""

from __future__ import annotations

import os

__all__ = ["DOCS_URL", "DocLinkMixin"]

#: where the site built from ``docs/`` is published; ``SEQESTIMATORS_DOCS_URL``
#: points the links elsewhere (e.g. a site built locally, ``file:///...``)
DOCS_URL = "https://seqestimators.readthedocs.io/en/latest"


class DocLinkMixin:
    """scikit-learn's doc-link hooks, set for seqestimators' API pages
    (``generated/seqestimators.<Name>.html``, every public estimator is
    exported at the top level)."""

    _doc_link_module = "seqestimators"
    _doc_link_template = "{base}/generated/seqestimators.{name}.html"

    def _doc_link_url_param_generator(self) -> dict:
        base = os.environ.get("SEQESTIMATORS_DOCS_URL", DOCS_URL).rstrip("/")
        return {"base": base, "name": type(self).__name__}
