"""Cleanse: bronze -> silver (validated, upright, stripped, <= 512 px) + the gold record.

Work is done once per checksum and rule version: a record already past this
stage is left alone unless its silver was made by other cleansing rules
(``cleanse_version``), which is what ``imgpipe reprocess`` relies on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from shared import errors, gold, imaging, messages, naming
from shared.layout import Queue
from shared.ports import MissingObject, ObjectStore
from shared.records import CLEANSED, WITH_SILVER, Record, Status, iso, parse_iso
from shared.services import Services
from shared.settings import Limits
from shared.stages.reupload import link_reupload

log = logging.getLogger(__name__)


def cleanse(svc: Services, body: bytes | str | dict) -> Record:
    """Handle one ``cleanse`` message.

    Returns the record in its new state. Bad input never raises: the record
    ends ``rejected`` with a reason code and the message is completed. Anything
    worth retrying raises (``TransientError`` or another exception).
    """
    upload_id = messages.upload_id_from(body)
    record = svc.meta.get(upload_id)
    if record is None:
        raise errors.TransientError(f"record {upload_id} not written yet")
    if record.status in CLEANSED and not is_stale(svc, record):
        _send_classify(svc, record)  # the message may have been lost in a crash after the record write
        return record
    if record.status == Status.LOST or not (record.sha256 and record.raw_path):
        return record  # nothing in bronze to cleanse: lost, or never copied (recovery copies it first)
    link_reupload(svc, record)
    too_large = oversized(record, svc.settings.limits)
    if too_large:
        return _reject(svc, record, too_large)
    owner = svc.meta.claim_checksum(record.sha256, upload_id)
    if owner != upload_id:
        return _link_duplicate(svc, record, owner)
    try:
        make_silver(svc.store, record, svc.settings.limits, svc.clock)
    except errors.PermanentError as exc:
        return _reject(svc, record, exc)
    svc.meta.put(record)
    _send_classify(svc, record)
    return record


def oversized(record: Record, limits: Limits) -> errors.PermanentError | None:
    """Checked before the checksum claim, from the size alone: an upload over the cap never owns its bytes."""
    if record.raw_size > limits.max_bytes:
        return errors.PermanentError(errors.FILE_TOO_LARGE, f"{record.raw_size} bytes")
    return None


def make_silver(store: ObjectStore, record: Record, limits: Limits, clock: Callable[[], datetime]) -> None:
    """Bronze -> silver (content-addressed) -> the record's gold fields; the caller writes the record.

    Bad input raises ``PermanentError`` (the caller rejects the record), a
    missing bronze object ``TransientError``. Shared by the stage and the
    Spark job's executors.
    """
    try:
        data = store.get(record.raw_path)
    except MissingObject as exc:
        raise errors.TransientError(f"bronze object {record.raw_path} is missing") from exc
    cleansed = imaging.cleanse(data, limits)
    silver = naming.silver_path(parse_iso(record.upload_ts), record.sha256)
    store.put(silver, cleansed.data)
    gold.fill_gold(record, cleansed, silver, imaging.cleanse_version(limits), iso(clock()))


def current_version(svc: Services) -> str:
    return imaging.cleanse_version(svc.settings.limits)


def is_stale(svc: Services, record: Record) -> bool:
    """Its silver image was made by other cleansing rules than the current ones."""
    return record.status in WITH_SILVER and record.cleanse_version != current_version(svc)


def _reject(svc: Services, record: Record, exc: errors.PermanentError) -> Record:
    gold.reject(record, exc, iso(svc.clock()))
    svc.meta.put(record)
    log.info("rejected %s: %s", record.upload_id, exc)
    return record


def _link_duplicate(svc: Services, record: Record, owner: str) -> Record:
    """Same bytes as an earlier upload: link to it, reuse its silver, skip cleanse and classify."""
    original = svc.meta.get(owner)
    if original is None or original.status not in CLEANSED or is_stale(svc, original):
        state = "missing" if original is None else (original.status if original.status not in CLEANSED else "stale")
        raise errors.TransientError(f"original upload {owner} not cleansed by the current rules yet ({state})")
    gold.link_duplicate(record, original, iso(svc.clock()))
    svc.meta.put(record)
    if record.status == Status.REJECTED:
        log.info("rejected %s: %s", record.upload_id, record.reason_detail)
    return record


def _send_classify(svc: Services, record: Record) -> None:
    if svc.classify_enabled and record.status == Status.GOLD:
        svc.queue.send(Queue.CLASSIFY, record.upload_id, messages.body_for(record.upload_id))
