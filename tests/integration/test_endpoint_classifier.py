"""EndpointClassifier against the live azmlinfsrv, and against a scripted loopback server for the failure modes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ml.local_server import running
from shared import errors
from shared.adapters.endpoint_classifier import EndpointClassifier, _retry_after
from shared.ports import Classification

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
NAMES = ("coffee.png", "chelsea.png", "motorcycle_left.png", "rocket.jpg")


def photo(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


def answer(n: int, version: str = "m-1") -> dict[str, Any]:
    labels = [{"label": "espresso", "probability": 0.9}, {"label": "cup", "probability": 0.05}]
    item = {"labels": labels, "category": "kitchen", "confidence": 0.9, "moderation": {"nsfw": 0.01}}
    return {"model_version": version, "predictions": [item] * n}


class Scripted(ThreadingHTTPServer):
    """Answers each POST with the next scripted step: (status, headers, body) or "hang"."""

    daemon_threads = True

    def __init__(self, steps: list[Any]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.steps, self.seen, self.release = list(steps), [], threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/score"


class Handler(BaseHTTPRequestHandler):
    server: Scripted

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        step = self.server.steps.pop(0) if self.server.steps else (500, {}, b"script exhausted")
        if step == "hang":
            self.server.release.wait(10)
            return
        status, headers, payload = step
        if callable(payload):
            payload = payload(body)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[Any]:
    servers: list[Scripted] = []

    def start(*steps: Any) -> Scripted:
        server = Scripted(list(steps))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


def client(url: str, **kwargs: Any) -> tuple[EndpointClassifier, list[float]]:
    sleeps: list[float] = []
    return EndpointClassifier(url, sleep=sleeps.append, **kwargs), sleeps


@pytest.fixture(scope="module")
def live() -> Iterator[str]:
    with running() as base:
        yield base + "/score"


def test_live_server_scores_real_photos(live):
    result = EndpointClassifier(live).classify([photo(n) for n in NAMES])
    assert isinstance(result, Classification) and result.model_version.startswith("efficientnet_lite0_int8-")
    assert result.predictions[0].label == "espresso"
    assert result.predictions[2].label in {"moped", "motor scooter"} and result.predictions[2].category == "vehicles"


def test_live_batches_are_split_and_kept_in_order(live):
    classifier = EndpointClassifier(live, batch_size=2)
    calls: list[int] = []
    send = classifier._send
    classifier._send = lambda payload: calls.append(len(json.loads(payload)["images"])) or send(payload)
    images = [photo(n) for n in (*NAMES, "coffee.png")]
    result = classifier.classify(images)
    assert calls == [2, 2, 1]
    unsplit = EndpointClassifier(live).classify(images)
    assert [p.label for p in result.predictions] == [p.label for p in unsplit.predictions]
    assert result.predictions[0].label == result.predictions[4].label == "espresso"


def test_live_bad_image_is_a_permanent_error_naming_it(live):
    with pytest.raises(errors.PermanentError) as caught:
        EndpointClassifier(live, batch_size=2).classify([photo("coffee.png"), photo("rocket.jpg"), b"junk", b"x"])
    assert caught.value.reason == errors.CORRUPT_IMAGE and "image 2 of the batch" in str(caught.value)


def test_429_then_200_honours_retry_after(scripted):
    server = scripted((429, {"Retry-After": "3"}, b"slow down"), (200, {}, answer(1)))
    classifier, sleeps = client(server.url, key="k3y")
    result = classifier.classify([b"img"])
    assert result.model_version == "m-1" and result.predictions[0].label == "espresso"
    assert sleeps == [3.0] and len(server.seen) == 2
    assert server.seen[0]["headers"]["authorization"] == "Bearer k3y"


def test_a_long_retry_after_is_capped_by_the_setting_and_said(scripted, caplog):
    """Issue 14 item 10: Retry-After: 3600 was cut to 20 s without a word; the cap is ML_ENDPOINT_MAX_RETRY_AFTER."""
    server = scripted((429, {"Retry-After": "3600"}, b"later"), (200, {}, answer(1)))
    classifier, sleeps = client(server.url, max_delay=7.0)
    with caplog.at_level("WARNING"):
        classifier.classify([b"img"])
    assert sleeps == [7.0] and "retry after 3600 s; waiting 7 s (ML_ENDPOINT_MAX_RETRY_AFTER)" in caplog.text


def test_the_endpoint_settings_reach_the_client(monkeypatch):
    from shared.classifiers import EndpointFactory
    from shared.settings import EndpointSettings

    monkeypatch.setenv("ML_ENDPOINT_TIMEOUT", "12.5")
    monkeypatch.setenv("ML_ENDPOINT_MAX_RETRY_AFTER", "3")
    built = EndpointFactory("http://127.0.0.1:9/score", settings=EndpointSettings.from_env())()
    assert (built.timeout, built.max_delay, built.max_attempts) == (12.5, 3.0, 4)
    assert EndpointFactory("http://127.0.0.1:9/score").worst_case(8) == 4 * 30 + 3 * 20  # one request per batch


def test_503_is_retried_with_growing_backoff_then_transient(scripted):
    server = scripted(*[(503, {}, b"busy")] * 4)
    classifier, sleeps = client(server.url, max_attempts=4, base_delay=1.0)
    with pytest.raises(errors.TransientError, match="503"):
        classifier.classify([b"img"])
    assert len(server.seen) == 4 and len(sleeps) == 3
    for attempt, delay in enumerate(sleeps, start=1):
        assert 2 ** (attempt - 1) / 2 <= delay <= 2 ** (attempt - 1)


def test_503_then_success(scripted):
    server = scripted((503, {}, b"busy"), (200, {}, answer(2)))
    result = client(server.url)[0].classify([b"a", b"b"])
    assert len(result.predictions) == 2 and len(server.seen) == 2


@pytest.mark.parametrize("body", [
    b"{not json", answer(3), {"predictions": answer(2)["predictions"]},
    {**answer(2), "predictions": [{"labels": [], "category": "x", "confidence": 0.5, "moderation": {}}] * 2},
    {**answer(2), "predictions": [{**answer(1)["predictions"][0], "confidence": 1.7}] * 2},
], ids=["malformed-json", "wrong-count", "no-version", "no-labels", "bad-probability"])
def test_malformed_answers_are_transient_never_a_label(scripted, body):
    server = scripted((200, {}, body))
    with pytest.raises(errors.TransientError, match="malformed"):
        client(server.url)[0].classify([b"a", b"b"])
    assert len(server.seen) == 1


def test_a_hanging_server_times_out_as_transient(scripted):
    server = scripted("hang", "hang")
    classifier, sleeps = client(server.url, timeout=0.3, max_attempts=2)
    with pytest.raises(errors.TransientError, match="unreachable"):
        classifier.classify([b"img"])
    assert len(server.seen) == 2 and len(sleeps) == 1


def test_401_is_not_retried(scripted):
    server = scripted((401, {}, b"no"))
    with pytest.raises(errors.TransientError, match="401"):
        client(server.url, key="wrong")[0].classify([b"img"])
    assert len(server.seen) == 1


def test_entra_token_and_deployment_header(scripted):
    calls: list[str] = []

    def get_token(scope: str) -> SimpleNamespace:
        calls.append(scope)
        return SimpleNamespace(token="t0k", expires_on=2**31)

    server = scripted((200, {}, answer(1)), (200, {}, answer(1)))
    classifier, _ = client(server.url, credential=SimpleNamespace(get_token=get_token), deployment="blue")
    classifier.classify([b"a"])
    classifier.classify([b"b"])
    assert calls == ["https://ml.azure.com/.default"]  # cached until near expiry
    headers = server.seen[1]["headers"]
    assert headers["authorization"] == "Bearer t0k" and headers["azureml-model-deployment"] == "blue"


def test_versions_must_not_change_between_batches(scripted):
    server = scripted((200, {}, answer(1, "m-1")), (200, {}, answer(1, "m-2")))
    with pytest.raises(errors.TransientError, match="model version changed"):
        client(server.url, batch_size=1)[0].classify([b"a", b"b"])


def test_plain_http_is_refused_off_loopback():
    with pytest.raises(ValueError, match="https"):
        EndpointClassifier("http://example.invalid/score", key="k")


def test_retry_after_forms():
    assert _retry_after({"retry-after-ms": "1500"}) == 1.5
    assert _retry_after({"retry-after": "7"}) == 7.0
    assert _retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert _retry_after({}) is None and _retry_after({"retry-after": "soon"}) is None
