"""Which classifier a runtime uses, from one spec: ``local``, ``none`` or a scoring URL.

One place for every runtime (CLI flag ``--classifier``, app setting
``ML_ENDPOINT_URL``), so "local" and a URL mean the same everywhere. Nothing
is built here: a factory is returned and called on first use, because loading
a model or resolving a Key Vault reference is not free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shared.ports import Classifier
from shared.settings import EndpointSettings

LOCAL = "local"
NONE = "none"
ClassifierFactory = Callable[[], Classifier]


@dataclass(frozen=True)
class EndpointFactory:
    """Builds the endpoint client; says how long a batch can take with these settings (checked at start-up)."""

    url: str
    key: Callable[[], str | None] = field(default=lambda: None)
    settings: EndpointSettings = field(default_factory=EndpointSettings)
    batch_size: int = 16  # images per scoring request

    def __call__(self) -> Classifier:
        from shared.adapters.endpoint_classifier import EndpointClassifier

        return EndpointClassifier(self.url, key=self.key(), timeout=self.settings.timeout,
                                  max_attempts=self.settings.attempts, max_delay=self.settings.max_retry_after,
                                  batch_size=self.batch_size)

    def worst_case(self, images: int) -> float:
        """A batch of ``images`` fails as a whole against a hanging endpoint: never split and retried per image."""
        requests = -(-images // self.batch_size)
        return requests * self.settings.worst_case()

    def explain(self) -> str:
        s = self.settings
        return (f"{s.attempts} attempts x ML_ENDPOINT_TIMEOUT={s.timeout:g} s + {s.attempts - 1} waits x "
                f"ML_ENDPOINT_MAX_RETRY_AFTER={s.max_retry_after:g} s per request")


def classifier_factory(spec: str | None, key: Callable[[], str | None] = lambda: None,
                       settings: EndpointSettings | None = None) -> ClassifierFactory | None:
    """``local`` (or empty): the in-process model; ``none``: no classification (None); else a scoring URL.

    ``key`` is called when the endpoint client is built: the endpoint key, or
    None for Entra token auth.
    """
    if spec in (None, "", LOCAL):
        return _local
    if spec == NONE:
        return None
    return EndpointFactory(spec, key, settings or EndpointSettings())


def _local() -> Classifier:
    from shared.adapters.inprocess_classifier import InProcessClassifier

    return InProcessClassifier()
