"""The bulk job keeps the rules of ``imgpipe run``: size first, pinned no-follow reads and the same skips,
``--settle``, failure reasons, re-upload links, change detection and ``lost`` (each checked against the job,
and where the outcome is comparable, against ``imgpipe run`` on a copy of the same uploads)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imgpipe_spark.tasks import main as task
from shared.adapters.fs_store import FsObjectStore
from shared.local.bootstrap import bootstrap
from shared.records import Status
from shared.runner import ingest_all, pending_uploads
from shared.settings import Settings
from tests import corpus
from tests.hardening import invoke, one_line_failure, put_photo, read_only
from tests.hardening import run as local_run
from tests.spark.conftest import gold_records, spark_run

FAR_FUTURE = datetime(2999, 1, 1, tzinfo=UTC)
SECRET = b"root:$6$not-really$shadow:19000:0:99999:7:::\n"


def local_records(data_dir: Path) -> list[dict]:
    return json.loads(invoke("--data-dir", str(data_dir), "records", "--all", "--json"))


def bronze_hashes(data_dir: Path) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in (data_dir / "bronze").rglob("*") if p.is_file()}


def twin(data_dir: Path, tmp_path: Path) -> Path:
    """A copy of the uploads for ``imgpipe run`` (mtimes kept, so the upload ids are the same)."""
    other = tmp_path / "local"
    shutil.rmtree(other, ignore_errors=True)
    shutil.copytree(data_dir / "uploads", other / "uploads", symlinks=True)
    return other


def test_1_an_oversized_upload_is_rejected_by_its_listed_size_and_never_copied(tmp_path, monkeypatch):
    data = tmp_path / "spark"
    big = put_photo(data, "u/big.jpg", seed=1, size=(900, 700))
    put_photo(data, "u/small.jpg", seed=2, size=(120, 90))
    monkeypatch.setenv("IMGPIPE_MAX_BYTES", str(big.stat().st_size - 1))
    report = spark_run(data, "--classifier", "none")
    by_name = {r.raw_name: r for r in gold_records(data)}
    rejected = by_name["big.jpg"]
    assert (rejected.status, rejected.reason, rejected.raw_path) == ("rejected", "file_too_large", "")
    assert "not copied" in (rejected.reason_detail or "")
    assert bronze_hashes(data) == {by_name["small.jpg"].sha256}  # not one byte of the big one in bronze
    assert report["ingested"] == 2 and report["cleansed"] == 1
    local = twin(data, tmp_path)
    local_run(local)
    fields = ("upload_id", "status", "reason", "raw_path", "sha256", "reason_detail")
    mine = {tuple(getattr(r, f) for f in fields) for r in gold_records(data)}
    theirs = {tuple(r[f] for f in fields) for r in local_records(local)}
    assert mine == theirs


def test_2_a_file_swapped_for_a_symlink_after_listing_is_never_read(tmp_path, monkeypatch):
    """The driver lists; the executors read each file through one no-follow descriptor pinned to the listing."""
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "shadow").write_bytes(SECRET)
    data = tmp_path / "data"
    put_photo(data, "u/first.jpg", seed=1)
    victim = put_photo(data, "u/zz_last.jpg", seed=2)
    put_photo(data, "v/inner.jpg", seed=3)
    listing = FsObjectStore.list

    def list_then_swap(self, prefix, skipped=None):
        listed = list(listing(self, prefix, skipped))  # three regular files
        victim.unlink()
        victim.symlink_to(outside / "shadow")  # the swap, between listing and copying
        (data / "uploads" / "v").rename(data / "uploads" / "v-old")
        (data / "uploads" / "v").symlink_to(outside)  # a folder on the way swapped too
        (outside / "inner.jpg").write_bytes(SECRET)
        return iter(listed)

    monkeypatch.setattr(FsObjectStore, "list", list_then_swap)
    report = spark_run(data, "--classifier", "none")
    assert hashlib.sha256(SECRET).hexdigest() not in bronze_hashes(data)
    assert [r.raw_name for r in gold_records(data)] == ["first.jpg"]
    assert report["skipped"] == {"symlink": 2} and report["ingested"] == 1


def test_2_skipped_inputs_are_the_ones_imgpipe_run_skips_and_counted_the_same(tmp_path):
    elsewhere = tmp_path / "elsewhere.jpg"
    elsewhere.write_bytes(corpus.jpeg(corpus.photo(300, 200, seed=4)))
    data = tmp_path / "spark"
    put_photo(data, "u/ok.jpg")
    uploads = data / "uploads"
    (uploads / "u" / "link.jpg").symlink_to(elsewhere)
    (uploads / "u" / "linked-folder").symlink_to(tmp_path, target_is_directory=True)
    put_photo(data, ".git/objects/x.jpg", seed=5)
    for name in ("a.jpg.tmp", "b.jpg.part", "c.jpg~"):
        put_photo(data, f"u/{name}", seed=6)
    local = twin(data, tmp_path)
    for folder in (data, local):
        os.mkfifo(folder / "uploads" / "u" / "pipe.jpg")
    report, theirs = spark_run(data, "--classifier", "none"), local_run(local)
    assert report["skipped"] == theirs["skipped"] == {"hidden": 1, "partial_name": 3, "special_file": 1, "symlink": 2}
    assert sorted(report["skipped_paths"]) == sorted(theirs["skipped_paths"])
    assert [r.raw_name for r in gold_records(data)] == ["ok.jpg"]


def test_2_files_still_settling_wait_for_the_next_run_by_default(tmp_path):
    put_photo(tmp_path, "u/fresh.jpg")
    report = spark_run(tmp_path, "--classifier", "none", "--settle", "10")
    assert report["skipped"] == {"settling": 1} and report["ingested"] == 0 and gold_records(tmp_path) == []
    assert report["spark"] is False  # nothing to do: no Spark started, no Delta commit
    assert spark_run(tmp_path, "--classifier", "none")["ingested"] == 1


def test_2_a_copy_that_does_not_fit_is_failed_write_failed_then_recovered_or_lost(tmp_path):
    """A full disk under bronze/ (a 64 KiB tmpfs): the job records the reason as imgpipe run does."""
    data = tmp_path / "data"
    keep = put_photo(data, "u/keep.jpg", seed=1, size=(900, 700))
    gone = put_photo(data, "u/gone.jpg", seed=2, size=(900, 700))
    (data / "bronze").mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(data / "bronze")],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        assert keep.stat().st_size > 64 * 1024 and gone.stat().st_size > 64 * 1024
        report = spark_run(data, "--classifier", "none")
    finally:
        subprocess.run(["umount", str(data / "bronze")], check=True)
    assert report["failed"] == {"write_failed": 2} and report["ingested"] == 2
    for record in gold_records(data):
        assert (record.status, record.reason) == ("failed", "write_failed")
        assert "No space left on device" in (record.reason_detail or "") and record.raw_path in record.reason_detail
    gone.unlink()
    report = spark_run(data, "--classifier", "none")
    assert (report["recovered"], report["lost"], report["ingested"]) == (1, 1, 0)
    by_name = {r.raw_name: r for r in gold_records(data)}
    assert by_name["keep.jpg"].status == Status.GOLD
    assert (by_name["gone.jpg"].status, by_name["gone.jpg"].reason) == ("lost", "bronze_missing")


def test_2_an_unwritable_output_folder_stops_the_run_naming_it_as_imgpipe_run_does(tmp_path):
    put_photo(tmp_path, "u/p.jpg")
    (tmp_path / "silver").mkdir()
    with read_only(tmp_path / "silver"):
        line = one_line_failure("--data-dir", str(tmp_path), "spark", "run", "--settle", "0", "--classifier", "none")
    assert "silver" in line and "not writable" in line and bronze_hashes(tmp_path) == set()
    assert spark_run(tmp_path, "--classifier", "none")["counts"] == {"gold": 1}


def _replace(path: Path, data: bytes, mtime: int) -> None:
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


def test_3_reuploads_are_linked_as_imgpipe_run_links_them(tmp_path):
    a, b, c = (corpus.jpeg(corpus.photo(320, 240, seed=s)) for s in (1, 2, 3))
    spark_dir, local_dir = tmp_path / "spark", tmp_path / "local"
    # New bytes; the same bytes again later; an older version arriving late.
    for data, mtime in ((a, 1_800_000_000), (b, 1_800_000_100), (b, 1_800_000_200), (c, 1_700_000_000)):
        for folder in (spark_dir, local_dir):
            (folder / "uploads" / "u").mkdir(parents=True, exist_ok=True)
            _replace(folder / "uploads" / "u" / "shoe.jpg", data, mtime)
        spark_run(spark_dir, "--classifier", "none")
        local_run(local_dir)
    mine = {r.upload_id: (r.upload_ts, r.status, r.supersedes, r.superseded_by) for r in gold_records(spark_dir)}
    theirs = {r["upload_id"]: (r["upload_ts"], r["status"], r["supersedes"], r["superseded_by"])
              for r in local_records(local_dir)}
    assert mine == theirs
    # By upload time: the late one, a, b, b again.
    (_, late), (a_id, a_rec), (b_id, b_rec), (_, again) = sorted(mine.items(), key=lambda kv: kv[1][0])
    assert a_rec[3] == b_id and b_rec[2] == a_id  # new bytes: linked both ways
    assert again[1] == "duplicate" and again[2:] == (None, None)  # the same bytes again: no new version
    assert late[2:] == (None, b_id) and b_rec[3] is None  # late: superseded by the current one, which stays


def _same_size_and_mtime(path: Path) -> bytes:
    st = path.stat()
    changed = bytearray(path.read_bytes())
    changed[-3] ^= 0xFF  # one byte in the entropy-coded data, same size
    path.write_bytes(bytes(changed))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # touch -r: size and mtime as before
    return bytes(changed)


def test_4_changed_bytes_with_the_same_size_and_mtime_are_a_new_version(tmp_path):
    path = put_photo(tmp_path, "u/p.jpg", seed=1)
    spark_run(tmp_path, "--classifier", "none")
    (old,) = gold_records(tmp_path)
    changed = _same_size_and_mtime(path)
    report = spark_run(tmp_path, "--classifier", "none")
    assert (report["verified"], report["changed"], report["ingested"]) == (1, 1, 1)
    by_id = {r.upload_id: r for r in gold_records(tmp_path)}
    new = by_id[by_id[old.upload_id].superseded_by or ""]
    assert new.sha256 == hashlib.sha256(changed).hexdigest() and new.supersedes == old.upload_id
    assert new.status == Status.GOLD and new.cleansed_path != old.cleansed_path
    again = spark_run(tmp_path, "--classifier", "none")
    assert (again["verified"], again["ingested"], again["spark"]) == (0, 0, False)  # checked once


def test_4_verify_hashes_every_upload_even_without_a_ctime_hint(tmp_path, monkeypatch):
    path = put_photo(tmp_path, "u/p.jpg", seed=1)
    put_photo(tmp_path, "u/q.jpg", seed=2)
    spark_run(tmp_path, "--classifier", "none")
    _same_size_and_mtime(path)
    # A file system with coarse ctimes (or a clock behind) gives no hint: only --verify finds the change.
    monkeypatch.setattr("shared.intake._last_checked", lambda record: FAR_FUTURE)
    assert spark_run(tmp_path, "--classifier", "none")["verified"] == 0
    report = spark_run(tmp_path, "--classifier", "none", "--verify")
    assert (report["verified"], report["changed"]) == (2, 1) and len(gold_records(tmp_path)) == 3


def test_4_a_missing_bronze_copy_is_copied_again_or_the_record_is_lost_as_in_imgpipe_run(tmp_path):
    """Both runtimes ingest, die before cleansing, lose bronze and one upload, then run again."""
    data = tmp_path / "spark"
    put_photo(data, "u/kept.jpg", seed=1)
    put_photo(data, "u/gone.jpg", seed=2)
    local = twin(data, tmp_path)
    task(["ingest", "--root", str(data), "--delta-path", str(data / "gold" / "images"), "--settle", "0"])
    rt = bootstrap(Settings(data_dir=local), classifier="none")
    try:
        ingest_all(rt, pending_uploads(rt))
    finally:
        rt.close()
    for folder in (data, local):
        shutil.rmtree(folder / "bronze")  # bronze lost (a bad disk, an operator)
        (folder / "uploads" / "u" / "gone.jpg").unlink()
    report, theirs = spark_run(data, "--classifier", "none"), local_run(local)
    assert (report["lost"], report["recovered"]) == (theirs["lost"], theirs["recovered"]) == (1, 0)
    by_name = {r.raw_name: r for r in gold_records(data)}
    assert by_name["kept.jpg"].status == Status.GOLD and (data / by_name["kept.jpg"].raw_path).is_file()
    assert (by_name["gone.jpg"].status, by_name["gone.jpg"].reason) == ("lost", "bronze_missing")
    assert {r.raw_name: (r.status, r.reason) for r in by_name.values()} == {
        r["raw_name"]: (r["status"], r["reason"]) for r in local_records(local)}
