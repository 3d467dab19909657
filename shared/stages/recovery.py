"""Recovery: a record whose bronze copy is missing is copied again from its upload, or marked ``lost``.

Records in ``bronze`` or ``failed`` are the ones a stage may still need bronze for. When bronze is gone
(deleted, or never written because the upload could not be read) and the upload still holds the very
version the record was made from, ingest copies it again and the record moves on; when the upload is
gone or holds another version, nothing can rebuild the record's bytes: it ends ``lost`` with a reason,
so it is neither retried forever nor left looking like something a replay could fix.
"""

from __future__ import annotations

import logging

from shared import gold, naming
from shared.ports import ConcurrencyError, MissingObject, NotAnInput, ObjectInfo
from shared.records import Record, Status, iso
from shared.services import Services
from shared.stages.ingest import ingest_upload

log = logging.getLogger(__name__)
RECOVERABLE = (Status.BRONZE, Status.FAILED)


def bronze_missing(svc: Services, record: Record) -> bool:
    return record.status in RECOVERABLE and not (record.raw_path and svc.store.exists(record.raw_path))


def recover(svc: Services, record: Record) -> Record:
    """Copy the record's bytes to bronze again from its upload, or mark it ``lost``; returns it as it is now."""
    upload = _same_version(svc, record)
    if upload is None:
        return mark_lost(svc, record)
    log.info("copying %r to bronze again for %s", record.upload_path, record.upload_id)
    return ingest_upload(svc, upload).record


def _same_version(svc: Services, record: Record) -> ObjectInfo | None:
    """The upload as listed now, if it still is the version (and, when known, the bytes) the record names."""
    try:
        upload = svc.store.info(record.upload_path)
    except (MissingObject, NotAnInput, ValueError):
        return None
    version = upload.version
    if naming.upload_id_for(record.upload_path, version) != record.upload_id:
        # A version taken in by a content check (same size and mtime, other bytes) is named by its checksum.
        version = f"{upload.version}+{record.sha256[:16]}"
        if not record.sha256 or naming.upload_id_for(record.upload_path, version) != record.upload_id:
            return None
    if record.sha256 and svc.store.checksum(upload.path, expect=upload).sha256 != record.sha256:
        return None  # same size and mtime, other bytes: a new version, taken in as one by the listing
    return ObjectInfo(upload.path, upload.size, upload.modified, version, upload.pin or upload.version,
                      upload.changed)


def mark_lost(svc: Services, record: Record) -> Record:
    what = f"bronze copy {record.raw_path!r} is gone" if record.raw_path else "it was never copied to bronze"
    gold.lost(record, f"{what} and {record.upload_path!r} no longer holds this version", iso(svc.clock()))
    try:
        svc.meta.put(record)
    except ConcurrencyError:
        return svc.meta.get(record.upload_id) or record  # a stage moved it on meanwhile: its word wins
    log.warning("record %s is lost: %s", record.upload_id, record.reason_detail)
    return record
