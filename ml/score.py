"""Azure ML entry script: ``init()`` once per worker, ``run(raw_data)`` per request.

Request:  ``{"images": ["<base64 of the image bytes>", ...], "top_k": 5}`` (``top_k`` optional).
Response: ``{"model_version": "...", "predictions": [{"labels": [...], "category": "...",
"category_confidence": 0.97, "confidence": 0.95, "moderation": {"nsfw": 0.01}}, ...]}``,
one prediction per image, in order.

A bad request gets HTTP 400 and ``{"error": {"code", "message"[, "index"]}}``
so a client can tell its own mistake (never retried) from a server fault
(5xx, retried). The error is built with ``AMLResponse``, which
azureml-inference-server-http serves as ``azureml.contrib.services``; outside
the server (plain unit tests) the same error dict is returned instead. A
failure we did not foresee propagates: the server logs the traceback and
answers a generic 500, so no stack trace ever reaches a caller.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any


def _as_ml_package() -> None:
    """Azure ML loads this file by path from wherever it mounted the code folder: make that folder ``ml``."""
    if "ml" in sys.modules:
        return
    here = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location("ml", here / "__init__.py", submodule_search_locations=[str(here)])
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the ml package from {here}")
    package = importlib.util.module_from_spec(spec)
    sys.modules["ml"] = package
    spec.loader.exec_module(package)


_as_ml_package()
from ml import model, preprocess, threads  # noqa: E402

try:
    from azureml.contrib.services.aml_response import AMLResponse
except ImportError:  # not running inside azureml-inference-server-http
    AMLResponse = None

log = logging.getLogger("imgpipe.score")

MAX_IMAGES = int(os.environ.get("IMGPIPE_SCORE_MAX_IMAGES") or 32)
MAX_IMAGE_BYTES = int(os.environ.get("IMGPIPE_SCORE_MAX_IMAGE_BYTES") or 20 * 1024 * 1024)
MAX_TOP_K = 20
# azmlinfsrv runs WORKER_COUNT gunicorn worker processes, each with its own init(): they share the cores.
WORKER_COUNT_ENV = "WORKER_COUNT"
DEFAULT_TOP_K = 5

_scorer: model.Scorer | None = None


class RequestError(ValueError):
    """The request itself is wrong (shape, count, encoding); ``code`` is a stable machine-readable word."""

    def __init__(self, code: str, message: str, index: int | None = None) -> None:
        self.code, self.index = code, index
        super().__init__(message)


def init() -> None:
    """Load both models once per worker process (the liveness probe waits for this)."""
    global _scorer
    _scorer = model.default_scorer(workers=threads.workers_from_env(WORKER_COUNT_ENV))
    log.info("model %s loaded from %s", _scorer.model_version, _scorer.model_path)


def run(raw_data: str) -> Any:
    """Score the images in one request; a bad request gets a 400 with a message, never a traceback."""
    scorer = _scorer or model.default_scorer(workers=threads.workers_from_env(WORKER_COUNT_ENV))
    try:
        images, top_k = parse_request(raw_data)
        predictions = scorer.predict(images, top_k)
    except RequestError as exc:
        return error_response(exc.code, str(exc), exc.index)
    except preprocess.BadImage as exc:
        return error_response(exc.code, str(exc), exc.index)
    return {"model_version": scorer.model_version, "predictions": predictions}


def parse_request(raw_data: str | bytes) -> tuple[list[bytes], int]:
    """Validate the JSON body and decode the base64 images; raise RequestError naming what is wrong."""
    if not raw_data:
        raise RequestError("bad_json", "request body is empty; send JSON with Content-Type: application/json")
    try:
        body = json.loads(raw_data)
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: nested deeper than the parser goes
        raise RequestError("bad_json", f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("images"), list):
        raise RequestError("bad_request", 'expected a JSON object like {"images": ["<base64>", ...], "top_k": 5}')
    items = body["images"]
    if not items:
        raise RequestError("bad_request", '"images" is empty')
    if len(items) > MAX_IMAGES:
        raise RequestError("too_many_images", f"{len(items)} images in one request; the limit is {MAX_IMAGES}")
    top_k = body.get("top_k", DEFAULT_TOP_K)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise RequestError("bad_request", f'"top_k" must be an integer from 1 to {MAX_TOP_K}')
    return [decode_base64(item, i) for i, item in enumerate(items)], top_k


def decode_base64(item: object, index: int) -> bytes:
    if not isinstance(item, str):
        raise RequestError("bad_base64", f"images[{index}] is not a base64 string", index)
    if len(item) > (MAX_IMAGE_BYTES * 4) // 3 + 4:
        raise RequestError("image_too_large", f"images[{index}] is larger than {MAX_IMAGE_BYTES} bytes", index)
    try:
        data = base64.b64decode(item, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError("bad_base64", f"images[{index}] is not valid base64", index) from None
    if not data:
        raise RequestError("bad_image", f"images[{index}] is empty", index)
    return data


def error_response(code: str, message: str, index: int | None = None) -> Any:
    """HTTP 400 with a JSON error body (a plain dict when not served by azmlinfsrv)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if index is not None:
        error["index"] = index
    log.info("rejected request: %s", message)
    if AMLResponse is None:
        return {"error": error}
    return AMLResponse({"error": error}, 400, json_str=True)
