"""A crash between any two writes, then a re-run, converges to the uninterrupted result.

Two ways to crash: an injected exception before the n-th write, for every n
(exhaustive and deterministic), and SIGKILL of a real ``imgpipe run`` with
two worker processes at several moments.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shared.adapters.fs_store import FsObjectStore
from shared.adapters.sqlite_db import connect
from shared.adapters.sqlite_metadata import SqliteMetadataStore
from shared.jobhost.pool import drain
from shared.jobhost.queue import SqliteJobQueue
from shared.jobhost.worker import work
from shared.local.bootstrap import bootstrap
from shared.runner import RunOptions, ingest_all, pending_uploads, run_once
from shared.settings import Settings
from tests import corpus as corpus_mod
from tests.invariants import normalized, referenced

PICK = ("seller1/shoe.jpg", "seller4/copy one.jpg", "seller1/orient6.jpg", "seller3/page.jpg",
        "seller3/truncated.jpg", "seller2/transparent.png")


class Crash(BaseException):
    """Not an Exception: the worker must not catch it, just as it cannot catch a kill."""


class Budget:
    def __init__(self, writes: int | None) -> None:
        self.left, self.used = writes, 0

    def tick(self) -> None:
        if self.left is not None and self.used >= self.left:
            raise Crash(f"crash before write {self.used + 1}")
        self.used += 1


def crashing(cls: type, budget: Budget, methods: tuple[str, ...]) -> type:
    def wrap(name: str):
        original = getattr(cls, name)

        def method(self, *args, **kwargs):
            budget.tick()
            return original(self, *args, **kwargs)
        return method
    return type(f"Crashing{cls.__name__}", (cls,), {m: wrap(m) for m in methods})


def crash_run(data_dir: Path, budget: Budget) -> None:
    rt = bootstrap(Settings(data_dir=data_dir), classifier="none")
    store = crashing(FsObjectStore, budget, ("put", "copy", "move", "delete"))(data_dir)
    meta = crashing(SqliteMetadataStore, budget, ("create", "put", "claim_checksum"))(rt.conn)
    queue = crashing(SqliteJobQueue, budget, ("send", "complete", "retry", "dead_letter"))(rt.conn)
    rt.services.store, rt.services.meta, rt.services.queue, rt.jobs, rt.store = store, meta, queue, queue, store
    try:
        ingest_all(rt, pending_uploads(rt))
        work(rt.services, rt.jobs)
    except Crash:
        pass
    finally:
        rt.close()


def outcome(data_dir: Path) -> tuple[list[tuple], set[str]]:
    rt = bootstrap(Settings(data_dir=data_dir), classifier="none")
    try:
        records = rt.services.meta.find()
        jobs = rt.jobs.counts()
    finally:
        rt.close()
    files = {p.relative_to(data_dir).as_posix() for sub in ("bronze", "silver")
             for p in (data_dir / sub).rglob("*") if p.is_file()}
    assert files == referenced(records), "no orphan object, no dangling path"
    assert not any(k.endswith((":pending", ":running", ":dead")) for k in jobs), jobs
    return normalized(records), files


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, small_corpus):
    items = {k: small_corpus[k] for k in PICK}
    seed = tmp_path_factory.mktemp("seed")
    corpus_mod.write(seed / "uploads", items)
    reference = tmp_path_factory.mktemp("reference")
    shutil.copytree(seed, reference, dirs_exist_ok=True)
    counter = Budget(None)
    crash_run(reference, counter)
    return seed, outcome(reference), counter.used


def fresh(seed: Path, target: Path) -> Path:
    shutil.copytree(seed, target, copy_function=shutil.copy2)
    return target


def test_an_injected_crash_before_any_write_converges(seeded, tmp_path):
    seed, expected, total_writes = seeded
    assert total_writes > 30  # the pipeline really wrote things the loop below interrupts
    for n in range(total_writes):
        data_dir = fresh(seed, tmp_path / f"crash-{n}")
        crash_run(data_dir, Budget(n))
        with bootstrap(Settings(data_dir=data_dir), classifier="none") as rt:
            run_once(rt, RunOptions(workers=1))
        assert outcome(data_dir) == expected, f"crash before write {n + 1} did not converge"


def test_killed_runs_with_two_workers_converge(seeded, tmp_path):
    seed, expected, _ = seeded
    data_dir = fresh(seed, tmp_path / "killed")
    command = [sys.executable, "-m", "imgpipe", "--data-dir", str(data_dir), "run", "--settle", "0", "--workers", "2",
               "--classifier", "none", "--quiet"]
    for delay in (0.4, 0.9, 1.3, 1.8):
        proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    assert outcome(data_dir) == expected


def test_a_worker_process_killed_mid_run_does_not_hang_the_run(tmp_path):
    """An OOM-killed helper must not leave ``imgpipe run`` waiting forever while it holds the run lock."""
    uploads = tmp_path / "uploads" / "u"
    uploads.mkdir(parents=True)
    base = corpus_mod.photo(1600, 1200, seed=3)
    for i in range(24):
        base.paste((i * 10, 0, 255 - i * 10), (0, 0, 40, 40 + i))
        (uploads / f"{i}.png").write_bytes(corpus_mod.encode(base, "PNG", compress_level=1))
    rt = bootstrap(Settings(data_dir=tmp_path), classifier="none")
    ingest_all(rt, pending_uploads(rt))
    thread = threading.Thread(target=drain, args=(rt, 2), daemon=True)
    thread.start()
    watcher = connect(tmp_path / "gold" / "imgpipe.db")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # both processes busy: the helper holds a lease
            counts = SqliteJobQueue(watcher).counts()
            if counts.get("cleanse:running", 0) >= 2 and multiprocessing.active_children():
                break
            time.sleep(0.01)
        victim = max(multiprocessing.active_children(), key=lambda p: p.pid)
        os.kill(victim.pid, signal.SIGKILL)
        thread.join(timeout=90)
        assert not thread.is_alive(), "the run hung after a worker process died"
        assert SqliteJobQueue(watcher).counts() == {"cleanse:done": 24}
    finally:
        watcher.close()
