"""``imgpipe run``: one pass over everything pending, the same on every backend.

A pass ingests every new upload (sequentially: it is I/O), resumes work the
records say is unfinished, then drains the queues with N worker processes
(cleansing is CPU-bound), retries included, so when it returns every input
is in a terminal state or dead-lettered. The runtime only supplies the
services, the job host and the uploads; the rules of a run live here once.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from shared import messages, naming
from shared.jobhost.pool import drain
from shared.layout import Queue
from shared.ports import MissingObject, ObjectInfo, RecordQuery, UnreadableObject
from shared.records import Record, Status
from shared.runtime import Runtime
from shared.stages import ingest
from shared.stages.cleanse import is_stale

log = logging.getLogger(__name__)

# progress(phase, done, total); the CLI draws a bar or prints lines with it.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RunOptions:
    workers: int = 1
    settle: float = 0.0  # leave uploads modified in the last that-many seconds for the next run
    wait: float = 0.0  # seconds to wait for another run's lock before stepping aside
    ingest: bool = True  # look at uploads/ (a reprocess does not)
    # Records to work on again regardless of their state (``imgpipe reprocess``); None = only unfinished ones.
    rework: RecordQuery | None = None


@dataclass
class RunReport:
    ingested: int = 0
    resumed: int = 0
    handled: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    # Uploads that could not be read (permissions, I/O errors): no record yet, tried again next run.
    unreadable: list[str] = field(default_factory=list)
    usage: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, object]:
        return {"ingested": self.ingested, "resumed": self.resumed, "handled": self.handled,
                "seconds": round(self.seconds, 3), "counts": self.counts, "unreadable": self.unreadable,
                "usage": dict(self.usage)}


def pending_uploads(rt: Runtime, settle: float = 0.0) -> list[ObjectInfo]:
    """Uploads with no record yet, or whose ingest did not finish (status bronze).

    ``settle`` leaves out objects modified in the last that-many seconds: a writer
    may still be appending to them, and the next run takes them whole.
    """
    pending = []
    newest = time.time() - settle
    for info in rt.uploads():
        if settle and info.modified.timestamp() > newest:
            continue
        record = rt.services.meta.get(naming.upload_id_for(info.path, info.version))
        if record is None or record.status == Status.BRONZE:
            pending.append(info)
    return pending


def ingest_all(rt: Runtime, uploads: list[ObjectInfo], progress: Progress | None = None,
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


def unfinished(rt: Runtime, rework: RecordQuery | None = None) -> Iterator[tuple[Queue, str]]:
    """Work the records say is not done: (queue, upload id) to send again.

    A record still in ``bronze`` needs cleansing (its message may be lost with a
    killed run); one at ``gold`` needs classifying once a classifier is
    configured (a run with ``--classifier none`` left it there); one whose
    silver was made by older cleansing rules needs cleansing again. ``rework``
    selects records to cleanse again whatever their state (``imgpipe reprocess``).
    """
    meta, svc = rt.services.meta, rt.services
    for record in list(meta.scan(RecordQuery(statuses=(Status.BRONZE,)))):
        yield Queue.CLEANSE, record.upload_id
    if svc.classify_enabled:
        for record in list(meta.scan(RecordQuery(statuses=(Status.GOLD,)))):
            if not is_stale(svc, record):
                yield Queue.CLASSIFY, record.upload_id
    if rework is not None:
        for record in reworkable(rt, rework):
            yield Queue.CLEANSE, record.upload_id


def reworkable(rt: Runtime, query: RecordQuery) -> list[Record]:
    """What ``imgpipe reprocess`` recomputes: selected records made by older cleansing rules, or failed.

    Nothing else is ever recomputed: a new checksum is a new upload, and a
    record cleansed by the current rules is left alone. Originals come first,
    so their duplicates can be linked again as soon as they are done.
    """
    svc = rt.services
    selected = [r for r in svc.meta.scan(query) if r.status == Status.FAILED or is_stale(svc, r)]
    return sorted(selected, key=lambda r: r.duplicate_of is not None)


def resume(rt: Runtime, rework: RecordQuery | None = None) -> int:
    """Send the unfinished work again; returns how many jobs that armed (ones already queued do not count)."""
    return sum(rt.jobs.send(queue, upload_id, messages.body_for(upload_id))
               for queue, upload_id in unfinished(rt, rework))


def run_once(rt: Runtime, options: RunOptions = RunOptions(), progress: Progress | None = None) -> RunReport:
    """One pass over ``rt``; the caller opens and closes the runtime."""
    start, started_at = time.perf_counter(), time.time()
    report = RunReport()
    with rt.lock(options.wait):
        rt.prepare()
        if options.ingest:
            uploads = pending_uploads(rt, options.settle)
            report.ingested = ingest_all(rt, uploads, progress, report.unreadable)
        report.resumed = resume(rt, options.rework)
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
