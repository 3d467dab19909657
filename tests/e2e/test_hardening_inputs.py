"""Issue 10, hostile and odd inputs on the local runtime: links, huge files, silent skips, same-size changes, ids."""

from __future__ import annotations

import errno
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

from shared.local.bootstrap import bootstrap
from shared.runner import ingest_all, pending_uploads
from shared.settings import Limits, Settings
from tests import corpus
from tests.hardening import imgpipe, invoke, put_photo, records, run

SECRET = b"root:$6$not-really$shadow:19000:0:99999:7:::\n"
FAR_FUTURE = datetime(2999, 1, 1, tzinfo=UTC)


def bronze_files(data_dir: Path) -> dict[str, str]:
    return {p.relative_to(data_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (data_dir / "bronze").rglob("*") if p.is_file()}


def test_1_a_file_swapped_for_a_symlink_after_listing_is_never_read(tmp_path):
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "shadow").write_bytes(SECRET)
    (outside / "last.jpg").write_bytes(corpus.jpeg(corpus.photo(300, 200, seed=9)))
    data = tmp_path / "data"
    put_photo(data, "u/first.jpg", seed=1)
    victim = put_photo(data, "u/zz_last.jpg", seed=2)
    put_photo(data, "v/inner.jpg", seed=3)
    rt = bootstrap(Settings(data_dir=data), classifier="none")
    try:
        listed = pending_uploads(rt)  # the listing saw three regular files
        victim.unlink()
        victim.symlink_to(outside / "shadow")  # the swap, between listing and copying
        (data / "uploads" / "v").rename(data / "uploads" / "v-old")
        (data / "uploads" / "v").symlink_to(outside)  # a folder on the way swapped too
        (outside / "inner.jpg").write_bytes(SECRET)
        ingested = ingest_all(rt, listed)
    finally:
        rt.close()
    assert hashlib.sha256(SECRET).hexdigest() not in bronze_files(data).values()
    assert ingested == 1 and [r["raw_name"] for r in records(data)] == ["first.jpg"]


def test_1_8_links_dot_folders_partial_names_and_fifos_are_reported_not_silently_dropped(tmp_path):
    outside = tmp_path / "elsewhere.jpg"
    outside.write_bytes(corpus.jpeg(corpus.photo(300, 200, seed=4)))
    data = tmp_path / "data"
    put_photo(data, "u/ok.jpg")
    uploads = data / "uploads"
    (uploads / "u" / "link.jpg").symlink_to(outside)  # an image outside the data dir: never processed
    (uploads / "u" / "linked-folder").symlink_to(tmp_path, target_is_directory=True)
    put_photo(data, ".git/objects/x.jpg", seed=5)
    for name in ("a.jpg.tmp", "b.jpg.part", "c.jpg~"):
        put_photo(data, f"u/{name}", seed=6)
    os.mkfifo(uploads / "u" / "pipe.jpg")
    done = imgpipe("--data-dir", str(data), "-v", "run", "--settle", "0", "--classifier", "none", "--workers", "1",
                   "--quiet")
    assert done.returncode == 0, done.stderr
    assert "skipped (-v lists them): hidden 1, partial_name 3, special_file 1, symlink 2" in done.stdout
    for shown in ("u/link.jpg", "u/linked-folder", ".git", "a.jpg.tmp", "b.jpg.part", "c.jpg~", "pipe.jpg"):
        assert shown in done.stderr, shown  # -v names every skipped path
    assert [r["raw_name"] for r in records(data)] == ["ok.jpg"]
    status = invoke("--data-dir", str(data), "status")
    assert "skipped inputs (-v lists them): hidden 1, partial_name 3, special_file 1, symlink 2" in status


def test_2_an_oversized_upload_is_rejected_by_its_size_before_any_byte_is_copied(tmp_path):
    data = tmp_path / "data"
    big = data / "uploads" / "u" / "big.jpg"
    big.parent.mkdir(parents=True)
    big.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 60)
    os.truncate(big, 2 * 1024**3)  # 2 GiB, sparse: JPEG magic first
    put_photo(data, "u/small.jpg")
    report = run(data)
    assert report["ingested"] == 2
    by_name = {r["raw_name"]: r for r in records(data)}
    assert (by_name["big.jpg"]["status"], by_name["big.jpg"]["reason"]) == ("rejected", "file_too_large")
    assert by_name["big.jpg"]["raw_path"] == "" and by_name["small.jpg"]["status"] == "gold"
    assert list(bronze_files(data)) == [by_name["small.jpg"]["raw_path"]]  # no bronze byte of the big one


def test_2_a_write_error_names_the_file_and_the_rest_of_the_run_goes_on(tmp_path, monkeypatch):
    data = tmp_path / "data"
    victim = [put_photo(data, f"u/p{i}.jpg", seed=i) for i in range(3)][1]
    size, real_fsync = victim.stat().st_size, os.fsync

    def disk_full(fd: int) -> None:  # the one file that does not fit any more: its bronze copy's flush fails
        if "/bronze/" in os.readlink(f"/proc/self/fd/{fd}") and os.fstat(fd).st_size == size:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", disk_full)
    report = run(data)
    assert report["failed"] == {"write_failed": 1}
    by_name = {r["raw_name"]: r for r in records(data)}
    assert (by_name["p1.jpg"]["status"], by_name["p1.jpg"]["reason"]) == ("failed", "write_failed")
    assert "No space left on device" in by_name["p1.jpg"]["reason_detail"]
    assert by_name["p1.jpg"]["raw_path"] in by_name["p1.jpg"]["reason_detail"]  # the file is named
    assert by_name["p0.jpg"]["status"] == by_name["p2.jpg"]["status"] == "gold"
    assert not [p for p in (data / "bronze").rglob("*.tmp")]
    monkeypatch.undo()
    assert run(data)["recovered"] == 1 and {r["status"] for r in records(data)} == {"gold"}


def test_6_changed_bytes_with_the_same_size_and_mtime_are_a_new_version(tmp_path):
    data = tmp_path / "data"
    path = put_photo(data, "u/p.jpg", seed=1)
    run(data)
    (old,) = records(data)
    st = path.stat()
    changed = bytearray(path.read_bytes())
    changed[-3] ^= 0xFF  # one byte in the entropy-coded data, same size
    path.write_bytes(bytes(changed))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # touch -r: size and mtime as before
    report = run(data)
    assert report["verified"] == 1 and report["changed"] == 1 and report["ingested"] == 1
    by_id = {r["upload_id"]: r for r in records(data)}
    new = by_id[by_id[old["upload_id"]]["superseded_by"]]
    assert new["sha256"] == hashlib.sha256(bytes(changed)).hexdigest() and new["supersedes"] == old["upload_id"]
    assert new["status"] == "gold" and new["cleansed_path"] != old["cleansed_path"]
    again = run(data)
    assert again["verified"] == 0 and again["ingested"] == 0  # checked once: not hashed on every run


def test_6_run_verify_hashes_every_upload_even_without_a_ctime_hint(tmp_path, monkeypatch):
    data = tmp_path / "data"
    path = put_photo(data, "u/p.jpg", seed=1)
    put_photo(data, "u/q.jpg", seed=2)
    run(data)
    st = path.stat()
    changed = bytearray(path.read_bytes())
    changed[-3] ^= 0xFF
    path.write_bytes(bytes(changed))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    # A file system with coarse ctimes (or a clock behind) gives no hint: only --verify finds the change.
    monkeypatch.setattr("shared.intake._last_checked", lambda record: FAR_FUTURE)
    assert run(data)["verified"] == 0
    report = run(data, "--verify")
    assert report["verified"] == 2 and report["changed"] == 1
    assert len(records(data)) == 3


def test_10_folder_names_map_to_distinct_user_ids_and_bronze_folders(tmp_path):
    data = tmp_path / "data"
    for i, rel in enumerate(("John Doe/a.jpg", "John-Doe-6cea57c2/a.jpg", "anonymous/a.jpg", "root.jpg")):
        put_photo(data, rel, seed=i)
    run(data)
    users = {r["upload_path"]: r["user_id"] for r in records(data)}
    assert users == {"uploads/John Doe/a.jpg": "~John%20Doe", "uploads/John-Doe-6cea57c2/a.jpg": "John-Doe-6cea57c2",
                     "uploads/anonymous/a.jpg": "~anonymous", "uploads/root.jpg": "anonymous"}
    folders = {Path(r["raw_path"]).parent.name for r in records(data)}
    assert folders == set(users.values())


def test_11_ingested_counts_only_new_uploads(tmp_path):
    data = tmp_path / "data"
    for i in range(3):
        put_photo(data, f"u/p{i}.jpg", seed=i)
    rt = bootstrap(Settings(data_dir=data, limits=Limits()), classifier="none")
    try:
        assert ingest_all(rt, pending_uploads(rt)) == 3  # then the run is killed before any cleanse
    finally:
        rt.close()
    report = run(data)
    assert report["ingested"] == 0 and report["handled"] == 3 and report["counts"] == {"gold": 3}
