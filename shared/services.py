"""What a stage needs, bundled: the ports, the settings and a clock.

Each runtime's bootstrap builds one of these (lazily, never at import time);
tests build one from in-memory fakes. Stages are plain functions of
(services, input), in the style of cosmicpython's handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from shared.ports import Classifier, JobQueue, MetadataStore, ObjectStore
from shared.records import utcnow
from shared.settings import Settings


@dataclass
class Services:
    store: ObjectStore
    meta: MetadataStore
    queue: JobQueue
    settings: Settings = field(default_factory=Settings)
    # Built on first use: loading a model or an HTTP client is not free.
    classifier_factory: Callable[[], Classifier] | None = None
    # When False the pipeline ends at gold (no classify messages are sent).
    classify_enabled: bool = True
    clock: Callable[[], datetime] = utcnow
    _classifier: Classifier | None = field(default=None, init=False, repr=False)

    @property
    def classifier(self) -> Classifier:
        if self._classifier is None:
            if self.classifier_factory is None:
                raise RuntimeError("no classifier configured for this runtime")
            self._classifier = self.classifier_factory()
        return self._classifier
