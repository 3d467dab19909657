"""``imgpipe run``: one pass over everything pending, the same on every backend.

A pass ingests every new upload (sequentially: it is I/O; each one isolated,
``shared.intake``), resumes work the records say is unfinished, then drains
the queues with N worker processes (cleansing is CPU-bound), retries
included, so when it returns every input is in a terminal state or
dead-lettered. The runtime only supplies the services, the job host and the
uploads; the rules of a run live here once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from shared import messages
from shared.classifiers import EndpointFactory
from shared.errors import PipelineUnavailable
from shared.intake import Progress, ingest_all, pending_uploads
from shared.jobhost.pool import drain
from shared.jobhost.worker import BATCH, LEASE_SECONDS
from shared.layout import Queue
from shared.ports import RecordQuery
from shared.records import Record, Status
from shared.report import RunReport
from shared.runtime import Runtime
from shared.services import Services
from shared.settings import SettingsError
from shared.stages.cleanse import is_stale
from shared.stages.recovery import RECOVERABLE, bronze_missing, recover

__all__ = ["Progress", "RunOptions", "RunReport", "ingest_all", "pending_uploads", "recover_missing", "run_once",
           "unfinished"]
log = logging.getLogger(__name__)
# imgpipe run's default --settle: a file modified (or renamed, touched) in the last 10 s is left for the next
# run, so a cron run never takes half an upload that is still being written.
RUN_SETTLE = 10.0


@dataclass(frozen=True)
class RunOptions:
    workers: int = 1
    settle: float = 0.0  # leave uploads modified in the last that-many seconds for the next run
    wait: float = 0.0  # seconds to wait for another run's lock before stepping aside
    ingest: bool = True  # look at uploads/ (a reprocess does not)
    verify: bool = False  # hash every listed upload again and take changed bytes in as new versions
    # Records to work on again regardless of their state (``imgpipe reprocess``); None = only unfinished ones.
    rework: RecordQuery | None = None


def unfinished(svc: Services, rework: RecordQuery | None = None,
               report: RunReport | None = None) -> Iterator[tuple[Queue, str]]:
    """Work the records say is not done: (queue, upload id) to send again. The one rule, for runs and sweeps.

    A record in ``bronze`` or ``failed`` whose bronze copy is missing is copied again from its upload
    while the upload still holds that version, or marked ``lost`` (``shared.stages.recovery``); one
    still in ``bronze`` then needs cleansing (its message may be lost with a killed run); one at
    ``gold`` needs classifying once a classifier is configured (a run with ``--classifier none`` left
    it there); one whose silver was made by older cleansing rules needs cleansing again. ``rework``
    selects records to cleanse again whatever their state (``imgpipe reprocess``).
    """
    report = report if report is not None else RunReport()
    for record in recover_missing(svc, report):
        if record.status == Status.BRONZE:
            yield Queue.CLEANSE, record.upload_id
    if svc.classify_enabled:
        for record in list(svc.meta.scan(RecordQuery(statuses=(Status.GOLD,)))):
            if not is_stale(svc, record):
                yield Queue.CLASSIFY, record.upload_id
    if rework is not None:
        for record in reworkable(svc, rework):
            yield Queue.CLEANSE, record.upload_id


def recover_missing(svc: Services, report: RunReport) -> Iterator[Record]:
    """Every record in ``bronze`` or ``failed``, after recovery: one whose bronze copy is missing is copied
    again from its upload or marked ``lost`` (unless this run's ingest tried it already). The one rule, for
    runs, sweeps and the bulk job."""
    for record in list(svc.meta.scan(RecordQuery(statuses=RECOVERABLE))):
        if record.upload_id not in report.tried and bronze_missing(svc, record):
            record = _recover(svc, record, report)
        yield record


def _recover(svc: Services, record: Record, report: RunReport) -> Record:
    """Isolated like ingest: one record that cannot be recovered now does not stop the others."""
    try:
        recovered = recover(svc, record)
    except PipelineUnavailable:
        raise
    except Exception:
        log.warning("could not recover %s now; the next run tries again", record.upload_id, exc_info=True)
        return record
    report.recovered += recovered.status == Status.BRONZE
    report.lost += recovered.status == Status.LOST
    return recovered


def reworkable(svc: Services, query: RecordQuery) -> list[Record]:
    """What ``imgpipe reprocess`` recomputes: selected records made by older cleansing rules, or failed.

    Nothing else is ever recomputed: a new checksum is a new upload, and a
    record cleansed by the current rules is left alone. Originals come first,
    so their duplicates can be linked again as soon as they are done.
    """
    selected = [r for r in svc.meta.scan(query) if r.status == Status.FAILED or is_stale(svc, r)]
    return sorted(selected, key=lambda r: r.duplicate_of is not None)


def resume(rt: Runtime, rework: RecordQuery | None = None, report: RunReport | None = None) -> int:
    """Send the unfinished work again; returns how many jobs that armed (ones already queued do not count)."""
    return sum(rt.jobs.send(queue, upload_id, messages.body_for(upload_id))
               for queue, upload_id in unfinished(rt.services, rework, report))


def check_batch_deadline(svc: Services) -> None:
    """A classify batch must end within the job's lease, or another worker takes it while it still runs."""
    factory = svc.classifier_factory
    if not svc.classify_enabled or not isinstance(factory, EndpointFactory):
        return
    worst = factory.worst_case(BATCH[Queue.CLASSIFY])
    if worst > LEASE_SECONDS:
        raise SettingsError(f"a classify batch may take {worst:.0f} s against a hanging endpoint "
                            f"({factory.explain()}), more than the {LEASE_SECONDS:.0f} s job lease: "
                            "lower ML_ENDPOINT_TIMEOUT or ML_ENDPOINT_MAX_RETRY_AFTER")


def run_once(rt: Runtime, options: RunOptions = RunOptions(), progress: Progress | None = None) -> RunReport:
    """One pass over ``rt``; the caller opens and closes the runtime."""
    start, started_at = time.perf_counter(), time.time()
    report = RunReport()
    check_batch_deadline(rt.services)
    with rt.lock(options.wait):
        rt.prepare()
        if options.ingest:
            uploads = pending_uploads(rt, options.settle, options.verify, report)
            ingest_all(rt, uploads, progress, report)
        report.resumed = resume(rt, options.rework, report)
        on_batch = (lambda: _report_jobs(rt, progress, started_at)) if progress else None
        report.handled, report.usage = drain(rt, options.workers, on_batch)
        if progress:
            _report_jobs(rt, progress, started_at)  # the last word: helpers may have settled the final jobs
        report.usage.update(rt.usage())
        report.counts = rt.services.meta.counts()
    report.seconds = time.perf_counter() - start
    return report


def _report_jobs(rt: Runtime, progress: Progress, since: float) -> None:
    counts = rt.jobs.counts(since)
    settled = sum(n for k, n in counts.items() if k.endswith((":done", ":dead")))
    progress("process", settled, sum(counts.values()))
