"""``imgpipe spark run`` end to end over the generated corpus: the local runtime's invariants, on Spark + Delta."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from imgpipe.cli import cli
from shared.adapters.fs_store import FsObjectStore
from shared.local.operations import operations
from shared.records import Status
from shared.settings import Settings
from tests import corpus as corpus_mod
from tests.invariants import check_run, normalized, referenced
from tests.spark.conftest import copy_uploads, files, gold_records, gold_version, spark_run


@pytest.fixture(scope="module")
def finished(tmp_path_factory, full_corpus):
    data_dir = tmp_path_factory.mktemp("spark")
    corpus_mod.write(data_dir / "uploads", full_corpus)
    report = spark_run(data_dir, "--master", "local[2]", "--classifier", "none")
    return data_dir, report


def test_every_input_reaches_one_terminal_state_with_the_invariants(finished, full_corpus):
    data_dir, report = finished
    records = gold_records(data_dir)
    check_run(records, full_corpus, FsObjectStore(data_dir).get)
    assert report["ingested"] == len(full_corpus) == len(records) and report["failed"] == {}
    assert report["counts"] == {"gold": 17, "duplicate": 1, "rejected": 6}


def test_hidden_and_empty_uploads_are_not_lost(finished):
    """Spark's file sources would skip '.'/'_' names and empty files; the job lists uploads with the core's rule."""
    by_path = {r.upload_path: r for r in gold_records(finished[0])}
    assert by_path["uploads/seller3/zero.jpg"].reason == "empty_file"
    assert by_path["uploads/seller4/..jpg"].status == Status.GOLD


def test_nothing_in_bronze_or_silver_is_unreferenced(finished):
    data_dir, _ = finished
    written = {p for p in files(data_dir) if p.startswith(("bronze/", "silver/"))}
    assert written == referenced(gold_records(data_dir))


def test_a_second_run_leaves_the_delta_table_at_the_same_version_and_rewrites_no_file(finished):
    data_dir, _ = finished
    version, before = gold_version(data_dir), files(data_dir)
    report = spark_run(data_dir, "--classifier", "none")
    assert (report["ingested"], report["cleansed"], report["linked"]) == (0, 0, 0)
    assert gold_version(data_dir) == version == report["version_before"] == report["version_after"]
    assert files(data_dir) == before


def test_same_ids_paths_and_outcomes_as_imgpipe_run(finished, tmp_path):
    """One core: the local runtime on a copy of the same uploads gives the same records (ids, paths, reasons)."""
    data_dir, _ = finished
    copy_uploads(data_dir, tmp_path)
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "run", "--settle", "0", "--workers", "1",
                                      "--classifier", "none", "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with operations(Settings(data_dir=tmp_path)) as ops:
        local = list(ops.services.meta.find())
    spark = gold_records(data_dir)
    assert normalized(spark) == normalized(local)
    assert {r.upload_id: r.upload_ts for r in spark} == {r.upload_id: r.upload_ts for r in local}


def test_a_new_upload_is_the_only_work_of_the_next_run(finished, full_corpus):
    data_dir, _ = finished
    before = {r.upload_id: r.to_dict() for r in gold_records(data_dir)}
    version = gold_version(data_dir)
    (data_dir / "uploads" / "seller9").mkdir()
    (data_dir / "uploads" / "seller9" / "new.jpg").write_bytes(corpus_mod.jpeg(corpus_mod.photo(640, 480, seed=77)))
    report = spark_run(data_dir, "--classifier", "none")
    after = {r.upload_id: r for r in gold_records(data_dir)}
    (new_id,) = set(after) - set(before)
    assert after[new_id].status == Status.GOLD and after[new_id].raw_name == "new.jpg"
    assert {k: after[k].to_dict() for k in before} == before
    assert (report["ingested"], report["cleansed"]) == (1, 1) and gold_version(data_dir) == version + 2


def test_duplicates_in_one_batch_link_to_the_earliest_upload_and_later_runs_to_the_existing_owner(tmp_path):
    photo = corpus_mod.jpeg(corpus_mod.photo(400, 300, seed=5))
    uploads = tmp_path / "uploads"
    for name, mtime in (("b/late.jpg", 2_000_000_000), ("a/early.jpg", 1_900_000_000), ("c/later.jpg", 2_100_000_000)):
        (uploads / name).parent.mkdir(parents=True, exist_ok=True)
        (uploads / name).write_bytes(photo)
        os.utime(uploads / name, (mtime, mtime))
    spark_run(tmp_path, "--classifier", "none")
    first = {r.upload_path: r for r in gold_records(tmp_path)}
    owner = first["uploads/a/early.jpg"]
    assert owner.status == Status.GOLD and owner.duplicate_of is None
    assert {first[p].duplicate_of for p in ("uploads/b/late.jpg", "uploads/c/later.jpg")} == {owner.upload_id}
    # An even earlier copy arriving in a later run: the row that already owns the bytes stays the owner.
    (uploads / "d").mkdir()
    (uploads / "d" / "oldest.jpg").write_bytes(photo)
    os.utime(uploads / "d" / "oldest.jpg", (1_000_000_000, 1_000_000_000))
    spark_run(tmp_path, "--classifier", "none")
    oldest = {r.upload_path: r for r in gold_records(tmp_path)}["uploads/d/oldest.jpg"]
    assert oldest.status == Status.DUPLICATE and oldest.duplicate_of == owner.upload_id
    assert oldest.cleansed_path == owner.cleansed_path


def test_classification_on_the_executors_with_the_in_process_model(tmp_path):
    uploads = tmp_path / "uploads" / "seller"
    uploads.mkdir(parents=True)
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
    for photo in sorted(fixtures.iterdir()):
        (uploads / photo.name).write_bytes(photo.read_bytes())
    (uploads / "broken.jpg").write_bytes(b"\xff\xd8\xff" + b"\0" * 64)
    report = spark_run(tmp_path, "--classifier", "local")
    records = {r.raw_name: r for r in gold_records(tmp_path)}
    assert records["broken.jpg"].status == Status.REJECTED
    scored = [r for name, r in records.items() if name != "broken.jpg"]
    assert scored and all(r.status in (Status.CLASSIFIED, Status.NEEDS_REVIEW) for r in scored)
    assert all(r.label and r.model_version and len(r.predictions) == 1 for r in scored)
    assert all(r.lineage[-1]["stage"] == "classified" for r in scored)
    assert report["classified"] == len(scored)
    assert spark_run(tmp_path, "--classifier", "local")["version_after"] == report["version_after"]


def test_missing_java_is_one_line_and_exit_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"} | {"PATH": str(Path(sys.executable).parent)}
    result = subprocess.run([sys.executable, "-m", "imgpipe", "--data-dir", str(tmp_path), "spark", "run"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0, result.stderr
    assert "Java" in result.stderr


def test_an_unusable_data_dir_is_exit_2(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = CliRunner().invoke(cli, ["--data-dir", str(not_a_dir), "spark", "run"])
    assert result.exit_code == 2 and "not writable" in result.output


def test_the_databricks_tasks_run_phase_by_phase_through_the_wheel_entry_point(tmp_path, small_corpus):
    """What the bundle runs: ingest, cleanse, classify as separate tasks (here on a delta-rs table)."""
    from imgpipe_spark.tasks import main

    corpus_mod.write(tmp_path / "uploads", small_corpus)
    table = str(tmp_path / "gold" / "images")
    main(["ingest", "--root", str(tmp_path), "--delta-path", table, "--settle", "0"])
    assert {r.status for r in gold_records(tmp_path)} == {Status.BRONZE}
    main(["cleanse", "--root", str(tmp_path), "--delta-path", table])
    main(["classify", "--root", str(tmp_path), "--delta-path", table, "--classifier", "none"])
    check_run(gold_records(tmp_path), small_corpus, FsObjectStore(tmp_path).get)


def test_reprocess_recomputes_exactly_what_older_rules_made(tmp_path, small_corpus, monkeypatch):
    corpus_mod.write(tmp_path / "uploads", small_corpus)
    spark_run(tmp_path, "--classifier", "none")
    before = {r.upload_id: r for r in gold_records(tmp_path)}
    monkeypatch.setenv("IMGPIPE_MAX_SIDE", "256")
    untouched = spark_run(tmp_path, "--classifier", "none")  # a run without --reprocess leaves silver alone
    assert (untouched["cleansed"], untouched["version_after"]) == (0, untouched["version_before"])
    report = spark_run(tmp_path, "--classifier", "none", "--reprocess")
    after = {r.upload_id: r for r in gold_records(tmp_path)}
    with_silver = [k for k, r in before.items() if r.status in (Status.GOLD, Status.DUPLICATE)]
    assert report["cleansed"] + report["linked"] == len(with_silver)
    for key in with_silver:
        assert after[key].cleanse_version == "r1-256px-q85" and max(after[key].cleansed_width,
                                                                    after[key].cleansed_height) <= 256
        assert after[key].status == before[key].status and after[key].duplicate_of == before[key].duplicate_of
    assert all(after[k] == r for k, r in before.items() if k not in with_silver)  # rejected ones stay as they are
    for key in with_silver:  # the new silver really is the new rule's output
        assert FsObjectStore(tmp_path).get(after[key].cleansed_path or "")[:3] == b"\xff\xd8\xff"
