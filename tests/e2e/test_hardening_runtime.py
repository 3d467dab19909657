"""Issue 10, faults around the local runtime: killed runs, a lost or corrupt database, unwritable folders."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import corpus
from tests.hardening import ROOT, cli_json, imgpipe, invoke, one_line_failure, put_photo, read_only, records, run


def _process_state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in cmdline:
                found.append(int(entry.name))
    return found


def _jobs(data_dir: Path) -> list[tuple]:
    conn = sqlite3.connect(data_dir / "gold" / "imgpipe.db", timeout=30)
    try:
        return conn.execute("SELECT message_id, state, attempts, updated_at FROM jobs ORDER BY message_id").fetchall()
    finally:
        conn.close()


def test_3_a_worker_dies_with_its_killed_run_and_takes_no_job_without_the_run_lock(tmp_path):
    uploads = tmp_path / "uploads" / "u"
    uploads.mkdir(parents=True)
    base = corpus.photo(2000, 1500, seed=3)
    for i in range(40):  # PNGs decode at full size: each keeps a worker busy long enough to be caught at it
        base.paste((i * 6, 0, 255 - i * 6), (0, 0, 40, 40 + i))
        (uploads / f"{i}.png").write_bytes(corpus.encode(base, "PNG", compress_level=1))
    proc = subprocess.Popen([sys.executable, "-m", "imgpipe", "--data-dir", str(tmp_path), "run", "--settle", "0",
                             "--workers", "2", "--classifier", "none", "--quiet"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, helpers = time.monotonic() + 120, []
        while time.monotonic() < deadline and not helpers:
            helpers = [p for p in _children(proc.pid) if (tmp_path / "gold" / "imgpipe.db").exists()
                       and any(j[1] == "running" for j in _jobs(tmp_path))]
            time.sleep(0.05)
        assert helpers, "the run never had a worker process busy"
        os.kill(proc.pid, signal.SIGKILL)  # the run only, as the OOM killer or a kill -9 would
        proc.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_process_state(p) not in (None, "Z") for p in helpers):
            time.sleep(0.05)
        assert all(_process_state(p) in (None, "Z") for p in helpers), "a worker outlived its run"
        with open(tmp_path / "gold" / "imgpipe.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody holds the run lock now...
            before = _jobs(tmp_path)
            time.sleep(1.0)
            assert _jobs(tmp_path) == before  # ...and nobody works without it
    finally:
        if proc.poll() is None:
            proc.kill()
    assert run(tmp_path)["counts"] == {"gold": 40}  # the next run finishes what the killed one left


@pytest.mark.parametrize("damage", ["empty", "missing"])
def test_4_a_lost_database_beside_existing_data_is_refused_not_started_over(tmp_path, damage):
    put_photo(tmp_path, "u/p.jpg")
    run(tmp_path)
    db = tmp_path / "gold" / "imgpipe.db"
    if damage == "empty":
        os.truncate(db, 0)
    else:
        db.unlink()
    for command in (["run", "--settle", "0"], ["status"], ["records"]):
        line = one_line_failure("--data-dir", str(tmp_path), *command)
        assert ("empty (0 bytes)" if damage == "empty" else "missing") in line and "backup" in line
    assert db.stat().st_size == 0 if damage == "empty" else not db.exists()  # nothing started over


def test_4_a_new_data_dir_still_gets_a_new_database(tmp_path):
    put_photo(tmp_path, "u/p.jpg")
    assert run(tmp_path)["counts"] == {"gold": 1}


@pytest.mark.parametrize("damage", ["random", "half"])
def test_5_a_corrupt_database_is_one_line_and_exit_2(tmp_path, damage):
    for i in range(30):
        put_photo(tmp_path, f"u/p{i}.jpg", seed=i, size=(64, 48))
    run(tmp_path)
    db = tmp_path / "gold" / "imgpipe.db"
    if damage == "random":
        db.write_bytes(os.urandom(db.stat().st_size))
    else:
        os.truncate(db, db.stat().st_size // 2)
    for command in (["run", "--settle", "0"], ["status"], ["records", "--json"], ["db", "check"]):
        line = one_line_failure("--data-dir", str(tmp_path), *command)
        assert "database" in line and ("corrupt" in line or "damaged" in line or "not an SQLite" in line), line


def test_5_db_backup_is_a_checked_copy_and_db_check_says_ok(tmp_path):
    put_photo(tmp_path, "u/p.jpg")
    run(tmp_path)
    out = invoke("--data-dir", str(tmp_path), "db", "backup", f"{tmp_path / 'backups'}/")
    (copy,) = (tmp_path / "backups").glob("imgpipe-*.db")
    assert str(copy) in out
    assert "ok: 1 records" in invoke("--data-dir", str(tmp_path), "db", "check")
    os.replace(copy, tmp_path / "gold" / "imgpipe.db")  # the restore the README describes
    assert [r["status"] for r in records(tmp_path)] == ["gold"]
    assert "local runtime only" in one_line_failure("db", "backup", "x.db", "--backend", "azure")


def test_7_an_unwritable_output_folder_stops_the_run_naming_it_before_any_job_fails(tmp_path):
    put_photo(tmp_path, "u/p.jpg")
    invoke("--data-dir", str(tmp_path), "status")  # creates the folders
    with read_only(tmp_path / "silver"):
        line = one_line_failure("--data-dir", str(tmp_path), "run", "--settle", "0", "--classifier", "none")
    assert "silver" in line and "not writable" in line
    assert cli_json("--data-dir", str(tmp_path), "status")["dead_letters"] == {}
    assert run(tmp_path)["counts"] == {"gold": 1}


def test_11_read_only_commands_work_on_a_read_only_data_dir(tmp_path):
    put_photo(tmp_path, "u/p.jpg")
    run(tmp_path)
    with read_only(tmp_path) as how:
        status = cli_json("--data-dir", str(tmp_path), "status")
        assert status["counts"] == {"gold": 1}, how
        assert [r["status"] for r in cli_json("--data-dir", str(tmp_path), "records")] == ["gold"]
        assert "no dead letters" in invoke("--data-dir", str(tmp_path), "dlq", "list")
        assert "nothing to review" in invoke("--data-dir", str(tmp_path), "review", "list")
        invoke("--data-dir", str(tmp_path), "db", "check")
        invoke("--data-dir", str(tmp_path), "db", "backup", str(tmp_path.parent / f"{tmp_path.name}.bak"))


def _many_records(data_dir: Path, n: int) -> None:
    from shared.local.bootstrap import bootstrap
    from shared.records import Record
    from shared.settings import Settings

    rt = bootstrap(Settings(data_dir=data_dir), classifier="none")
    try:
        rt.conn.execute("BEGIN")
        for i in range(n):
            rt.services.meta.create(Record(
                upload_id=f"{i:032x}", user_id="u", status="gold", upload_ts=f"2026-01-01T00:00:{i % 60:02d}.0Z",
                ingest_ts="", raw_name=f"p{i}.jpg " + "x" * 200, raw_path=f"bronze/x/{i}.jpg", raw_size=1,
                sha256=f"{i:064x}", lineage=[{"stage": "bronze", "path": "x" * 100, "ts": "t"}] * 5))
        rt.conn.execute("COMMIT")
    finally:
        rt.close()


def test_11_a_closed_pipe_ends_the_command_quietly(tmp_path):
    _many_records(tmp_path, 3000)  # far more than a pipe buffer
    proc = subprocess.Popen([sys.executable, "-m", "imgpipe", "--data-dir", str(tmp_path), "records"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert err == "" and proc.returncode in (0, 1)


def test_11_records_json_streams_in_flat_memory(tmp_path):
    def peak_kib(n: int) -> int:
        data = tmp_path / str(n)
        _many_records(data, n)
        script = ("import sys, runpy; sys.argv = ['imgpipe', '--data-dir', sys.argv[1], 'records', '--json']\n"
                  "try:\n    runpy.run_module('imgpipe', run_name='__main__')\nexcept SystemExit:\n    pass\n"
                  "sys.stderr.write(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')))")
        done = subprocess.run([sys.executable, "-c", script, str(data)], cwd=ROOT, capture_output=True, text=True,
                              check=True)
        return int(done.stderr.split()[-2])

    small, large = peak_kib(1000), peak_kib(10000)
    assert large - small < 20 * 1024, (small, large)  # 9,000 more records: far less than 17 KB each (153 MB)


def test_opening_the_database_again_in_one_process_keeps_its_writes_visible(tmp_path):
    """The database checks must not open the file beside SQLite: closing that descriptor drops SQLite's POSIX
    locks in this process, and the next process to close its connection deletes the WAL under our feet."""
    from shared.local.bootstrap import bootstrap
    from shared.settings import Settings

    put_photo(tmp_path, "u/p.jpg")
    run(tmp_path)
    first = bootstrap(Settings(data_dir=tmp_path), classifier="none")  # imgpipe serve: one per thread
    second = bootstrap(Settings(data_dir=tmp_path), classifier="none")
    try:
        assert imgpipe("--data-dir", str(tmp_path), "records", "--json").returncode == 0  # another process
        (record,) = first.services.meta.find()
        record.reason_detail = "written by the first connection"
        first.services.meta.put(record)
        seen = json.loads(imgpipe("--data-dir", str(tmp_path), "records", "--json").stdout)
        assert seen[0]["reason_detail"] == "written by the first connection"
    finally:
        first.close()
        second.close()
