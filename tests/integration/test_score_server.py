"""ml/score.py under Microsoft's Azure ML inference server (azmlinfsrv), over HTTP, on real photos."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ml.local_server import running
from ml.model import default_scorer

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
NAMES = ("coffee.png", "chelsea.png", "motorcycle_left.png", "rocket.jpg")
EXPECTED = {
    "coffee.png": ({"espresso", "cup", "coffee mug"}, "kitchen"),
    "chelsea.png": ({"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}, "other"),
    "motorcycle_left.png": ({"moped", "motor scooter"}, "vehicles"),
    "rocket.jpg": ({"missile", "projectile", "space shuttle"}, "other"),
}


@pytest.fixture(scope="module")
def server():
    with running() as base:
        yield base


def b64(name: str) -> str:
    return base64.b64encode((PHOTOS / name).read_bytes()).decode("ascii")


def post(base: str, body: bytes | str, content_type: str = "application/json") -> tuple[int, Any]:
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(base + "/score", data=data, method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def test_liveness_route_answers(server):
    with urllib.request.urlopen(server + "/", timeout=10) as response:
        assert response.status == 200


def test_real_photos_get_sensible_labels_in_request_order(server):
    status, answer = post(server, json.dumps({"images": [b64(n) for n in NAMES], "top_k": 3}))
    assert status == 200
    assert answer["model_version"] == default_scorer().model_version
    assert len(answer["predictions"]) == len(NAMES)
    for name, prediction in zip(NAMES, answer["predictions"], strict=True):
        labels, category = EXPECTED[name]
        assert prediction["labels"][0]["label"] in labels, (name, prediction["labels"])
        assert prediction["category"] == category
        assert len(prediction["labels"]) == 3
        assert prediction["confidence"] == prediction["labels"][0]["probability"]
        assert 0.0 <= prediction["moderation"]["nsfw"] < 0.2
    assert answer["predictions"][0]["confidence"] > 0.8  # espresso, clearly


def test_server_and_in_process_agree(server):
    _, answer = post(server, json.dumps({"images": [b64("motorcycle_left.png")]}))
    [local] = default_scorer().predict([(PHOTOS / "motorcycle_left.png").read_bytes()])
    remote = answer["predictions"][0]
    assert [x["label"] for x in remote["labels"]] == [x["label"] for x in local["labels"]]
    assert remote["confidence"] == pytest.approx(local["confidence"], abs=1e-4)


@pytest.mark.parametrize(("body", "code", "index"), [
    ("this is not json", "bad_json", None),
    ("[" * 100_000 + "]" * 100_000, "bad_json", None),
    ('{"pictures": []}', "bad_request", None),
    ('{"images": ["@@not base64@@"]}', "bad_base64", 0),
    (json.dumps({"images": [b64("coffee.png"), base64.b64encode(b"hello").decode()]}), "bad_image", 1),
    (json.dumps({"images": ["aGk="] * 33}), "too_many_images", None),
    ('{"images": ["aGk="], "top_k": 5000}', "bad_request", None),
], ids=["not-json", "nested-too-deep", "no-images", "not-base64", "not-an-image", "too-many", "bad-top-k"])
def test_bad_requests_get_400_with_a_clear_message(server, body, code, index):
    status, answer = post(server, body)
    assert status == 400
    assert answer["error"]["code"] == code
    assert answer["error"].get("index") == index
    assert answer["error"]["message"] and "Traceback" not in answer["error"]["message"]


def test_a_form_post_is_told_to_send_json(server):
    status, answer = post(server, "images=1", content_type="application/x-www-form-urlencoded")
    assert status == 400 and "application/json" in answer["error"]["message"]
