"""The scoring core: image bytes -> labels, category, confidence and moderation, with one model load per process.

Both runtimes call this very code: Azure ML through ``ml/score.py`` and the
local runtime in-process (``shared.adapters.inprocess_classifier``), so a
label means the same thing wherever it was computed. ``model_version`` is
derived from the model files' bytes, not from a hand-maintained string, so
two records carry the same version exactly when the same weights scored them:
``<classifier>-<sha12>`` plus ``+<moderation model>-<sha12>`` when moderation
runs, so it changes when either model does.

Each image is decoded once; both models get their tensors from that decoded
image, batched over all images of the call. Session threads follow the one
rule in ``ml/threads.py``.
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

from ml import preprocess, threads
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


class Scorer:
    """An ONNX Runtime session for the classifier (+ the moderation model), safe to share across threads.

    ``workers``: processes on this machine that each hold a Scorer (``ml/threads.py``; default from
    ``IMGPIPE_WORKERS``). ``moderation_path``: another Open-NSFW graph (benchmarks compare the package's).
    """

    def __init__(self, model_path: Path | None = None, taxonomy_path: Path | None = None,
                 moderation: bool = True, workers: int | None = None, moderation_path: Path | None = None) -> None:
        path = Path(model_path) if model_path else find_model_file()
        options = threads.session_options(sessions=2 if moderation else 1, workers=workers)
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.model_path = path
        self.labels = load_labels()
        self.taxonomy = Taxonomy.load(self.labels, taxonomy_path or TAXONOMY_PATH)
        self.moderator = None
        self.model_version = model_version_of(path)
        if moderation:
            from ml.moderation import Moderator

            self.moderator = Moderator(options, moderation_path)
            self.model_version += f"+{self.moderator.model_version}"

    def probabilities(self, images: list[Image.Image]) -> np.ndarray:
        """(N, 1000) class probabilities for decoded RGB images."""
        if not images:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self.probabilities_of(preprocess.batch(images))

    def probabilities_of(self, batch: np.ndarray) -> np.ndarray:
        """(N, 1000) class probabilities for a preprocessed (N, 3, 224, 224) batch, scored in chunks."""
        return np.concatenate([self._session.run(None, {self._input: batch[i : i + CHUNK]})[0]
                               for i in range(0, len(batch), CHUNK)])

    def predict_images(self, images: list[Image.Image], top_k: int = 5) -> list[dict[str, Any]]:
        """One JSON-ready prediction per decoded image, in order (the response format of ``ml/score.py``).

        Both models read the same decoded images; each gets its batch of tensors in one pass.
        """
        probs = self.probabilities(images)
        categories = self.taxonomy.categorize(probs)
        moderation = self.moderator.score(images) if self.moderator else [{} for _ in images]
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
_workers: int | None = None


def default_scorer(workers: int | None = None) -> Scorer:
    """The process-wide scorer: loaded once, on first use (never at import), even when worker threads race.

    ``workers`` only matters before it is loaded (``ml/score.py`` passes Azure ML's worker count).
    """
    global _workers
    with _lock:
        if workers is not None:
            _workers = workers
        return _default_scorer()


@functools.cache
def _default_scorer() -> Scorer:
    return Scorer(moderation=os.environ.get("IMGPIPE_MODERATION", "1") != "0", workers=_workers)
