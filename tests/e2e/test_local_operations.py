"""Operating the local runtime: dead letters and replay, archive, watch, locking, exit codes, help."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from imgpipe import pipeline_commands
from imgpipe.cli import cli
from shared import errors
from shared.adapters.fs_store import FsObjectStore
from shared.jobhost.worker import work
from shared.local import watch as watch_module
from shared.local.archive import archive
from shared.local.bootstrap import bootstrap
from shared.local.lock import run_lock
from shared.local.watch import Settler, watch
from shared.ports import ObjectInfo, UnreadableObject
from shared.records import Status
from shared.runner import RunReport, ingest_all, pending_uploads
from shared.settings import RetryPolicy, Settings
from tests import corpus
from tests.hardening import one_line_failure


def invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


def put_photo(data_dir: Path, rel: str = "u1/p.jpg", seed: int = 1) -> None:
    path = data_dir / "uploads" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(corpus.jpeg(corpus.photo(640, 480, seed=seed)))


class FlakyStore(FsObjectStore):
    """Bronze reads fail until ``heal()``: a storage outage."""

    broken = True

    def get(self, path: str) -> bytes:
        if self.broken and path.startswith("bronze/"):
            raise TimeoutError("storage timed out")
        return super().get(path)


def test_exhausted_retries_dead_letter_then_replay_recovers(tmp_path):
    put_photo(tmp_path)
    settings = Settings(data_dir=tmp_path, retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    rt = bootstrap(settings, classifier="none", store=FlakyStore(tmp_path))
    ingest_all(rt, pending_uploads(rt))
    work(rt.services, rt.jobs)
    (record,) = rt.services.meta.find()
    assert record.status == Status.FAILED and "storage timed out" in record.reason_detail
    listing = json.loads(invoke("--data-dir", str(tmp_path), "dlq", "list", "--json"))
    assert listing[0]["attempts"] == 3 and "TimeoutError" in listing[0]["detail"]
    assert listing[0]["reason"] == "retries_exhausted" and listing[0]["queue"] == "cleanse"
    invoke("--data-dir", str(tmp_path), "dlq", "replay", code=2)  # neither --id nor --all
    assert "replayed 1" in invoke("--data-dir", str(tmp_path), "dlq", "replay", "--id", record.upload_id)
    FlakyStore.broken = False
    try:
        work(rt.services, rt.jobs)
    finally:
        FlakyStore.broken = True
        rt.close()
    records = json.loads(invoke("--data-dir", str(tmp_path), "records", "--json"))
    assert records[0]["status"] == Status.GOLD
    assert "no dead letters" in invoke("--data-dir", str(tmp_path), "dlq", "list")


def test_archive_moves_old_bronze_and_the_record_follows(tmp_path):
    put_photo(tmp_path)
    invoke("--data-dir", str(tmp_path), "run", "--settle", "0", "--classifier", "none", "--quiet", "--workers", "1")
    assert "archived 0" in invoke("--data-dir", str(tmp_path), "archive", "--older-than", "30d")
    rt = bootstrap(Settings(data_dir=tmp_path), classifier="none")
    try:
        rt.services.clock = lambda: datetime.now(UTC) + timedelta(days=31)
        (moved,) = archive(rt, timedelta(days=30))
        record = rt.services.meta.get(moved)
        assert record.raw_path.startswith("archive/") and rt.store.exists(record.raw_path)
        assert not list((tmp_path / "bronze").rglob("*.jpg"))
        assert archive(rt, timedelta(days=30)) == []  # nothing left in bronze
    finally:
        rt.close()


def test_settler_waits_until_a_file_stops_changing():
    now = [0.0]
    settler = Settler(settle=1.0, clock=lambda: now[0])
    info = ObjectInfo("uploads/a.jpg", 10, None, "v1")  # type: ignore[arg-type]
    settler.note([info])
    assert settler.ready() == [] and settler.next_due() == 1.0
    now[0] = 0.5
    grown = ObjectInfo("uploads/a.jpg", 20, None, "v2")  # type: ignore[arg-type]
    settler.note([grown])
    now[0] = 1.2
    settler.note([grown])  # seen again unchanged: the clock is not reset
    assert settler.ready() == []
    now[0] = 1.6
    assert settler.ready() == [grown] and settler.waiting == {}


def test_watch_processes_files_as_they_arrive(tmp_path):
    settings = Settings(data_dir=tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=watch, kwargs=dict(settings=settings, interval=0.1, settle=0.2,
                                                        classifier="none", stop=stop.is_set))
    (tmp_path / "uploads").mkdir(parents=True)
    thread.start()
    try:
        put_photo(tmp_path, "u1/first.jpg", seed=1)
        put_photo(tmp_path, "u1/second.jpg", seed=2)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            out = json.loads(invoke("--data-dir", str(tmp_path), "records", "--status", "gold", "--json"))
            if len(out) == 2:
                break
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert sorted(r["raw_name"] for r in out) == ["first.jpg", "second.jpg"]


def test_second_run_steps_aside_while_the_first_holds_the_lock(tmp_path):
    put_photo(tmp_path)
    (tmp_path / "gold").mkdir(parents=True)
    with run_lock(tmp_path):
        result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "run", "--settle", "0", "--wait", "0.3",
                                          "--quiet"])
    assert result.exit_code == 0 and "stepping aside" in result.output
    assert json.loads(invoke("--data-dir", str(tmp_path), "records", "--json")) == []


def test_unwritable_data_dir_exits_non_zero_with_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(cli, ["--data-dir", str(blocker / "data"), "run", "--settle", "0", "--quiet"])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "not writable" in result.output


@pytest.mark.parametrize("command", [["run"], ["watch"], ["status"], ["records"], ["archive"], ["reclassify"],
                                     ["review", "list"], ["review", "accept"], ["review", "set"],
                                     ["dlq", "list"], ["dlq", "replay"], ["reconcile"], ["spark"], ["spark", "run"],
                                     []])
def test_every_command_has_help_with_an_example(command):
    out = invoke(*command, "--help")
    assert "Example" in out and "imgpipe" in out


def test_a_file_name_that_is_not_utf8_is_processed_not_fatal(tmp_path):
    put_photo(tmp_path, "u1/ok.jpg")
    latin1 = tmp_path / "uploads" / "u1" / os.fsdecode("caf\xe9.jpg".encode("latin-1"))
    latin1.write_bytes(corpus.jpeg(corpus.photo(320, 240, seed=3)))
    invoke("--data-dir", str(tmp_path), "run", "--settle", "0", "--classifier", "none", "--quiet", "--workers", "1")
    records = json.loads(invoke("--data-dir", str(tmp_path), "records", "--json"))
    assert sorted((r["raw_name"], r["status"]) for r in records) == [("caf.jpg", Status.GOLD), ("ok.jpg", Status.GOLD)]


def test_an_idle_watch_starts_no_workers(tmp_path, monkeypatch):
    # With --workers N each drain spawns N-1 processes: not once per poll while nothing arrives.
    drains, polls = [], iter(range(4))
    monkeypatch.setattr(watch_module, "drain", lambda *a, **k: drains.append(1) or 0)
    watch(Settings(data_dir=tmp_path), interval=0.01, workers=2, classifier="none",
          stop=lambda: next(polls, None) is None)
    assert drains == []


def test_run_works_out_of_the_box_on_a_machine_with_more_cpus_than_the_workers_cap(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(os, "cpu_count", lambda: 96)
    monkeypatch.setattr(pipeline_commands, "run_once",
                        lambda rt, options, **kw: seen.append(options.workers) or RunReport())
    invoke("--data-dir", str(tmp_path), "run", "--settle", "0", "--json")
    assert seen == [64]


def test_archive_repairs_a_crash_between_the_move_and_the_record(tmp_path):
    put_photo(tmp_path)
    invoke("--data-dir", str(tmp_path), "run", "--settle", "0", "--classifier", "none", "--quiet", "--workers", "1")
    rt = bootstrap(Settings(data_dir=tmp_path), classifier="none")
    try:
        (record,) = rt.services.meta.find()
        target = "archive" + record.raw_path[len("bronze"):]
        rt.store.move(record.raw_path, target)  # the crash: file moved, record not yet updated
        rt.services.clock = lambda: datetime.now(UTC) + timedelta(days=31)
        assert archive(rt, timedelta(days=30)) == [record.upload_id]
        assert rt.services.meta.get(record.upload_id).raw_path == target and rt.store.exists(target)
    finally:
        rt.close()


def test_an_unreadable_upload_is_recorded_failed_and_does_not_stop_the_others(tmp_path, monkeypatch):
    put_photo(tmp_path, "u1/fine.jpg", seed=1)
    put_photo(tmp_path, "u1/locked.jpg", seed=2)
    original = FsObjectStore.head

    def head(self, path, size, expect=None):  # what open() raises for a file this user may not read (root reads any)
        if path.endswith("locked.jpg"):
            raise UnreadableObject(errors.UNREADABLE, f"{path}: Permission denied")
        return original(self, path, size, expect)

    monkeypatch.setattr(FsObjectStore, "head", head)
    report = json.loads(invoke("--data-dir", str(tmp_path), "run", "--settle", "0", "--classifier", "none",
                               "--workers", "1", "--json"))
    assert report["failed"] == {"unreadable": 1} and report["ingested"] == 2  # a record each: exit 0
    records = {r["raw_name"]: r for r in json.loads(invoke("--data-dir", str(tmp_path), "records", "--json"))}
    assert records["fine.jpg"]["status"] == "gold"
    assert (records["locked.jpg"]["status"], records["locked.jpg"]["reason"]) == ("failed", "unreadable")
    assert "Permission denied" in records["locked.jpg"]["reason_detail"]
    status = json.loads(invoke("--data-dir", str(tmp_path), "status", "--json"))
    assert status["reasons"]["failed"] == {"unreadable": 1}
    monkeypatch.setattr(FsObjectStore, "head", original)
    report = json.loads(invoke("--data-dir", str(tmp_path), "run", "--settle", "0", "--classifier", "none",
                               "--workers", "1", "--json"))
    assert report["recovered"] == 1 and report["ingested"] == 0  # readable again: taken, not new
    records = json.loads(invoke("--data-dir", str(tmp_path), "records", "--json"))
    statuses = {r["raw_name"]: r["status"] for r in records}
    assert statuses == {"fine.jpg": "gold", "locked.jpg": "gold"}


def test_run_leaves_files_still_being_written_for_the_next_run_by_default(tmp_path):
    """Issue 10 item 9: the default settle is 10 s; a file written a moment ago waits for the next run."""
    put_photo(tmp_path, "u1/fresh.jpg", seed=2)
    report = json.loads(invoke("--data-dir", str(tmp_path), "run", "--classifier", "none", "--json"))
    assert report["ingested"] == 0 and report["skipped"] == {"settling": 1}
    assert json.loads(invoke("--data-dir", str(tmp_path), "records", "--json")) == []
    report = json.loads(invoke("--data-dir", str(tmp_path), "run", "--settle", "0", "--classifier", "none", "--json"))
    assert report["ingested"] == 1


def test_uploads_may_be_a_symlink_to_another_folder_but_paths_cannot_escape(tmp_path):
    share = tmp_path / "share"
    (share / "u1").mkdir(parents=True)
    (share / "u1" / "p.jpg").write_bytes(corpus.jpeg(corpus.photo(320, 240)))
    data = tmp_path / "data"
    data.mkdir()
    (data / "uploads").symlink_to(share, target_is_directory=True)
    invoke("--data-dir", str(data), "run", "--settle", "0", "--classifier", "none", "--workers", "1", "--quiet")
    (record,) = json.loads(invoke("--data-dir", str(data), "records", "--json"))
    assert record["status"] == "gold" and record["upload_path"] == "uploads/u1/p.jpg"
    store = FsObjectStore(data)
    for bad in ("../outside.jpg", "/etc/passwd", "bronze/../../x", ""):
        with pytest.raises(ValueError):
            store.put(bad, b"x")


def test_a_bad_setting_is_one_line_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("IMGPIPE_MAX_PIXELS", "lots")
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "status"])
    assert result.exit_code == 2 and "IMGPIPE_MAX_PIXELS='lots' is not a valid int" in result.output


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def test_every_command_takes_backend_so_imgpipe_backend_is_never_ignored():
    """With IMGPIPE_BACKEND=azure in an operator's shell, a command without --backend would run locally unasked."""
    missing = [" ".join(path) for path, command in _commands(cli) if "backend" not in {p.name for p in command.params}]
    assert missing == []


@pytest.mark.parametrize("how", ["flag", "env"])
def test_spark_run_against_azure_is_refused_with_how_to_run_the_job(tmp_path, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv("IMGPIPE_BACKEND", "azure")
    flag = ["--backend", "azure"] if how == "flag" else []
    line = one_line_failure("--data-dir", str(tmp_path), "spark", "run", *flag)
    assert "spark run" in line and "databricks bundle run" in line, line
    assert not (tmp_path / "gold").exists()  # refused before the data dir was touched or Spark started
