"""The scoring core: image bytes -> labels, category, confidence and moderation, with one model load per process.

Both runtimes call this very code: Azure ML through ``ml/score.py`` and the
local runtime in-process (``shared.adapters.inprocess_classifier``), so a
label means the same thing wherever it was computed. ``model_version`` is
derived from the model file's bytes, not from a hand-maintained string, so
two records carry the same version exactly when the same weights scored them.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image

from ml import preprocess
from ml.taxonomy import TAXONOMY_PATH, Taxonomy, load_labels

ML_DIR = Path(__file__).resolve().parent
MODEL_FILE = "efficientnet_lite0_int8.onnx"
# Images per ONNX Runtime call: large enough to amortize the call, small enough to bound memory (~10 MB).
CHUNK = 16


def find_model_file() -> Path:
    """IMGPIPE_MODEL_PATH, else the registered model under AZUREML_MODEL_DIR (Azure ML), else the copy in ml/."""
    explicit = os.environ.get("IMGPIPE_MODEL_PATH")
    if explicit:
        return Path(explicit)
    registered = os.environ.get("AZUREML_MODEL_DIR")
    if registered:
        hits = sorted(Path(registered).rglob(MODEL_FILE))
        if hits:
            return hits[0]
    return ML_DIR / MODEL_FILE


def model_version_of(path: Path) -> str:
    """``<file stem>-<first 12 hex of sha256>``: changes exactly when the weights do."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return f"{path.stem}-{digest[:12]}"


def _threads() -> int | None:
    raw = os.environ.get("IMGPIPE_ORT_THREADS")
    return int(raw) if raw else None


class Scorer:
    """An ONNX Runtime session for the classifier (+ the moderation model), safe to share across threads."""

    def __init__(self, model_path: Path | None = None, taxonomy_path: Path | None = None,
                 threads: int | None = None, moderation: bool = True) -> None:
        path = Path(model_path) if model_path else find_model_file()
        threads = threads if threads is not None else _threads()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.model_path = path
        self.model_version = model_version_of(path)
        self.labels = load_labels()
        self.taxonomy = Taxonomy.load(self.labels, taxonomy_path or TAXONOMY_PATH)
        self._moderator = None
        if moderation:
            from ml.moderation import Moderator

            self._moderator = Moderator(threads)

    def probabilities(self, images: list[Image.Image]) -> np.ndarray:
        """(N, 1000) class probabilities for decoded RGB images, scored in chunks."""
        if not images:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        parts = [self._session.run(None, {self._input: preprocess.batch(images[i : i + CHUNK])})[0]
                 for i in range(0, len(images), CHUNK)]
        return np.concatenate(parts)

    def predict_images(self, images: list[Image.Image], top_k: int = 5) -> list[dict[str, Any]]:
        """One JSON-ready prediction per image, in order (the response format of ``ml/score.py``)."""
        probs = self.probabilities(images)
        categories = self.taxonomy.categorize(probs)
        moderation = self._moderator.score(images) if self._moderator and images else [{} for _ in images]
        out = []
        for row, (category, mass), mod in zip(probs, categories, moderation, strict=True):
            best = np.argsort(row)[::-1][:top_k]
            labels = [{"label": self.labels[i], "probability": round(float(row[i]), 6)} for i in best]
            out.append({"labels": labels, "category": category, "category_confidence": round(mass, 6),
                        "confidence": labels[0]["probability"], "moderation": mod})
        return out

    def predict(self, blobs: list[bytes], top_k: int = 5) -> list[dict[str, Any]]:
        """Encoded images -> predictions; a bad image raises ``preprocess.BadImage`` naming its index."""
        return self.predict_images([preprocess.decode(blob, i) for i, blob in enumerate(blobs)], top_k)


_lock = threading.Lock()


def default_scorer() -> Scorer:
    """The process-wide scorer: loaded once, on first use (never at import), even when worker threads race."""
    with _lock:
        return _default_scorer()


@functools.cache
def _default_scorer() -> Scorer:
    return Scorer(moderation=os.environ.get("IMGPIPE_MODERATION", "1") != "0")
