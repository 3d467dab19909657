"""Which classifier a runtime uses, from one spec: ``local``, ``none`` or a scoring URL.

One place for every runtime (CLI flag ``--classifier``, app setting
``ML_ENDPOINT_URL``), so "local" and a URL mean the same everywhere. Nothing
is built here: a factory is returned and called on first use, because loading
a model or resolving a Key Vault reference is not free.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.ports import Classifier

LOCAL = "local"
NONE = "none"
ClassifierFactory = Callable[[], Classifier]


def classifier_factory(spec: str | None, key: Callable[[], str | None] = lambda: None) -> ClassifierFactory | None:
    """``local`` (or empty): the in-process model; ``none``: no classification (None); else a scoring URL.

    ``key`` is called when the endpoint client is built: the endpoint key, or
    None for Entra token auth.
    """
    if spec in (None, "", LOCAL):
        return _local
    if spec == NONE:
        return None
    url = spec

    def build_endpoint() -> Classifier:
        from shared.adapters.endpoint_classifier import EndpointClassifier

        return EndpointClassifier(url, key=key())
    return build_endpoint


def _local() -> Classifier:
    from shared.adapters.inprocess_classifier import InProcessClassifier

    return InProcessClassifier()
