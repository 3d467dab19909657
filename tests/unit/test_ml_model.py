"""The scoring core in-process, on real photos: labels, categories, batching, bad input, taxonomy."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml import preprocess, score
from ml.model import MODEL_FILE, default_scorer, find_model_file
from ml.moderation import MODERATION_FILE, find_moderation_file
from ml.taxonomy import Taxonomy, load_labels
from shared import errors
from shared.adapters.inprocess_classifier import InProcessClassifier

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}


def photo(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


@pytest.fixture(scope="module")
def scorer():
    return default_scorer()


def test_sample_photos_get_sensible_labels_and_categories(scorer):
    coffee, cat, moto, rocket = scorer.predict([photo(n) for n in
                                                ("coffee.png", "chelsea.png", "motorcycle_left.png", "rocket.jpg")])
    assert coffee["labels"][0]["label"] == "espresso" and coffee["confidence"] > 0.8
    assert coffee["category"] == "kitchen"
    assert cat["labels"][0]["label"] in CATS and sum(x["probability"] for x in cat["labels"][:3]) > 0.7
    assert moto["labels"][0]["label"] in {"moped", "motor scooter"} and moto["category"] == "vehicles"
    assert rocket["labels"][0]["label"] in {"missile", "projectile", "space shuttle"}
    for prediction in (coffee, cat, moto, rocket):
        assert 0.0 <= prediction["moderation"]["nsfw"] < 0.2  # none of these is adult content


def test_labels_are_top_k_in_descending_order(scorer):
    [prediction] = scorer.predict([photo("coffee.png")], top_k=7)
    probabilities = [x["probability"] for x in prediction["labels"]]
    assert len(probabilities) == 7 and probabilities == sorted(probabilities, reverse=True)
    assert prediction["confidence"] == probabilities[0] and sum(probabilities) <= 1.0 + 1e-6


def test_a_batch_gives_the_same_answers_as_single_calls_in_order(scorer):
    names = ["rocket.jpg", "coffee.png", "chelsea.png"]
    batched = scorer.predict([photo(n) for n in names])
    for name, prediction in zip(names, batched, strict=True):
        [single] = scorer.predict([photo(name)])
        assert single["labels"][0]["label"] == prediction["labels"][0]["label"]
        assert single["confidence"] == pytest.approx(prediction["confidence"], abs=1e-4)


def test_model_version_is_the_identity_of_both_files(scorer):
    path, moderation = find_model_file(), find_moderation_file()
    assert path.name == MODEL_FILE and moderation.name == MODERATION_FILE
    assert scorer.model_version == "+".join(f"{p.stem}-{hashlib.sha256(p.read_bytes()).hexdigest()[:12]}"
                                            for p in (path, moderation))


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares a size but carries no pixels: what a decompression bomb looks like up front."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


@pytest.mark.parametrize(("data", "code"), [
    (b"%PDF-1.7 not an image", "bad_image"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "bad_image"),
    (png_header(9000, 9000), "too_many_pixels"),  # 81 MP: over our 64 MP cap, under Pillow's own
], ids=["pdf", "svg", "bomb"])
def test_bad_images_are_refused_with_their_index(scorer, data, code):
    with pytest.raises(preprocess.BadImage) as caught:
        scorer.predict([photo("coffee.png"), data])
    assert caught.value.index == 1 and caught.value.code == code and "images[1]" in str(caught.value)


def test_a_truncated_image_is_refused(scorer):
    with pytest.raises(preprocess.BadImage, match="images\\[0\\]"):
        scorer.predict([photo("rocket.jpg")[:5000]])


def test_odd_modes_become_rgb_with_white_behind_transparency():
    clear = Image.new("RGBA", (300, 260), (0, 0, 0, 0))
    assert preprocess.to_rgb(clear).getpixel((5, 5)) == (255, 255, 255)
    deep = Image.fromarray(np.full((260, 300), 65535, dtype=np.uint16))
    assert preprocess.to_rgb(deep).getpixel((0, 0)) == (255, 255, 255)
    assert preprocess.to_rgb(Image.new("CMYK", (4, 4))).mode == "RGB"
    assert preprocess.batch([preprocess.to_rgb(clear)]).shape == (1, 3, 224, 224)


def test_taxonomy_refuses_unknown_or_duplicated_labels(tmp_path):
    labels = load_labels()
    bad = tmp_path / "t.json"
    bad.write_text(json.dumps({"default": "other", "categories": {"bags": ["backpack", "no such thing"]}}))
    with pytest.raises(ValueError, match="no such thing"):
        Taxonomy.load(labels, bad)
    bad.write_text(json.dumps({"default": "other", "categories": {"bags": ["purse"], "apparel": ["purse"]}}))
    with pytest.raises(ValueError, match="more than one category"):
        Taxonomy.load(labels, bad)


def test_category_follows_probability_mass_not_only_the_top_label():
    labels = load_labels()
    taxonomy = Taxonomy.load(labels)
    probs = np.zeros((1, 1000), dtype=np.float32)
    probs[0, labels.index("running shoe")], probs[0, labels.index("sandal")] = 0.25, 0.25
    probs[0, labels.index("tabby")] = 0.4
    [(category, mass)] = taxonomy.categorize(probs)
    assert (category, round(mass, 2)) == ("footwear", 0.5)


def test_inprocess_adapter_maps_to_the_port_and_bad_images_to_permanent_errors(scorer):
    classifier = InProcessClassifier(scorer)
    result = classifier.classify([photo("coffee.png"), photo("motorcycle_left.png")])
    assert result.model_version == scorer.model_version == classifier.model_version
    assert result.predictions[0].label == "espresso"
    assert result.predictions[1].category == "vehicles" and "nsfw" in result.predictions[1].moderation
    with pytest.raises(errors.PermanentError) as caught:
        classifier.classify([b"not an image"])
    assert caught.value.reason == errors.CORRUPT_IMAGE


def test_score_run_without_the_server_returns_results_and_error_dicts(scorer):
    body = json.dumps({"images": [base64.b64encode(photo("coffee.png")).decode()], "top_k": 2})
    answer = score.run(body)
    assert answer["model_version"] == scorer.model_version
    assert answer["predictions"][0]["labels"][0]["label"] == "espresso"
    assert len(answer["predictions"][0]["labels"]) == 2
    if score.AMLResponse is None:
        assert score.run("{not json")["error"]["code"] == "bad_json"


@pytest.mark.parametrize(("body", "code"), [
    ("", "bad_json"),
    ("[1, 2]", "bad_request"),
    ('{"images": []}', "bad_request"),
    ('{"images": ["aGk="], "top_k": 0}', "bad_request"),
    ('{"images": ["aGk="], "top_k": true}', "bad_request"),
    ('{"images": [17]}', "bad_base64"),
    ('{"images": ["***"]}', "bad_base64"),
    (json.dumps({"images": ["aGk="] * (score.MAX_IMAGES + 1)}), "too_many_images"),
])
def test_score_request_validation(body, code):
    with pytest.raises(score.RequestError) as caught:
        score.parse_request(body)
    assert caught.value.code == code and str(caught.value)


def test_a_tiny_image_still_scores(scorer):
    buffer = io.BytesIO()
    Image.new("RGB", (7, 5), (200, 30, 30)).save(buffer, "GIF")
    [prediction] = scorer.predict([buffer.getvalue()])
    assert len(prediction["labels"]) == 5
