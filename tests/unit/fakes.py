"""Services built from the in-memory adapters, shared by the unit tests."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.adapters.memory import MemoryMetadataStore, MemoryObjectStore, RecordingQueue
from shared.ports import Classification, Classifier, Prediction
from shared.services import Services

WHEN = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class FixedClassifier(Classifier):
    """A classifier double for stage tests: answers what it is told, counts calls."""

    model_version = "test-model-1"

    def __init__(self, confidence: float = 0.9, nsfw: float = 0.0) -> None:
        self.confidence, self.nsfw, self.calls = confidence, nsfw, 0

    def classify(self, images: list[bytes]) -> Classification:
        self.calls += 1
        prediction = Prediction("running shoe", "footwear", self.confidence,
                                [{"label": "running shoe", "probability": self.confidence}], {"nsfw": self.nsfw})
        return Classification(self.model_version, [prediction for _ in images])


def services(classifier: Classifier | None = None) -> Services:
    return Services(store=MemoryObjectStore(), meta=MemoryMetadataStore(), queue=RecordingQueue(),
                    classifier_factory=(lambda: classifier) if classifier else None,
                    classify_enabled=classifier is not None, clock=lambda: WHEN)
