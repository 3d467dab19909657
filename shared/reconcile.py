"""The reconciliation sweep: what no event, message or delivery count will ever finish by itself.

Three ways work falls through the cracks of an event-driven pipeline, found
from the state that cannot lie (the objects in ``uploads/`` and the records):

- an upload whose event never fired (Event Grid gave up, a subscription was
  briefly missing, the app was down past the retry window) has no record:
  it is ingested here, once it is older than a grace period (its event may
  still be on the way; ingest is idempotent either way);
- a record stuck in a non-terminal state past a deadline (its message was
  lost) is driven again: the rule of what is unfinished is the runner's
  (``shared.runner.unfinished``), the message goes to the same queue;
- a message the broker dead-lettered after its last delivery, whose record
  the consumer could not mark ``failed`` because the host did not say which
  delivery was the last (``delivery_count`` unknown): the record is marked
  here from the dead-letter queue.

Bounded per run: at most ``limit`` uploads are examined, in name order from
the continuation token, and at most ``limit`` records are re-driven or
marked. Safe to run concurrently with the triggers and with another sweep:
every action is an idempotent stage, a conditional write, or a message that
an idempotent consumer absorbs.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared import errors, messages, naming
from shared.layout import QUEUES, Zone
from shared.ports import ConcurrencyError, MissingObject, NotAnInput, ObjectInfo, VersionChanged
from shared.records import RETRIES_EXHAUSTED, TERMINAL, Record, Status, parse_iso
from shared.runner import unfinished
from shared.runtime import DeadLetter, DeadLetterQueue
from shared.services import Services
from shared.settings import ReconcilePolicy
from shared.stages import ingest, mark_failed

log = logging.getLogger(__name__)
# The broker's reason for a message whose deliveries ran out (the consumer settles everything else itself).
MAX_DELIVERIES = "MaxDeliveryCountExceeded"


@dataclass
class ReconcileReport:
    examined: int = 0
    too_young: int = 0  # uploads inside the grace period, left to their event
    ingested: list[str] = field(default_factory=list)
    redriven: list[str] = field(default_factory=list)  # "<queue>/<upload id>"
    marked_failed: list[str] = field(default_factory=list)
    next_token: str | None = None  # where the next run continues listing uploads/; None = from the start

    def to_dict(self) -> dict[str, Any]:
        return {"examined": self.examined, "too_young": self.too_young, "ingested": self.ingested,
                "redriven": self.redriven, "marked_failed": self.marked_failed, "next_token": self.next_token}

    @property
    def found(self) -> int:
        return len(self.ingested) + len(self.redriven) + len(self.marked_failed)


def reconcile(svc: Services, dead_letters: DeadLetterQueue | None, policy: ReconcilePolicy,
              token: str | None = None) -> ReconcileReport:
    """One bounded run; ``token`` is the previous run's ``next_token``."""
    report = ReconcileReport()
    now = svc.clock()
    ingest_lost_uploads(svc, policy, token, now, report)
    redrive_stuck(svc, policy, now, report)
    if dead_letters is not None:
        mark_dead_lettered(svc, dead_letters, policy.limit, report)
    if report.found:
        log.warning("reconcile: %s", report.to_dict())
    return report


def page(uploads: Iterator[ObjectInfo], token: str | None, limit: int) -> tuple[list[ObjectInfo], str | None]:
    """The ``limit`` uploads whose names follow ``token``, in name order, whatever order the store lists in."""
    after = (u for u in uploads if token is None or u.path > token)
    chosen = heapq.nsmallest(limit + 1, after, key=lambda u: u.path)
    if len(chosen) > limit:
        return chosen[:limit], chosen[limit - 1].path
    return chosen, None


def ingest_lost_uploads(svc: Services, policy: ReconcilePolicy, token: str | None, now: datetime,
                        report: ReconcileReport) -> None:
    chosen, report.next_token = page(svc.store.list(Zone.UPLOADS), token, policy.limit)
    oldest = now - timedelta(hours=policy.lookback_hours)
    youngest = now - timedelta(minutes=policy.grace_minutes)
    for info in chosen:
        report.examined += 1
        if info.modified > youngest:
            report.too_young += 1
            continue
        if info.modified < oldest or svc.meta.get(naming.upload_id_for(info.path, info.version)) is not None:
            continue
        try:
            record = ingest(svc, info)  # an unreadable upload gets a failed record with its reason
        except (MissingObject, VersionChanged, NotAnInput) as exc:
            log.warning("reconcile: upload %r not ingested: %s", info.path, type(exc).__name__)
            continue
        report.ingested.append(record.upload_id)


def redrive_stuck(svc: Services, policy: ReconcilePolicy, now: datetime, report: ReconcileReport) -> None:
    deadline = now - timedelta(minutes=policy.stuck_minutes)
    # The rule of what is unfinished lives in the runner, once (it also copies a missing bronze again from
    # its upload, or marks the record lost).
    for queue, upload_id in unfinished(svc):
        if len(report.redriven) >= policy.limit:
            break
        record = svc.meta.get(upload_id)
        if record is None or _last_touched(record) > deadline:
            continue  # probably still on its way through the queues
        svc.queue.send(queue, upload_id, messages.body_for(upload_id))
        report.redriven.append(f"{queue}/{upload_id}")


def mark_dead_lettered(svc: Services, dead_letters: DeadLetterQueue, limit: int, report: ReconcileReport) -> None:
    for letter in dead_letters.list(limit):
        upload_id = _upload_id(letter)
        if upload_id is None:
            continue
        record = svc.meta.get(upload_id)
        if record is None or record.status in TERMINAL:
            continue
        reason = RETRIES_EXHAUSTED if letter.reason in (None, MAX_DELIVERIES, RETRIES_EXHAUSTED) else letter.reason
        try:
            mark_failed(svc, upload_id, letter.queue, letter.detail or letter.reason or "dead-lettered", reason)
        except ConcurrencyError:
            continue  # a stage wrote it meanwhile: the next run looks again
        if (marked := svc.meta.get(upload_id)) is not None and marked.status == Status.FAILED:
            report.marked_failed.append(upload_id)


def _upload_id(letter: DeadLetter) -> str | None:
    if letter.queue not in QUEUES:
        return None  # e.g. the blob trigger's poison queue: no record to mark, `dlq replay` ingests it
    try:
        return messages.upload_id_from(letter.body)
    except errors.PermanentError:
        return None  # bad_message: names no record


def _last_touched(record: Record) -> datetime:
    return parse_iso(record.updated_ts or record.ingest_ts or record.upload_ts)
