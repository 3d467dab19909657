"""Ingest: upload -> bronze (byte-identical) + the record + one ``cleanse`` message.

Every upload is untrusted and ends with a record that says what happened to it:

- larger than ``IMGPIPE_MAX_BYTES`` by its listed size: ``rejected file_too_large`` before a single byte is
  read, with no bronze copy (the listed size is the read's size: reads are pinned to the listed version);
- unreadable, forbidden (HTTP 403), archived, or its copy not writable: ``failed`` with that reason; every
  later run tries it again while the upload is there (``shared.stages.recovery``);
- otherwise copied to bronze from one pinned read, hashed on the way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shared import errors, gold, messages, naming
from shared.formats import SNIFF_BYTES, sniff
from shared.layout import Queue
from shared.ports import ObjectInfo
from shared.records import Record, Status, iso
from shared.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ingested:
    record: Record
    new: bool  # this call created the record: a new upload, not one taken in before


def ingest(svc: Services, upload: ObjectInfo) -> Record:
    """Copy one upload to bronze, write its record and enqueue it for cleansing (see ``ingest_upload``)."""
    return ingest_upload(svc, upload).record


def ingest_upload(svc: Services, upload: ObjectInfo) -> Ingested:
    """Take one listed upload in; idempotent.

    Order: bronze object (deterministic path, created only if absent) -> record (conditional create)
    -> message (``message_id = upload_id``; consumers are idempotent, so a second copy of it is
    harmless). A crash between any two leaves nothing that a re-run does not complete, and a
    re-fired event for the same blob version is the same upload id. Raises ``VersionChanged`` when the
    upload is no longer the listed version and ``NotAnInput`` when it is no regular file any more.
    """
    upload_id = naming.upload_id_for(upload.path, upload.version)
    found = svc.meta.get(upload_id)
    record = found or _new_record(svc, upload, upload_id)
    created = False
    try:
        if found is None and upload.size > svc.settings.limits.max_bytes:
            return _create(svc, _oversized(svc, record))
        if record.status in (Status.BRONZE, Status.FAILED) and _needs_copy(svc, record):
            record, created = _write_bronze(svc, upload, record)
    except errors.InputFailure as exc:
        return _failed(svc, upload, record, exc)
    if record.status in (Status.BRONZE, Status.FAILED) and record.sha256:  # else past ingest: a duplicate event
        svc.queue.send(Queue.CLEANSE, upload_id, messages.body_for(upload_id))
    return Ingested(record, created)


def record_failure(svc: Services, upload: ObjectInfo, exc: errors.InputFailure) -> Record:
    """Say on the upload's record that it could not be taken in (when the error came from outside the stage)."""
    upload_id = naming.upload_id_for(upload.path, upload.version)
    record = svc.meta.get(upload_id) or _new_record(svc, upload, upload_id)
    if record.status not in (Status.BRONZE, Status.FAILED):
        return record  # past ingest: whatever failed was not its ingest
    return _failed(svc, upload, record, exc).record


def _needs_copy(svc: Services, record: Record) -> bool:
    """No bronze copy yet, or it is gone (a failed record whose bronze was deleted is copied again)."""
    return not (record.sha256 and record.raw_path and svc.store.exists(record.raw_path))


def _new_record(svc: Services, upload: ObjectInfo, upload_id: str) -> Record:
    """Nothing read yet: the bronze path (its extension comes from the sniffed format) is set before copying."""
    record = gold.new_record(upload, upload_id, None)
    record.raw_path = ""
    return record


def _write_bronze(svc: Services, upload: ObjectInfo, record: Record) -> tuple[Record, bool]:
    """Copy (again) and write the record in bronze; True when this created the record."""
    if not record.raw_path:
        fmt = sniff(svc.store.head(upload.path, SNIFF_BYTES, expect=upload))
        record.raw_format = fmt
        record.raw_path = naming.bronze_path(upload.modified, record.user_id, record.upload_id, fmt)
    copied = svc.store.copy(upload.path, record.raw_path, expect=upload)
    if record.sha256 and copied.sha256 != record.sha256:  # recovery checked the bytes; they changed since
        svc.store.delete(record.raw_path)
        raise errors.InputFailure(errors.INGEST_ERROR, f"{upload.path!r} changed while it was copied again")
    creating = record.etag is None
    record.status, record.reason, record.reason_detail = Status.BRONZE, None, None
    gold.copied_to_bronze(record, upload.path, copied, iso(svc.clock()))
    if record.etag is not None:
        svc.meta.put(record)  # conditional: fails if another delivery wrote in between
    elif not svc.meta.create(record):
        # A concurrent delivery of the same event wrote the record first (and stages may have moved
        # it on since): a blind upsert would put it back to bronze. Its copy is the same bytes.
        return svc.meta.get(record.upload_id) or record, False
    log.info("ingested %r as %s (%d bytes)", upload.path, record.upload_id, copied.size)
    return record, creating


def _oversized(svc: Services, record: Record) -> Record:
    """Size first: the listed size decides before any byte is read, and nothing is kept in bronze."""
    gold.rejected_by_size(record, svc.settings.limits.max_bytes, iso(svc.clock()))
    log.info("rejected %r without copying it: %d bytes", record.upload_path, record.raw_size)
    return record


def _failed(svc: Services, upload: ObjectInfo, record: Record, exc: errors.InputFailure) -> Ingested:
    """The upload could not be taken in now: a visible ``failed`` record, tried again by later runs."""
    gold.input_failed(record, exc.reason, exc.detail, iso(svc.clock()))
    log.warning("upload %r not taken in: %s", upload.path, exc.reason)
    if record.etag is None:
        return _create(svc, record)
    svc.meta.put(record)
    return Ingested(record, False)


def _create(svc: Services, record: Record) -> Ingested:
    """Create a record that has no bronze copy; a concurrent run that created it first wins."""
    if svc.meta.create(record):
        return Ingested(record, True)
    return Ingested(svc.meta.get(record.upload_id) or record, False)
