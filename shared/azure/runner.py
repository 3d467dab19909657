"""``imgpipe run --backend azure``: the Azure stages in-process, without a Functions host or Service Bus.

Blobs go to Blob Storage and records to Cosmos DB, exactly as the
Functions app writes them; the messages between stages go through a SQLite
job queue in a temporary directory, with the local runtime's worker
(leases, retries with backoff, ``mark_failed`` when they run out). The queue
holds no state worth keeping: the records in Cosmos DB are the state, so a
run picks up whatever a previous run or the Functions app left unfinished
(no record, ``bronze``, ``failed``, or ``gold`` not yet classified). That is
what makes it usable for backfills and for testing against the emulators,
where no Service Bus may be reachable.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared import messages, naming
from shared.adapters.sqlite_db import connect
from shared.azure import connections
from shared.azure.bootstrap import AzureRuntime, bootstrap
from shared.local.jobs import SqliteJobQueue
from shared.local.runner import Progress, RunReport
from shared.local.worker import work
from shared.ports import MissingObject, ObjectInfo
from shared.records import BRONZE, FAILED, GOLD
from shared.settings import CLASSIFY_QUEUE, UPLOADS, Settings
from shared.stages import ingest

JOBS_DB = "jobs.db"


@dataclass
class AzureRunReport(RunReport):
    # Cosmos DB request units and request counts per operation kind, summed over all worker processes.
    cosmos_ru: dict[str, float] = field(default_factory=dict)
    cosmos_calls: dict[str, int] = field(default_factory=dict)

    def add_charges(self, snapshot: dict[str, Any]) -> None:
        self.cosmos_ru = dict(Counter(self.cosmos_ru) + Counter(snapshot["ru"]))
        self.cosmos_calls = dict(Counter(self.cosmos_calls) + Counter(snapshot["calls"]))


def _runtime(settings: Settings, classifier: str | None, db: Path, create_missing: bool = False) -> AzureRuntime:
    return bootstrap(settings, queue=SqliteJobQueue(connect(db)), classifier=classifier, create_missing=create_missing)


def pending_uploads(rt: AzureRuntime) -> list[ObjectInfo]:
    """Uploads with no record, or whose ingest did not finish, or that failed before."""
    pending = []
    for info in rt.store.list(UPLOADS):
        record = rt.meta.get(naming.upload_id_for(info.path, info.version))
        if record is None or record.status in (BRONZE, FAILED):
            pending.append(info)
    return pending


def requeue_unclassified(rt: AzureRuntime) -> int:
    """Gold records whose classify message was lost (a run or an app stopped in between)."""
    if not rt.services.classify_enabled:
        return 0
    gold = rt.meta.find(status=GOLD)
    for record in gold:
        rt.services.queue.send(CLASSIFY_QUEUE, record.upload_id, messages.body_for(record.upload_id))
    return len(gold)


def _ingest_all(rt: AzureRuntime, uploads: list[ObjectInfo], progress: Progress | None) -> int:
    done = 0
    for info in uploads:
        try:
            ingest(rt.services, info)
        except MissingObject:
            continue  # deleted between listing and copying: nothing to keep
        done += 1
        if progress:
            progress("ingest", done, len(uploads))
    return done


def _jobs(rt: AzureRuntime) -> SqliteJobQueue:
    queue = rt.services.queue
    assert isinstance(queue, SqliteJobQueue)
    return queue


def _worker_main(settings: Settings, classifier: str | None, db: str) -> tuple[int, dict[str, Any]]:
    rt = _runtime(settings, classifier, Path(db))
    try:
        return work(rt.services, _jobs(rt)), rt.meta.charges.snapshot()
    finally:
        _jobs(rt).conn.close()


def _drain(rt: AzureRuntime, report: AzureRunReport, workers: int, classifier: str | None, db: Path) -> None:
    if workers <= 1:
        report.handled = work(rt.services, _jobs(rt))
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        for handled, charges in pool.starmap(_worker_main, [(rt.settings, classifier, str(db))] * workers):
            report.handled += handled
            report.add_charges(charges)


def run_once(settings: Settings, *, workers: int = 1, classifier: str | None = None,
             progress: Progress | None = None, create_missing: bool | None = None) -> AzureRunReport:
    """One pass: ingest what is pending in ``uploads``, then run the queues empty.

    ``create_missing`` (default: when ``COSMOS_KEY`` is set, i.e. an emulator
    or a key-based dev account) creates the blob and Cosmos containers; with
    a managed identity ``infra/`` has declared them and the data-plane role
    could not create them anyway.
    """
    if create_missing is None:
        create_missing = connections.setting("COSMOS_KEY") is not None
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="imgpipe-azure-run-") as tmp:
        db = Path(tmp) / JOBS_DB
        rt = _runtime(settings, classifier, db, create_missing=create_missing)
        try:
            report = AzureRunReport(ingested=_ingest_all(rt, pending_uploads(rt), progress))
            requeue_unclassified(rt)
            _drain(rt, report, workers, classifier, db)
            report.add_charges(rt.meta.charges.snapshot())  # before counts(): those queries are not per image
            report.counts = rt.meta.counts()
        finally:
            _jobs(rt).conn.close()
    report.seconds = time.perf_counter() - start
    return report
