"""The models alone, in-process on one thread, and ``ml/score.py`` behind azmlinfsrv.

Inputs are what the classify stage really scores: silver images (the 12 MP
benchmark photos cleansed to 512 px JPEGs). Model rows time ``session.run``
on preprocessed batches of 8 (the local worker's classify batch) at one
intra-op thread and report process CPU per image, the best of ``repeats``.
The azmlinfsrv rows send batches of 8 over HTTP and report wall time per
image and the server's CPU per image (its process tree, from /proc).
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from benchmarks.cpu import tree_cpu
from ml import preprocess, threads
from ml.moderation import Moderator

BATCH = 8


def silver_images(corpus: Path, count: int = 8) -> list[bytes]:
    from shared.imaging import cleanse
    from shared.settings import Limits

    paths = sorted(corpus.rglob("*.jpg"))[:count]
    return [cleanse(p.read_bytes(), Limits()).data for p in paths]


def cpu_per_item(call: Callable[[], object], items: int, repeats: int) -> float:
    """Best-of-``repeats`` process CPU milliseconds per item of one ``call()``, after a warm-up call."""
    call()
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    return best / items * 1000


def _one_thread() -> object:
    os.environ[threads.THREADS_ENV] = "1"
    return threads.session_options(sessions=1, workers=1)


def model_rows(silver: list[bytes], models: dict[str, Path], repeats: int) -> list[tuple[str, float]]:
    """(label, CPU ms per image) for each model file; labels starting "classifier" take the classifier input."""
    import onnxruntime as ort

    images = [preprocess.decode(b) for b in silver[:BATCH]]
    cls_in, mod_in = preprocess.batch(images), preprocess.moderation_batch(images)
    rows = [("preprocessing: decode silver, both models' tensors",
             cpu_per_item(lambda: [preprocess.decode(b) for b in silver[:BATCH]] and
                          (preprocess.batch(images), preprocess.moderation_batch(images)), BATCH, repeats))]
    options = _one_thread()
    for label, path in models.items():
        if label.startswith("classifier"):
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            rows.append((label, cpu_per_item(lambda s=session, n=name: s.run(None, {n: cls_in}), BATCH, repeats)))
        else:
            moderator = Moderator(options, path)
            rows.append((label, cpu_per_item(lambda m=moderator: m.nsfw(mod_in), BATCH, repeats)))
    return rows


def server_rows(silver: list[bytes], requests: int, env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, server CPU ms) per image for ``requests`` scoring requests of BATCH silver images."""
    from ml.local_server import serving

    body = json.dumps({"images": [base64.b64encode(b).decode() for b in silver[:BATCH]]}).encode()

    def post(url: str) -> None:
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            json.loads(response.read())

    with serving(env=env) as (base, proc):
        post(base + "/score")
        cpu0, start = tree_cpu(proc.pid), time.perf_counter()
        for _ in range(requests):
            post(base + "/score")
        wall, cpu = time.perf_counter() - start, tree_cpu(proc.pid) - cpu0
    images = requests * BATCH
    return wall / images * 1000, cpu / images * 1000
