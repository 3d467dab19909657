"""Record builders: how a stage's outcome is written into the gold record, as pure functions.

The stages (``shared.stages``) call these after their I/O, and so does the
Spark job on its executors, which has no metadata store to hand a record to
between two writes: one function per outcome keeps "what a gold record looks
like after cleansing, a rejection, a duplicate or a prediction" in one place
for every runtime. Nothing here reads a clock or a store: the caller passes
``now`` (ISO 8601, ``shared.records.iso``) and what it read.
"""

from __future__ import annotations

from shared import errors, naming
from shared.imaging import Cleansed
from shared.ports import Copied, ObjectInfo, Prediction
from shared.records import RETRIES_EXHAUSTED, Record, Status, iso

# A moderation score at or above this sends the record to a human, whatever the confidence.
NSFW_REVIEW_THRESHOLD = 0.5
# Prefix of ``model_version`` for a person's verdict (``shared.stages.review``).
HUMAN = "human:"
SILVER_FIELDS = ("raw_format", "raw_width", "raw_height", "cleansed_name", "cleansed_path",
                 "cleansed_size", "cleansed_width", "cleansed_height", "cleanse_version")


def is_reviewed(record: Record) -> bool:
    return any(str(p.get("model_version", "")).startswith(HUMAN) for p in record.predictions)


def new_record(upload: ObjectInfo, upload_id: str, fmt: str | None) -> Record:
    """The record of an upload before its bronze copy exists; ``fmt`` is sniffed from its first bytes."""
    user_id, raw_name = naming.split_upload_path(upload.path)
    return Record(
        upload_id=upload_id,
        user_id=user_id,
        status=Status.BRONZE,
        upload_ts=iso(upload.modified),
        ingest_ts="",
        raw_name=naming.clean_display_name(raw_name),
        raw_path=naming.bronze_path(upload.modified, user_id, upload_id, fmt),
        raw_size=upload.size,
        raw_format=fmt,
        sha256="",
        upload_path=upload.path,
    )


def copied_to_bronze(record: Record, upload_path: str, copied: Copied, now: str) -> None:
    """The bronze copy is written: its checksum and size, and the first two lineage entries."""
    record.sha256 = copied.sha256
    record.raw_size = copied.size
    record.ingest_ts = record.ingest_ts or now
    record.updated_ts = now
    record.add_lineage("upload", upload_path, record.upload_ts)
    record.add_lineage("bronze", record.raw_path, now)


def rejected_by_size(record: Record, cap: int, now: str) -> None:
    """Larger than the cap by its listed size: rejected before a byte is read, with no bronze copy."""
    record.status, record.reason = Status.REJECTED, errors.FILE_TOO_LARGE
    record.reason_detail = f"{record.raw_size} bytes listed, more than the {cap}-byte cap: not copied"
    record.raw_path = ""
    record.ingest_ts = record.updated_ts = now
    record.add_lineage("upload", record.upload_path, record.upload_ts)


def input_failed(record: Record, reason: str, detail: str, now: str) -> None:
    """The upload could not be taken in now (unreadable, forbidden, archived, not writable): tried again later."""
    record.status, record.reason = Status.FAILED, reason
    record.reason_detail = detail[:1000] or None
    record.updated_ts = now


def lost(record: Record, detail: str, now: str) -> None:
    """Bronze is gone and the upload no longer holds this version: nothing can rebuild the record's bytes."""
    record.status, record.reason = Status.LOST, errors.BRONZE_MISSING
    record.reason_detail = detail
    record.updated_ts = now


def fill_gold(record: Record, cleansed: Cleansed, silver: str, cleanse_version: str, now: str) -> None:
    """Silver is written: the record becomes ``gold`` (a person's verdict on an earlier silver stays)."""
    if not is_reviewed(record):  # a new silver image needs a new prediction; a person's verdict stays
        record.status = Status.GOLD
        record.reason = record.reason_detail = None
    record.raw_format = cleansed.raw.format
    record.raw_width, record.raw_height = cleansed.raw.width, cleansed.raw.height
    record.cleansed_name = naming.silver_name(record.sha256)
    record.cleansed_path = silver
    record.cleansed_size = len(cleansed.data)
    record.cleansed_width, record.cleansed_height = cleansed.width, cleansed.height
    record.cleanse_version = cleanse_version
    record.updated_ts = now
    record.add_lineage("silver", silver, now)
    record.add_lineage("gold", None, now)


def reject(record: Record, exc: errors.PermanentError, now: str, *, lineage: bool = True) -> None:
    """Bad input: ``rejected`` with the reason code, never retried. ``lineage``: cleanse reached gold."""
    record.status = Status.REJECTED
    record.reason = exc.reason
    record.reason_detail = exc.detail[:500] or None
    record.updated_ts = now
    if lineage:
        record.add_lineage("gold", None, now)


def link_duplicate(record: Record, original: Record, now: str) -> None:
    """Same bytes as ``original`` (already cleansed by the current rules): share its silver, or its rejection."""
    record.duplicate_of = original.upload_id
    if original.status == Status.REJECTED:
        reject(record, errors.PermanentError(
            original.reason or errors.CORRUPT_IMAGE, f"same bytes as rejected upload {original.upload_id}"), now)
        return
    record.status = Status.DUPLICATE
    record.reason = record.reason_detail = None  # a replay after failed attempts: those errors are over
    for name in SILVER_FIELDS:
        setattr(record, name, getattr(original, name))
    record.updated_ts = now
    record.add_lineage("gold", None, now)


def apply_prediction(record: Record, model_version: str, prediction: Prediction, threshold: float,
                     now: str) -> None:
    """A model scored the silver image: historize it; low confidence or flagged content needs a person."""
    entry = {
        "model_version": model_version,
        "label": prediction.label,
        "category": prediction.category,
        "confidence": prediction.confidence,
        "labels": prediction.labels,
        "moderation": prediction.moderation,
        "ts": now,
    }
    record.predictions = [p for p in record.predictions if p.get("model_version") != model_version] + [entry]
    record.model_version = model_version
    record.label, record.category, record.confidence = prediction.label, prediction.category, prediction.confidence
    flagged = prediction.moderation.get("nsfw", 0.0) >= NSFW_REVIEW_THRESHOLD
    low = prediction.confidence < threshold
    record.status = Status.NEEDS_REVIEW if (flagged or low) else Status.CLASSIFIED
    record.reason = "nsfw" if flagged else ("low_confidence" if low else None)
    record.reason_detail = None
    record.updated_ts = now
    record.add_lineage("classified", None, now)


def mark_failed(record: Record, queue: str, error: str, now: str, reason: str = RETRIES_EXHAUSTED) -> None:
    """Retries ran out: ``failed`` with the error text, until a replay moves it on."""
    record.status = Status.FAILED
    record.reason = reason
    record.reason_detail = f"{queue}: {error}"[:1000]
    record.updated_ts = now
