"""Classifier port in-process: the same scoring code Azure ML runs (``ml.model``), without HTTP.

``ml`` (and with it onnxruntime and ~30 MB of weights) is imported and loaded
on first use, not when ``shared`` is imported, so runtimes that classify
through an endpoint, or not at all, never pay for it. The answer goes through
the same validation as an endpoint's, so both paths produce identical records.
"""

from __future__ import annotations

from typing import Any

from shared import errors
from shared.adapters.endpoint_classifier import IMAGE_ERRORS, parse_classification
from shared.ports import Classification, Classifier


class InProcessClassifier(Classifier):
    """Wraps ``ml.model.Scorer``; by default the process-wide one (the model loads once per process)."""

    def __init__(self, scorer: Any = None, top_k: int = 5) -> None:
        self._scorer = scorer
        self.top_k = top_k

    @property
    def scorer(self) -> Any:
        if self._scorer is None:
            from ml.model import default_scorer

            self._scorer = default_scorer()
        return self._scorer

    @property
    def model_version(self) -> str:
        return str(self.scorer.model_version)

    def classify(self, images: list[bytes]) -> Classification:
        from ml.preprocess import BadImage

        try:
            predictions = self.scorer.predict(images, self.top_k)
        except BadImage as exc:
            raise errors.PermanentError(IMAGE_ERRORS.get(exc.code, errors.CORRUPT_IMAGE), str(exc)) from None
        return parse_classification({"model_version": self.model_version, "predictions": predictions}, len(images))
