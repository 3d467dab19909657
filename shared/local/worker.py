"""A queue worker: take jobs, run their stage, settle them. The local Functions host.

Bad input never reaches here as an exception (stages record ``rejected`` and
return); everything else that goes wrong, bugs included, counts as transient:
retried with backoff, then dead-lettered with the error text and the record
marked ``failed``. Nothing a single upload does can stop the worker.
"""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
from collections.abc import Callable

from shared import errors, messages
from shared.local.jobs import Job, SqliteJobQueue
from shared.services import Services
from shared.settings import CLASSIFY_QUEUE, INGEST_QUEUE, QUEUES
from shared.stages import classify, cleanse, mark_failed

log = logging.getLogger(__name__)

# Classify jobs are taken in batches: one model call scores several images.
BATCH = {CLASSIFY_QUEUE: 8}
LEASE_SECONDS = 300.0
IDLE_POLL = 0.05


def handle(svc: Services, jobs: list[Job]) -> None:
    if jobs[0].queue == INGEST_QUEUE:
        cleanse(svc, jobs[0].body)
    elif jobs[0].queue == CLASSIFY_QUEUE:
        classify(svc, [job.body for job in jobs])
    else:
        raise errors.PermanentError(errors.BAD_MESSAGE, f"unknown queue {jobs[0].queue}")


def settle(svc: Services, queue: SqliteJobQueue, jobs: list[Job], exc: BaseException | None) -> None:
    """Complete, retry or dead-letter the jobs after their stage ran."""
    for job in jobs:
        if exc is None:
            queue.complete(job)
            continue
        if isinstance(exc, errors.PermanentError):
            text = str(exc)
            queue.dead_letter(job, text)
        else:
            text = f"{type(exc).__name__}: {exc}"
            if not queue.fail(job, text, svc.settings.retry):
                level = logging.INFO if isinstance(exc, errors.TransientError) else logging.WARNING
                log.log(level, "retrying %s/%s (attempt %d): %s", job.queue, job.message_id, job.attempts, text)
                continue
        log.error("dead-lettered %s/%s: %s", job.queue, job.message_id, text)
        _mark_failed(svc, job, text)


def _mark_failed(svc: Services, job: Job, text: str) -> None:
    with contextlib.suppress(errors.PermanentError):  # a malformed message names no record
        mark_failed(svc, messages.upload_id_from(job.body), job.queue, text)


def _drop_abandoned(svc: Services, queue: SqliteJobQueue, jobs: list[Job]) -> list[Job]:
    """Dead-letter jobs past their last delivery: each one ended with its worker gone (killed, OOM).

    A settled failure on the last attempt is dead-lettered by ``settle``; only an
    unsettled one is claimed again, and taking it once more would crash every run.
    """
    limit = svc.settings.retry.max_attempts
    for job in jobs:
        if job.attempts > limit:
            text = f"abandoned: no worker settled it in {limit} deliveries (killed or crashed while on it)"
            queue.dead_letter(job, text)
            log.error("dead-lettered %s/%s: %s", job.queue, job.message_id, text)
            _mark_failed(svc, job, text)
    return [job for job in jobs if job.attempts <= limit]


def work(svc: Services, queue: SqliteJobQueue, until_idle: bool = True,
         stop: Callable[[], bool] = lambda: False, on_batch: Callable[[], None] | None = None) -> int:
    """Process jobs until none is pending or running (``until_idle``) or ``stop()``; returns jobs handled."""
    handled = 0
    while not stop():
        jobs = queue.claim(QUEUES, lease=LEASE_SECONDS, batch=BATCH)
        if not jobs:
            if until_idle and queue.active(QUEUES) == 0:
                return handled
            upcoming = queue.next_available(QUEUES)
            time.sleep(min(0.5, max(IDLE_POLL, (upcoming or 0) - time.time())))
            continue
        handled += len(jobs)
        jobs = _drop_abandoned(svc, queue, jobs)
        if jobs:
            _run(svc, queue, jobs)
        if on_batch:
            on_batch()
    return handled


def _run(svc: Services, queue: SqliteJobQueue, jobs: list[Job]) -> None:
    """Run and settle a batch; when it fails, each job alone, so that one bad job does not sink the others."""
    try:
        handle(svc, jobs)
    except Exception as exc:
        if len(jobs) > 1:
            log.info("batch of %d %s jobs failed (%s); trying each alone", len(jobs), jobs[0].queue, exc)
            for job in jobs:
                _run(svc, queue, [job])
            return
        log.debug("stage failed:\n%s", traceback.format_exc())
        settle(svc, queue, jobs, exc)
    else:
        settle(svc, queue, jobs, None)
