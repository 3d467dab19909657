"""Every operations command on both backends: the same command, the same behaviour, local and Azure.

Azure runs against Azurite and the Cosmos DB stand-in (no Service Bus: its
dead letters are covered by tests/servicebus and the unit tests of the policy).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import ml.model
from imgpipe.cli import cli
from shared.adapters.azure_blob import AzureBlobStore
from shared.azure import connections
from shared.layout import IMAGE_CONTAINERS
from tests import corpus

PHOTOS = [corpus.jpeg(corpus.photo(900, 600, seed=s)) for s in (1, 2, 3)]


@dataclass
class Backend:
    name: str
    global_args: list[str]
    put: Callable[[str, bytes, int], None]  # (path under uploads/, bytes, mtime seconds)

    def invoke(self, *args: str, code: int = 0) -> str:
        result = CliRunner().invoke(cli, [*self.global_args, *args, "--backend", self.name], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.stdout  # logs go to stderr

    def records(self, *args: str) -> list[dict]:
        return json.loads(self.invoke("records", "--json", *args))

    def run(self, classifier: str = "none") -> dict:
        return json.loads(self.invoke("run", "--settle", "0", "--workers", "1", "--classifier", classifier, "--json"))


def _local(tmp_path: Path) -> Backend:
    def put(rel: str, data: bytes, mtime: int) -> None:
        path = tmp_path / "uploads" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))

    return Backend("local", ["--data-dir", str(tmp_path)], put)


def _azure() -> Backend:
    store = AzureBlobStore(connections.blob_service_client())
    store.ensure_containers(IMAGE_CONTAINERS)
    last: list[int] = [0]

    def put(rel: str, data: bytes, _mtime: int) -> None:
        # Last-Modified (the upload_ts) has whole seconds: two writes in one second would tie, and a
        # re-upload would then be ordered by upload id. The order the test means needs distinct seconds.
        while int(time.time()) <= last[0]:
            time.sleep(0.05)
        store.put(f"uploads/{rel}", data)
        last[0] = int(time.time())

    return Backend("azure", [], put)


@pytest.fixture(params=["local", "azure"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "local":
        yield _local(tmp_path)
    else:
        request.getfixturevalue("azure_env")
        yield _azure()


def test_reprocess_recomputes_only_records_made_by_other_rules(backend: Backend, monkeypatch) -> None:
    backend.put("s1/a.jpg", PHOTOS[0], 1_700_000_000)
    backend.put("s1/b.jpg", PHOTOS[1], 1_700_000_001)
    backend.put("s2/copy-of-a.jpg", PHOTOS[0], 1_700_000_002)
    backend.put("s2/page.jpg", b"<html>no</html>", 1_700_000_003)
    backend.run()
    assert "would reprocess 0" in backend.invoke("reprocess", "--dry-run")  # nothing changed: nothing to do
    before = {r["raw_name"]: r for r in backend.records()}
    monkeypatch.setenv("IMGPIPE_MAX_SIDE", "256")
    assert "would reprocess 3" in backend.invoke("reprocess", "--dry-run")  # two originals and the duplicate
    assert "would reprocess 1" in backend.invoke("reprocess", "--dry-run", "--user", "s2", "--status", "duplicate")
    report = json.loads(backend.invoke("reprocess", "--workers", "1", "--classifier", "none", "--json"))
    assert report["resumed"] == 3
    after = {r["raw_name"]: r for r in backend.records()}
    for name in ("a.jpg", "b.jpg", "copy-of-a.jpg"):
        assert after[name]["cleanse_version"] == "r1-256px-q85" != before[name]["cleanse_version"]
        assert max(after[name]["cleansed_width"], after[name]["cleansed_height"]) == 256
    assert after["copy-of-a.jpg"]["status"] == "duplicate" and after["page.jpg"] == before["page.jpg"]
    again = json.loads(backend.invoke("reprocess", "--workers", "1", "--classifier", "none", "--json"))
    assert again["resumed"] == 0 and again["handled"] == 0 and backend.records() == list(after.values())


def test_a_reupload_with_new_bytes_supersedes_the_old_record(backend: Backend) -> None:
    backend.put("s1/shoe.jpg", PHOTOS[0], 1_700_000_000)
    backend.run()
    (old,) = backend.records()
    backend.put("s1/shoe.jpg", PHOTOS[1], 1_700_000_100)  # the seller replaces the photo
    backend.run()
    (current,) = backend.records()
    both = {r["upload_id"]: r for r in backend.records("--all")}
    assert len(both) == 2 and current["upload_id"] != old["upload_id"]
    assert current["supersedes"] == old["upload_id"] and current["superseded_by"] is None
    assert both[old["upload_id"]]["superseded_by"] == current["upload_id"]
    assert both[old["upload_id"]]["status"] == "gold"  # history keeps its state
    backend.put("s1/shoe.jpg", PHOTOS[1], 1_700_000_200)  # the same bytes again: a duplicate, nothing superseded
    backend.run()
    latest = {r["upload_id"]: r for r in backend.records()}
    assert latest[current["upload_id"]]["superseded_by"] is None and len(latest) == 2
    assert {r["status"] for r in latest.values()} == {"gold", "duplicate"}


def test_records_left_at_gold_are_classified_by_the_next_run_with_a_classifier(backend: Backend,
                                                                               monkeypatch) -> None:
    monkeypatch.setenv("CLASSIFY_CONFIDENCE_THRESHOLD", "0.999")  # every prediction goes to a person
    backend.put("s1/a.jpg", PHOTOS[0], 1_700_000_000)
    backend.put("s1/b.jpg", PHOTOS[1], 1_700_000_001)
    backend.run("none")
    assert {r["status"] for r in backend.records()} == {"gold"}
    report = backend.run("local")
    assert report["resumed"] == 2 and {r["status"] for r in backend.records()} == {"needs_review"}
    waiting = json.loads(backend.invoke("review", "list", "--json"))
    assert len(waiting) == 2 and all(row["labels"] for row in waiting)
    first, second = (row["upload_id"] for row in waiting)
    backend.invoke("review", "accept", first, "--reviewer", "ann")
    backend.invoke("review", "set", second, "--category", "apparel", "--label", "t-shirt", "--reviewer", "bob")
    decided = {r["upload_id"]: r for r in backend.records()}
    assert decided[first]["status"] == decided[second]["status"] == "classified"
    assert (decided[second]["category"], decided[second]["label"]) == ("apparel", "t-shirt")
    assert decided[second]["predictions"][-1]["model_version"] == "human:bob"
    assert json.loads(backend.invoke("review", "list", "--json")) == []
    backend.invoke("review", "accept", "f" * 32, code=2)  # no such record: one line, exit 2


def test_reclassify_rescores_exactly_the_records_of_another_model_version(backend: Backend, tmp_path,
                                                                         monkeypatch) -> None:
    backend.put("s1/a.jpg", PHOTOS[0], 1_700_000_000)
    backend.put("s1/b.jpg", PHOTOS[2], 1_700_000_001)
    backend.run("local")
    old_version = backend.records()[0]["model_version"]
    assert "re-scored 0 record(s)" in backend.invoke("reclassify")
    reviewed = backend.records()[0]["upload_id"]
    backend.invoke("review", "set", reviewed, "--category", "toys", "--reviewer", "ann")
    newer = tmp_path / "models" / "efficientnet_lite0_int8_v2.onnx"
    newer.parent.mkdir()
    shutil.copy(ml.model.find_model_file(), newer)
    monkeypatch.setenv("IMGPIPE_MODEL_PATH", str(newer))
    ml.model._default_scorer.cache_clear()
    try:
        backend.invoke("reclassify", "--model-version", "wrong-version", code=2)
        out = backend.invoke("reclassify")
    finally:
        ml.model._default_scorer.cache_clear()
    assert "re-scored 1 record(s) with efficientnet_lite0_int8_v2-" in out
    by_id = {r["upload_id"]: r for r in backend.records()}
    assert by_id[reviewed]["category"] == "toys" and by_id[reviewed]["model_version"] == old_version
    (other,) = [r for i, r in by_id.items() if i != reviewed]
    assert other["model_version"].startswith("efficientnet_lite0_int8_v2-")
    assert [p["model_version"] for p in other["predictions"]] == [old_version, other["model_version"]]


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_export_writes_the_current_records(backend: Backend, tmp_path, fmt: str) -> None:
    backend.put("s1/a.jpg", PHOTOS[0], 1_700_000_000)
    backend.put("s1/b.jpg", PHOTOS[2], 1_700_000_001)
    backend.run()
    backend.put("s1/b.jpg", PHOTOS[0], 1_700_000_200)  # supersedes b's first version
    backend.run()
    current = {r["upload_id"]: r for r in backend.records()}
    out = tmp_path / f"gold.{fmt}"
    assert f"wrote {len(current)} record(s)" in backend.invoke("export", "--format", fmt, "--out", str(out))
    if fmt == "parquet":
        rows = pq.read_table(out).to_pylist()
    elif fmt == "csv":
        import csv

        with out.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    else:
        rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["upload_id"] for r in rows} == set(current)
    for row in rows:
        record = current[row["upload_id"]]
        lineage = row["lineage"] if fmt == "jsonl" else json.loads(row["lineage"])
        assert lineage == record["lineage"] and row["sha256"] == record["sha256"]
        assert str(row["raw_size"]) == str(record["raw_size"])
    since = backend.invoke("export", "--format", fmt, "--out", str(out), "--since", "2999-01-01")
    assert "wrote 0 record(s)" in since


def test_status_and_dlq_speak_the_same_language(backend: Backend) -> None:
    backend.put("s1/a.jpg", PHOTOS[0], 1_700_000_000)
    backend.put("s1/page.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", 1_700_000_001)
    backend.run()
    status = json.loads(backend.invoke("status", "--json"))
    assert status["counts"] == {"gold": 1, "rejected": 1} and status["dead_letters"] == {}
    assert [e["reason"] for e in status["recent_errors"]] == ["unsupported_format"]  # a record, not a dead letter
    assert "no dead letters" in backend.invoke("dlq", "list")
    assert "replayed 0" in backend.invoke("dlq", "replay", "--all")


def test_local_only_commands_say_what_to_use_on_azure(tmp_path) -> None:
    for args, hint in ((["watch"], "blob trigger"), (["archive"], "lifecycle rule")):
        result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), *args, "--backend", "azure"])
        assert result.exit_code == 2 and hint in result.output, result.output
