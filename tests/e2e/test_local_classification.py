"""``imgpipe run`` with the real model, in-process and through Microsoft's inference server,
then a person reviewing what the model was unsure of."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from imgpipe.cli import cli
from imgpipe.samples import seed
from ml.local_server import running


def invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.stdout  # logs go to stderr


def by_name(data_dir: Path) -> dict[str, dict]:
    records = json.loads(invoke("--data-dir", str(data_dir), "records", "--json"))
    return {r["raw_name"]: r for r in records}


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("classified")
    seed(data_dir / "uploads")
    invoke("--data-dir", str(data_dir), "run", "--settle", "0", "--workers", "1", "--quiet")
    return data_dir


def test_sample_photos_are_classified_into_product_categories(in_process):
    records = by_name(in_process)
    coffee, moto = records["coffee.png"], records["motorcycle_left.png"]
    assert (coffee["status"], coffee["label"], coffee["category"]) == ("classified", "espresso", "kitchen")
    assert (moto["label"], moto["category"]) == ("moped", "vehicles")
    assert coffee["model_version"].startswith("efficientnet_lite0") and len(coffee["predictions"]) == 1
    assert records["copy of chelsea.png"]["status"] == "duplicate" and not records["copy of chelsea.png"]["predictions"]
    assert records["definitely-a-photo.jpg"]["status"] == "rejected"


def test_low_confidence_goes_to_a_human(in_process):
    cat = by_name(in_process)["chelsea.png"]
    assert cat["status"] == "needs_review" and cat["reason"] == "low_confidence" and cat["confidence"] < 0.5
    waiting = json.loads(invoke("--data-dir", str(in_process), "review", "list", "--json"))
    assert cat["upload_id"] in {w["upload_id"] for w in waiting}


def test_review_accept_and_correct(in_process):
    records = by_name(in_process)
    cat, rocket = records["chelsea.png"], records["rocket.jpg"]
    invoke("--data-dir", str(in_process), "review", "set", cat["upload_id"], "--category", "pet supplies",
           "--reviewer", "alice")
    invoke("--data-dir", str(in_process), "review", "accept", rocket["upload_id"], "--reviewer", "bob")
    invoke("--data-dir", str(in_process), "review", "set", rocket["upload_id"], code=2)  # nothing to set
    after = by_name(in_process)
    assert (after["chelsea.png"]["status"], after["chelsea.png"]["category"]) == ("classified", "pet supplies")
    assert after["chelsea.png"]["label"] == cat["label"]  # only the category was corrected
    assert [p["model_version"] for p in after["rocket.jpg"]["predictions"]][-1] == "human:bob"
    invoke("--data-dir", str(in_process), "review", "accept", "0" * 32, code=2)


def test_the_endpoint_gives_the_same_answers_as_in_process(in_process, tmp_path):
    seed(tmp_path / "uploads")
    with running() as base:
        invoke("--data-dir", str(tmp_path), "run", "--settle", "0", "--workers", "1", "--quiet",
               "--classifier", f"{base}/score")
    remote, local = by_name(tmp_path), by_name(in_process)
    for name in ("coffee.png", "motorcycle_left.png", "sideways phone photo.jpg"):
        assert remote[name]["label"] == local[name]["label"]
        assert remote[name]["model_version"] == local[name]["model_version"]
        assert remote[name]["confidence"] == pytest.approx(local[name]["confidence"], abs=1e-3)
