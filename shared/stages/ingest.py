"""Ingest: upload -> bronze (byte-identical) + the record + one ``cleanse`` message."""

from __future__ import annotations

import logging

from shared import gold, messages, naming
from shared.formats import SNIFF_BYTES, sniff
from shared.layout import Queue
from shared.ports import ObjectInfo
from shared.records import Record, Status, iso
from shared.services import Services

log = logging.getLogger(__name__)


def ingest(svc: Services, upload: ObjectInfo) -> Record:
    """Copy one upload to bronze, write its record and enqueue it for cleansing.

    Order: bronze object (deterministic path, same bytes) -> record (conditional create)
    -> message (``message_id = upload_id``; consumers are idempotent, so a second
    copy of it is harmless). A crash between any two leaves nothing that a re-run
    does not complete, and a re-fired event for the same blob version is the same upload id.
    """
    upload_id = naming.upload_id_for(upload.path, upload.version)
    record = svc.meta.get(upload_id)
    if record is None:
        record = _new_record(svc, upload, upload_id)
    if record.status == Status.BRONZE:
        record = _write_bronze(svc, upload, record)
    if record.status in (Status.BRONZE, Status.FAILED):  # past ingest otherwise: a duplicate event
        svc.queue.send(Queue.CLEANSE, upload_id, messages.body_for(upload_id))
    return record


def _new_record(svc: Services, upload: ObjectInfo, upload_id: str) -> Record:
    return gold.new_record(upload, upload_id, sniff(svc.store.head(upload.path, SNIFF_BYTES)))


def _write_bronze(svc: Services, upload: ObjectInfo, record: Record) -> Record:
    if record.sha256 and svc.store.exists(record.raw_path):
        return record  # bronze and record written before a crash; only the message was missing
    copied = svc.store.copy(upload.path, record.raw_path)
    gold.copied_to_bronze(record, upload.path, copied, iso(svc.clock()))
    if record.etag is not None:
        svc.meta.put(record)  # conditional: fails if another delivery wrote in between
    elif not svc.meta.create(record):
        # A concurrent delivery of the same event wrote the record first (and stages may have moved
        # it on since): a blind upsert would put it back to bronze. Its copy is the same bytes.
        return svc.meta.get(record.upload_id) or record
    log.info("ingested %r as %s (%d bytes)", upload.path, record.upload_id, copied.size)
    return record
