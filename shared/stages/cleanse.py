"""Cleanse: bronze -> silver (validated, upright, stripped, <= 512 px) + the gold record.

Work is done once per checksum and rule version: a record already past this
stage is left alone unless its silver was made by other cleansing rules
(``cleanse_version``), which is what ``imgpipe reprocess`` relies on.
"""

from __future__ import annotations

import logging

from shared import errors, imaging, messages, naming
from shared.layout import Queue
from shared.ports import MissingObject
from shared.records import CLEANSED, WITH_SILVER, Record, Status, iso, parse_iso
from shared.services import Services
from shared.stages.reupload import link_reupload
from shared.stages.review import is_reviewed

log = logging.getLogger(__name__)
_SILVER_FIELDS = ("raw_format", "raw_width", "raw_height", "cleansed_name", "cleansed_path",
                  "cleansed_size", "cleansed_width", "cleansed_height", "cleanse_version")


def cleanse(svc: Services, body: bytes | str | dict) -> Record:
    """Handle one ``cleanse`` message.

    Returns the record in its new state. Bad input never raises: the record
    ends ``rejected`` with a reason code and the message is completed. Anything
    worth retrying raises (``TransientError`` or another exception).
    """
    upload_id = messages.upload_id_from(body)
    record = svc.meta.get(upload_id)
    if record is None or not record.sha256:
        raise errors.TransientError(f"record {upload_id} not written yet")
    if record.status in CLEANSED and not is_stale(svc, record):
        _send_classify(svc, record)  # the message may have been lost in a crash after the record write
        return record
    link_reupload(svc, record)
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


def current_version(svc: Services) -> str:
    return imaging.cleanse_version(svc.settings.limits)


def is_stale(svc: Services, record: Record) -> bool:
    """Its silver image was made by other cleansing rules than the current ones."""
    return record.status in WITH_SILVER and record.cleanse_version != current_version(svc)


def _fill_gold(svc: Services, record: Record, cleansed: imaging.Cleansed, silver: str) -> None:
    now = iso(svc.clock())
    if not is_reviewed(record):  # a new silver image needs a new prediction; a person's verdict stays
        record.status = Status.GOLD
        record.reason = record.reason_detail = None
    record.raw_format = cleansed.raw.format
    record.raw_width, record.raw_height = cleansed.raw.width, cleansed.raw.height
    record.cleansed_name = naming.silver_name(record.sha256)
    record.cleansed_path = silver
    record.cleansed_size = len(cleansed.data)
    record.cleansed_width, record.cleansed_height = cleansed.width, cleansed.height
    record.cleanse_version = current_version(svc)
    record.updated_ts = now
    record.add_lineage("silver", silver, now)
    record.add_lineage("gold", None, now)


def _reject(svc: Services, record: Record, exc: errors.PermanentError) -> Record:
    now = iso(svc.clock())
    record.status = Status.REJECTED
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
    if original is None or original.status not in CLEANSED or is_stale(svc, original):
        state = "missing" if original is None else (original.status if original.status not in CLEANSED else "stale")
        raise errors.TransientError(f"original upload {owner} not cleansed by the current rules yet ({state})")
    record.duplicate_of = owner
    if original.status == Status.REJECTED:
        return _reject(svc, record, errors.PermanentError(
            original.reason or errors.CORRUPT_IMAGE, f"same bytes as rejected upload {owner}"))
    now = iso(svc.clock())
    record.status = Status.DUPLICATE
    record.reason = record.reason_detail = None  # a replay after failed attempts: those errors are over
    for name in _SILVER_FIELDS:
        setattr(record, name, getattr(original, name))
    record.updated_ts = now
    record.add_lineage("gold", None, now)
    svc.meta.put(record)
    return record


def _send_classify(svc: Services, record: Record) -> None:
    if svc.classify_enabled and record.status == Status.GOLD:
        svc.queue.send(Queue.CLASSIFY, record.upload_id, messages.body_for(record.upload_id))
