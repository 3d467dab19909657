"""Issue 10 items 3 and 7, issue 14 item 5: a failing pipeline stops the run instead of failing each job, and
errors from worker processes come back readable."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.adapters.sqlite_db import connect
from shared.errors import PipelineUnavailable
from shared.jobhost import worker
from shared.jobhost.pool import drain
from shared.jobhost.queue import SqliteJobQueue
from shared.ports import StoreUnavailable
from shared.settings import Settings
from tests.unit.fakes import services


def test_an_unwritable_store_gives_the_job_back_untouched_and_stops(tmp_path, monkeypatch):
    conn = connect(tmp_path / "db.sqlite")
    queue = SqliteJobQueue(conn)
    queue.send("cleanse", "a" * 32, {"upload_id": "a" * 32})

    def cleanse(svc, body):
        raise StoreUnavailable("folder silver/2026 is not writable: Read-only file system")

    monkeypatch.setattr(worker, "cleanse", cleanse)
    with pytest.raises(StoreUnavailable):
        worker.work(services(), queue)
    assert queue.counts() == {"cleanse:pending": 1}
    assert tuple(conn.execute("SELECT attempts, last_error FROM jobs").fetchone()) == (0, None)  # not spent
    conn.close()


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("https://acct.blob.core.windows.net/x?sig=s3cr3t unreachable")
        self.lock = threading.Lock()  # like an SDK error holding its response


@dataclass(frozen=True)
class FailingOpener:
    """A worker process whose runtime cannot even be built (a service down)."""

    data_dir: Path
    pipeline: bool

    def __call__(self):
        raise PipelineUnavailable("Cosmos DB (localhost:1) is unreachable") if self.pipeline else Unpicklable()


@dataclass
class Runtime:
    opener_: FailingOpener

    def __post_init__(self) -> None:
        self.conn = connect(self.opener_.data_dir / "db.sqlite")
        self.jobs = SqliteJobQueue(self.conn)
        self.services = services()
        self.settings = Settings(data_dir=self.opener_.data_dir)

    def opener(self) -> FailingOpener:
        return self.opener_


@pytest.mark.parametrize("pipeline", [True, False])
def test_a_worker_process_error_comes_back_readable_and_redacted(tmp_path, pipeline):
    rt = Runtime(FailingOpener(tmp_path, pipeline))
    with pytest.raises(PipelineUnavailable if pipeline else RuntimeError) as caught:
        drain(rt, 2)  # type: ignore[arg-type]
    text = str(caught.value)
    assert ("Cosmos DB" in text) if pipeline else ("unreachable" in text and "s3cr3t" not in text)
    rt.conn.close()
