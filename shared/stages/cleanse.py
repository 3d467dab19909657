"""Cleanse: bronze -> silver (validated, upright, stripped, <= 512 px) + the gold record."""

from __future__ import annotations

import logging

from shared import errors, imaging, messages, naming
from shared.ports import MissingObject
from shared.records import CLEANSED, DUPLICATE, GOLD, REJECTED, Record, iso, parse_iso
from shared.services import Services
from shared.settings import CLASSIFY_QUEUE

log = logging.getLogger(__name__)


def cleanse(svc: Services, body: bytes | str | dict) -> Record:
    """Handle one ``ingest`` message.

    Returns the record in its new state. Bad input never raises: the record
    ends ``rejected`` with a reason code and the caller dead-letters or
    completes the message. Anything worth retrying raises ``TransientError``.
    """
    upload_id = messages.upload_id_from(body)
    record = svc.meta.get(upload_id)
    if record is None or not record.sha256:
        raise errors.TransientError(f"record {upload_id} not written yet")
    if record.status in CLEANSED:
        _send_classify(svc, record)  # the message may have been lost in a crash after the record write
        return record
    if record.raw_size > svc.settings.limits.max_bytes:
        return _reject(svc, record, errors.PermanentError(errors.FILE_TOO_LARGE, f"{record.raw_size} bytes"))
    owner = svc.meta.claim_checksum(record.sha256, upload_id)
    if owner != upload_id:
        return _link_duplicate(svc, record, owner)
    try:
        data = svc.store.get(record.raw_path)
    except MissingObject as exc:
        raise errors.TransientError(f"bronze object {record.raw_path} is missing") from exc
    try:
        cleansed = imaging.cleanse(data, svc.settings.limits)
    except errors.PermanentError as exc:
        return _reject(svc, record, exc)
    silver = naming.silver_path(parse_iso(record.upload_ts), record.sha256)
    svc.store.put(silver, cleansed.data)
    _fill_gold(svc, record, cleansed, silver)
    svc.meta.put(record)
    _send_classify(svc, record)
    return record


def _fill_gold(svc: Services, record: Record, cleansed: imaging.Cleansed, silver: str) -> None:
    now = iso(svc.clock())
    record.status = GOLD
    record.reason = record.reason_detail = None
    record.raw_format = cleansed.raw.format
    record.raw_width, record.raw_height = cleansed.raw.width, cleansed.raw.height
    record.cleansed_name = naming.silver_name(record.sha256)
    record.cleansed_path = silver
    record.cleansed_size = len(cleansed.data)
    record.cleansed_width, record.cleansed_height = cleansed.width, cleansed.height
    record.updated_ts = now
    record.add_lineage("silver", silver, now)
    record.add_lineage("gold", None, now)


def _reject(svc: Services, record: Record, exc: errors.PermanentError) -> Record:
    now = iso(svc.clock())
    record.status = REJECTED
    record.reason = exc.reason
    record.reason_detail = exc.detail[:500] or None
    record.updated_ts = now
    record.add_lineage("gold", None, now)
    svc.meta.put(record)
    log.info("rejected %s: %s", record.upload_id, exc)
    return record


def _link_duplicate(svc: Services, record: Record, owner: str) -> Record:
    """Same bytes as an earlier upload: link to it, reuse its silver, skip cleanse and classify."""
    original = svc.meta.get(owner)
    if original is None or original.status not in CLEANSED:
        state = original.status if original else "missing"
        raise errors.TransientError(f"original upload {owner} not cleansed yet ({state})")
    record.duplicate_of = owner
    if original.status == REJECTED:
        return _reject(svc, record, errors.PermanentError(
            original.reason or errors.CORRUPT_IMAGE, f"same bytes as rejected upload {owner}"))
    now = iso(svc.clock())
    record.status = DUPLICATE
    record.reason = record.reason_detail = None  # a replay after failed attempts: those errors are over
    for name in ("raw_format", "raw_width", "raw_height", "cleansed_name", "cleansed_path",
                 "cleansed_size", "cleansed_width", "cleansed_height"):
        setattr(record, name, getattr(original, name))
    record.updated_ts = now
    record.add_lineage("gold", None, now)
    svc.meta.put(record)
    return record


def _send_classify(svc: Services, record: Record) -> None:
    if svc.classify_enabled and record.status == GOLD:
        svc.queue.send(CLASSIFY_QUEUE, record.upload_id, messages.body_for(record.upload_id))
