"""A queue worker: take jobs, run their stage, settle them by the one policy. The local Functions host.

Bad input never reaches here as an exception (stages record ``rejected`` and
return); a message that cannot be understood is dead-lettered at once;
everything else that goes wrong, bugs included, is retried with backoff and
finally dead-lettered with the record marked ``failed``. Nothing a single
upload does can stop the worker. What stops it is the pipeline itself
failing (``PipelineUnavailable``: a folder it cannot write, a service it
cannot reach): the job goes back untouched, without spending an attempt,
and the error ends the run with exit 2 instead of dead-lettering every job
in turn.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from shared import errors, messages
from shared.jobhost.queue import Job, SqliteJobQueue
from shared.layout import QUEUES, Queue
from shared.services import Services
from shared.settlement import Settlement, Verdict, run_isolated, settle
from shared.stages import classify, cleanse, mark_failed

log = logging.getLogger(__name__)

# Classify jobs are taken in batches: one model call scores several images.
BATCH = {Queue.CLASSIFY: 8}
LEASE_SECONDS = 300.0
IDLE_POLL = 0.05


class Abandoned(errors.TransientError):
    """The job's worker died while on it (killed, OOM) on every delivery so far."""


def handle(svc: Services, jobs: list[Job]) -> None:
    """Run the stage behind the jobs' queue (a batch is always of one queue)."""
    if jobs[0].queue == Queue.CLEANSE:
        for job in jobs:
            cleanse(svc, job.body)
    elif jobs[0].queue == Queue.CLASSIFY:
        classify(svc, [job.body for job in jobs])
    else:
        raise errors.PermanentError(errors.BAD_MESSAGE, f"unknown queue {jobs[0].queue!r}")


def apply(svc: Services, queue: SqliteJobQueue, job: Job, outcome: Settlement) -> None:
    """The SQLite adapter of the settlement policy."""
    if outcome.verdict == Verdict.COMPLETE:
        queue.complete(job)
        return
    if outcome.verdict == Verdict.RETRY:
        log.info("retrying %s/%s (attempt %d): %s", job.queue, job.message_id, job.attempts, outcome.detail)
        queue.retry(job, outcome.detail or "", svc.settings.retry.delay(job.attempts))
        return
    log.error("dead-lettered %s/%s: %s %s", job.queue, job.message_id, outcome.reason, outcome.detail)
    if outcome.mark_failed:
        with contextlib.suppress(errors.PermanentError):  # a malformed message names no record
            mark_failed(svc, messages.upload_id_from(job.body), job.queue, outcome.detail or "")
    queue.dead_letter(job, outcome.reason or "", outcome.detail or "")


def run_batch(svc: Services, queue: SqliteJobQueue, jobs: list[Job]) -> None:
    """Run a batch isolated (a failing job is retried alone) and settle each job."""
    limit = svc.settings.retry.max_attempts
    live = []
    for job in jobs:
        if job.attempts > limit:  # only an unsettled delivery is claimed again: each one ended with its worker
            error = Abandoned(f"abandoned: no worker settled it in {limit} deliveries (killed or crashed while on it)")
            apply(svc, queue, job, settle(error, job.attempts, limit))
        else:
            live.append(job)
    unavailable = None
    for job, error in run_isolated(lambda batch: handle(svc, batch), live):
        if isinstance(error, errors.PipelineUnavailable):
            queue.give_back(job)
            unavailable = error
            continue
        if error is not None:
            log.debug("stage failed on %s/%s", job.queue, job.message_id, exc_info=error)
        apply(svc, queue, job, settle(error, job.attempts, limit))
    if unavailable is not None:
        raise unavailable


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
        run_batch(svc, queue, jobs)
        if on_batch:
            on_batch()
    return handled
