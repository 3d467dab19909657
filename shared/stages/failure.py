"""The last word on a message whose retries ran out: the record says ``failed``.

Dead-lettering happens in the queue (Service Bus or the local jobs table);
this makes the record agree, so ``status`` shows the upload as failed with
the error text instead of stuck in ``bronze`` forever. A replay from the
dead-letter queue runs the stage again, which moves the record on.
"""

from __future__ import annotations

from shared import gold
from shared.layout import Queue
from shared.records import CLEANSED, RETRIES_EXHAUSTED, Status, iso
from shared.services import Services


def mark_failed(svc: Services, upload_id: str, queue: str, error: str, reason: str = RETRIES_EXHAUSTED) -> None:
    """Mark the record failed unless the stage behind ``queue`` already finished it."""
    record = svc.meta.get(upload_id)
    unfinished_classify = queue == Queue.CLASSIFY and record is not None and record.status == Status.GOLD
    if record is None or record.status == Status.LOST or (record.status in CLEANSED and not unfinished_classify):
        return
    gold.mark_failed(record, queue, error, iso(svc.clock()), reason)
    svc.meta.put(record)
