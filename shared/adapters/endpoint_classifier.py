"""Classifier port over HTTP: an Azure ML online endpoint (or azmlinfsrv running ``ml/score.py`` locally).

Failure policy, in the terms of ``shared.errors``: throttling (429), server
faults (5xx), timeouts and broken connections are retried here a few times
with exponential backoff, honouring ``Retry-After`` up to ``ML_ENDPOINT_MAX_RETRY_AFTER``
(a longer wait is capped, with a warning), and then raised as ``BatchError``
(the whole batch failed: it is not retried image by image) so the queue
retries later and finally dead-letters. A 400 that names a bad image is a
property of that image: ``PermanentError``. A response that does not have the
documented shape is never guessed at: it is a ``BatchError``, so no record
ever gets a made-up label. Whatever the endpoint answers is untrusted text:
it reaches errors, records and logs redacted (an endpoint that echoes its
request would otherwise hand back the key) and on one line.
"""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import random
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from shared import errors
from shared.logs import register_secret, safe
from shared.ports import Classification, Classifier, Prediction

log = logging.getLogger(__name__)
ML_SCOPE = "https://ml.azure.com/.default"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Error codes of ml/score.py that say "this image", mapped to the pipeline's reason codes.
IMAGE_ERRORS = {"bad_image": errors.CORRUPT_IMAGE, "image_too_large": errors.FILE_TOO_LARGE,
                "too_many_pixels": errors.TOO_MANY_PIXELS}


class EndpointClassifier(Classifier):
    """Key auth when ``key`` is given, else an Entra token (managed identity in Azure); none on loopback."""

    def __init__(self, url: str, key: str | None = None, *, deployment: str | None = None,
                 timeout: float = 30.0, max_attempts: int = 4, base_delay: float = 0.5, max_delay: float = 20.0,
                 batch_size: int = 16, top_k: int = 5, credential: Any = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        parts = urlsplit(url)
        loopback = parts.hostname in LOOPBACK_HOSTS
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError(f"scoring URI must be https (plain http only on loopback): {url}")
        register_secret(key)
        self.url, self.key, self.deployment = url, key, deployment
        self.timeout, self.max_attempts, self.batch_size, self.top_k = timeout, max_attempts, batch_size, top_k
        self.base_delay, self.max_delay, self._sleep = base_delay, max_delay, sleep
        self._use_token = key is None and (credential is not None or not loopback)
        self._credential, self._token, self._token_expiry = credential, "", 0.0
        self.model_version: str | None = None  # known after the first answer

    def classify(self, images: list[bytes]) -> Classification:
        """Score in batches of ``batch_size``; all batches must come from one model version."""
        predictions: list[Prediction] = []
        version = None
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            payload = {"images": [base64.b64encode(b).decode("ascii") for b in chunk], "top_k": self.top_k}
            result = parse_classification(self._post(json.dumps(payload).encode(), start), len(chunk))
            if version not in (None, result.model_version):
                raise errors.BatchError(f"model version changed mid-request ({version} -> "
                                            f"{result.model_version}); pin the deployment or retry")
            version = result.model_version
            predictions.extend(result.predictions)
        self.model_version = version or self.model_version
        return Classification(version or self.model_version or "", predictions)

    def _post(self, payload: bytes, offset: int) -> Any:
        """One scoring call with retries; returns the decoded JSON body of a 200."""
        for attempt in range(1, self.max_attempts + 1):
            retry_after = None
            try:
                status, headers, body = self._send(payload)
            except (urllib.error.URLError, HTTPException, OSError) as exc:
                failure = errors.BatchError(f"scoring endpoint unreachable: {safe(str(getattr(exc, 'reason', exc)))}")
            else:
                if status == 200:
                    return _json(body)
                if status == 400:
                    raise bad_request(body, offset)
                failure = errors.BatchError(f"scoring endpoint answered {status}: {_shown(body)}")
                if status not in RETRY_STATUSES:
                    raise failure
                retry_after = _retry_after(headers)
            if attempt == self.max_attempts:
                raise failure
            self._sleep(self._delay(attempt, retry_after))
        raise AssertionError("unreachable")

    def worst_case(self) -> float:
        """Seconds one request can take against an endpoint that hangs on every attempt."""
        return self.max_attempts * self.timeout + (self.max_attempts - 1) * self.max_delay

    def _send(self, payload: bytes) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.url, data=payload, method="POST", headers=self._headers())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": "imgpipe", "x-ms-client-request-id": str(uuid.uuid4())}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        elif self._use_token:
            headers["Authorization"] = f"Bearer {self._entra_token()}"
        if self.deployment:
            headers["azureml-model-deployment"] = self.deployment
        return headers

    def _entra_token(self) -> str:
        """A token for Azure ML, refreshed five minutes before it expires."""
        if not self._token or time.time() > self._token_expiry - 300:
            if self._credential is None:
                from azure.identity import DefaultAzureCredential

                self._credential = DefaultAzureCredential()
            try:
                token = self._credential.get_token(ML_SCOPE)
            except Exception as exc:  # azure-identity raises several unrelated types
                raise errors.BatchError(f"no Entra token for Azure ML: {safe(str(exc))[:300]}") from None
            self._token, self._token_expiry = token.token, float(token.expires_on)
        return self._token

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            if retry_after > self.max_delay:
                log.warning("the scoring endpoint asked to retry after %.0f s; waiting %.0f s "
                            "(ML_ENDPOINT_MAX_RETRY_AFTER)", retry_after, self.max_delay)
            return min(self.max_delay, retry_after)
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return backoff / 2 + random.uniform(0, backoff / 2)  # jitter: clients throttled together spread out


def _retry_after(headers: dict[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms``/``x-ms-retry-after-ms`` or ``Retry-After`` (seconds or date)."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        if headers.get(name, "").strip().isdigit():
            return int(headers[name]) / 1000
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise errors.BatchError(f"scoring endpoint sent malformed JSON: {_shown(body)}") from None


def bad_request(body: bytes, offset: int) -> errors.PipelineError:
    """A 400: permanent when ml/score.py blames an image, transient (our bug or config) otherwise."""
    try:
        error = json.loads(body)["error"]
        code, message, index = error["code"], error["message"], error.get("index")
    except (ValueError, KeyError, TypeError):
        return errors.BatchError(f"scoring endpoint rejected the request: {_shown(body)}")
    if code in IMAGE_ERRORS and isinstance(index, int):
        return errors.PermanentError(IMAGE_ERRORS[code], f"image {offset + index} of the batch: {safe(str(message))}")
    return errors.BatchError(f"scoring endpoint rejected the request ({safe(str(code))}): {safe(str(message))}")


def _shown(body: bytes) -> str:
    """The start of an answer for an error message: redacted, escaped, short."""
    return safe(repr(body[:300]))


def parse_classification(body: Any, expected: int) -> Classification:
    """Validate the documented response shape and map it to the port's types; anything else is transient."""
    try:
        version, items = body["model_version"], body["predictions"]
        if not (isinstance(version, str) and version and isinstance(items, list) and len(items) == expected):
            raise ValueError(f"expected model_version and {expected} predictions")
        return Classification(version, [_prediction(item) for item in items])
    except (KeyError, TypeError, ValueError) as exc:
        raise errors.BatchError(f"malformed classification response: {safe(repr(exc))[:300]}") from None


def _prediction(item: dict[str, Any]) -> Prediction:
    labels = [{"label": _text(x["label"]), "probability": _probability(x["probability"])} for x in item["labels"]]
    if not labels:
        raise ValueError("a prediction without labels")
    moderation = {_text(k): _probability(v) for k, v in item["moderation"].items()}
    return Prediction(label=labels[0]["label"], category=_text(item["category"]),
                      confidence=_probability(item["confidence"]), labels=labels, moderation=moderation)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


def _probability(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"expected a probability in [0, 1], got {value!r}")
    return float(value)
