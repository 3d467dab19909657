"""Classify: silver image -> model -> label, category, confidence, and the history of predictions.

Predictions are historized: each model version that scored a record leaves an
entry, so a new model can be compared with the old one record by record. A
re-delivered message for a version that already scored the record replaces
that entry instead of adding a second one (idempotency).
"""

from __future__ import annotations

from shared import errors, messages
from shared.ports import MissingObject, Prediction
from shared.records import CLASSIFIED, FAILED, GOLD, NEEDS_REVIEW, REJECTED, Record, iso
from shared.services import Services
from shared.stages.review import is_reviewed

# A moderation score at or above this sends the record to a human, whatever the confidence.
NSFW_REVIEW_THRESHOLD = 0.5
_SCORED = (CLASSIFIED, NEEDS_REVIEW)


def classify(svc: Services, bodies: list[bytes | str | dict]) -> list[Record]:
    """Handle a batch of ``classify`` messages with one model call."""
    records = [_load(svc, messages.upload_id_from(body)) for body in bodies]
    todo = [r for r in records if r.status == GOLD or (r.status == FAILED and r.cleansed_path)]
    if todo:
        _score(svc, todo)
    return records


def reclassify(svc: Services, model_version: str, batch_size: int = 16) -> int:
    """Re-score every scored record whose prediction came from another model version.

    Records a person has reviewed keep the person's answer and are skipped.
    """
    current = svc.classifier.model_version
    if current is not None and current != model_version:
        raise ValueError(f"the configured model is {current}, not {model_version}")
    stale = [r for status in _SCORED for r in svc.meta.find(status=status)
             if r.model_version != model_version and not is_reviewed(r)]
    for start in range(0, len(stale), batch_size):
        _score(svc, stale[start:start + batch_size])
    return len(stale)


def _load(svc: Services, upload_id: str) -> Record:
    record = svc.meta.get(upload_id)
    if record is None:
        raise errors.TransientError(f"record {upload_id} not written yet")
    return record


def _score(svc: Services, records: list[Record]) -> None:
    images = []
    for record in records:
        try:
            images.append(svc.store.get(record.cleansed_path or ""))
        except MissingObject as exc:
            raise errors.TransientError(f"silver object {record.cleansed_path} is missing") from exc
    try:
        result = svc.classifier.classify(images)
    except errors.PermanentError as exc:
        if len(records) == 1:
            _reject(svc, records[0], exc)
            return
        for record in records:  # one bad image must not sink the batch: find it one by one
            _score(svc, [record])
        return
    if len(result.predictions) != len(records):
        raise errors.TransientError(f"classifier returned {len(result.predictions)} predictions for {len(records)}")
    for record, prediction in zip(records, result.predictions, strict=True):
        apply_prediction(svc, record, result.model_version, prediction)
        svc.meta.put(record)


def _reject(svc: Services, record: Record, exc: errors.PermanentError) -> None:
    """The model cannot read this image: bad input, never retried, like a rejection in cleanse."""
    record.status, record.reason, record.reason_detail = REJECTED, exc.reason, exc.detail[:500] or None
    record.updated_ts = iso(svc.clock())
    svc.meta.put(record)


def apply_prediction(svc: Services, record: Record, model_version: str, prediction: Prediction) -> None:
    now = iso(svc.clock())
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
    low = prediction.confidence < svc.settings.confidence_threshold
    record.status = NEEDS_REVIEW if (flagged or low) else CLASSIFIED
    record.reason = "nsfw" if flagged else ("low_confidence" if low else None)
    record.reason_detail = None
    record.updated_ts = now
    record.add_lineage("classified", None, now)
