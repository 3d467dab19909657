"""``imgpipe run``: one pass over everything pending, cron-friendly.

A pass ingests every new upload (sequentially: it is I/O), then drains the
queues with N worker processes (cleansing is CPU-bound), retries included,
so when it returns every input is in a terminal state or dead-lettered.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from shared import naming
from shared.local.bootstrap import LocalRuntime, bootstrap, prepare_data_dir
from shared.local.lock import run_lock
from shared.local.worker import work
from shared.ports import MissingObject, ObjectInfo, UnreadableObject
from shared.records import BRONZE as BRONZE_STATUS
from shared.settings import ARCHIVE, BRONZE, SILVER, UPLOADS, Settings
from shared.stages import ingest

log = logging.getLogger(__name__)

# progress(phase, done, total); the CLI draws a bar or prints lines with it.
Progress = Callable[[str, int, int], None]


@dataclass
class RunReport:
    ingested: int = 0
    handled: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    # Uploads that could not be read (permissions, I/O errors): no record yet, tried again next run.
    unreadable: list[str] = field(default_factory=list)


def pending_uploads(rt: LocalRuntime, settle: float = 0.0) -> list[ObjectInfo]:
    """Uploads with no record yet, or whose ingest did not finish (status bronze).

    ``settle`` leaves out files modified in the last that-many seconds: a writer
    may still be appending to them, and the next run takes them whole.
    """
    pending = []
    newest = time.time() - settle
    for info in rt.store.list(UPLOADS):
        if settle and info.modified.timestamp() > newest:
            continue
        record = rt.services.meta.get(naming.upload_id_for(info.path, info.version))
        if record is None or record.status == BRONZE_STATUS:
            pending.append(info)
    return pending


def ingest_all(rt: LocalRuntime, uploads: list[ObjectInfo], progress: Progress | None = None,
               unreadable: list[str] | None = None) -> int:
    """Ingest each upload; one that cannot be read is listed in ``unreadable`` and does not stop the rest."""
    ingested = 0
    for done, info in enumerate(uploads, 1):
        try:
            ingest(rt.services, info)
            ingested += 1
        except MissingObject:
            pass  # deleted between listing and copying: nothing to keep
        except UnreadableObject as exc:
            log.warning("cannot read upload %s", exc)
            if unreadable is not None:
                unreadable.append(str(exc))
        if progress:
            progress("ingest", done, len(uploads))
    return ingested


def _worker_main(settings: Settings, classifier: str | None) -> int:
    rt = bootstrap(settings, classifier=classifier)
    try:
        return work(rt.services, rt.jobs)
    finally:
        rt.close()


def drain(rt: LocalRuntime, workers: int, classifier: str | None, progress: Progress | None = None) -> int:
    """Run the queues empty: this process works, plus ``workers - 1`` spawned ones."""
    report = (lambda: _report_jobs(rt, progress)) if progress else None
    if workers <= 1:
        return work(rt.services, rt.jobs, on_batch=report)
    # spawn, not fork: a forked child would inherit this process's open SQLite connection.
    with ProcessPoolExecutor(workers - 1, mp_context=multiprocessing.get_context("spawn")) as pool:
        helpers = [pool.submit(_worker_main, rt.settings, classifier) for _ in range(workers - 1)]
        handled = work(rt.services, rt.jobs, on_batch=report,
                       stop=lambda: any(f.done() and f.exception() is not None for f in helpers))
    # Leaving the pool waited for every helper. One that died (killed, OOM) broke the pool, which
    # ended the others too (a multiprocessing.Pool would wait for it forever instead): no helper is
    # alive, so their leases are orphans and this process finishes their jobs.
    if any(isinstance(f.exception(), BrokenProcessPool) for f in helpers):
        log.warning("a worker process died; finishing its jobs in this process")
        rt.jobs.release_expired()
        handled += work(rt.services, rt.jobs, on_batch=report)
    return handled + sum(f.result() for f in helpers if not isinstance(f.exception(), BrokenProcessPool))


def _report_jobs(rt: LocalRuntime, progress: Progress) -> None:
    counts = rt.jobs.counts()
    settled = sum(n for k, n in counts.items() if k.endswith((":done", ":dead")))
    progress("process", settled, sum(counts.values()))


def run_once(settings: Settings, *, workers: int = 1, classifier: str | None = None,
             progress: Progress | None = None, lock_timeout: float = 0.0, settle: float = 0.0) -> RunReport:
    start = time.perf_counter()
    prepare_data_dir(settings.data_dir)
    with run_lock(settings.data_dir, timeout=lock_timeout):
        rt = bootstrap(settings, classifier=classifier)
        try:
            # We hold the run lock: running jobs and temp files belong to a run that died.
            rt.jobs.release_expired()
            rt.store.sweep_partials((BRONZE, SILVER, ARCHIVE))
            report = RunReport()
            report.ingested = ingest_all(rt, pending_uploads(rt, settle), progress, report.unreadable)
            report.handled = drain(rt, workers, classifier, progress)
            if progress:
                _report_jobs(rt, progress)  # the last word: helpers may have settled the final jobs
            report.counts = rt.services.meta.counts()
        finally:
            rt.close()
    report.seconds = time.perf_counter() - start
    return report

