"""Classify: silver image -> model -> label, category, confidence, and the history of predictions.

Predictions are historized: each model version that scored a record leaves an
entry, so a new model can be compared with the old one record by record. A
re-delivered message for a version that already scored the record replaces
that entry instead of adding a second one (idempotency).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from shared import errors, gold, messages
from shared.gold import NSFW_REVIEW_THRESHOLD, is_reviewed
from shared.ports import MissingObject, Prediction, RecordQuery
from shared.records import Record, Status, iso
from shared.services import Services

__all__ = ["NSFW_REVIEW_THRESHOLD", "apply_prediction", "classify", "reclassify", "rescorable"]
SCORED = (Status.CLASSIFIED, Status.NEEDS_REVIEW)


def classify(svc: Services, bodies: list[bytes | str | dict]) -> list[Record]:
    """Handle a batch of ``classify`` messages with one model call."""
    records = [_load(svc, messages.upload_id_from(body)) for body in bodies]
    todo = [r for r in records if r.status == Status.GOLD or (r.status == Status.FAILED and r.cleansed_path)]
    if todo:
        _score(svc, todo)
    return records


def rescorable(svc: Services, query: RecordQuery | None = None) -> Iterator[Record]:
    """Scored, current records a model decided (a person's verdict is never re-scored)."""
    query = replace(query or RecordQuery(), current_only=True)
    query = replace(query, statuses=query.statuses or SCORED)
    return (r for r in svc.meta.scan(query) if r.status in SCORED and not is_reviewed(r))


def reclassify(svc: Services, query: RecordQuery | None = None, *, expected_version: str | None = None,
               batch_size: int = 16, dry_run: bool = False) -> int:
    """Re-score exactly the records whose prediction came from another model version than the current one.

    The current version is the classifier's; an endpoint only says it in its
    answers, so until it has answered the first batch is scored whole and only
    its stale records are written. ``expected_version`` guards against scoring
    with a model other than the one the operator meant. Returns how many were
    (or, with ``dry_run``, would be) re-scored.
    """
    current = svc.classifier.model_version
    if expected_version and current and current != expected_version:
        raise ValueError(f"the configured model is {current}, not {expected_version}")
    if dry_run and not (current or expected_version):
        raise ValueError("an endpoint names its model version only in its answers: give --model-version "
                         "for a dry run")
    candidates = list(rescorable(svc, query))
    count = 0
    for start in range(0, len(candidates), batch_size):
        batch = candidates[start:start + batch_size]
        current = svc.classifier.model_version or (expected_version if dry_run else None)
        if current is not None:
            batch = [r for r in batch if r.model_version != current]
        if dry_run and current is not None:
            count += len(batch)
            continue
        if batch:
            count += _score(svc, batch, only_stale=True, expected_version=expected_version)
    return count


def _load(svc: Services, upload_id: str) -> Record:
    record = svc.meta.get(upload_id)
    if record is None:
        raise errors.TransientError(f"record {upload_id} not written yet")
    return record


def _score(svc: Services, records: list[Record], only_stale: bool = False,
           expected_version: str | None = None) -> int:
    """Score and write; ``only_stale`` writes only records the answering model had not scored. Returns writes."""
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
            return 1
        # one bad image must not sink the batch: find it one by one
        return sum(_score(svc, [r], only_stale, expected_version) for r in records)
    if len(result.predictions) != len(records):
        raise errors.BatchError(f"classifier returned {len(result.predictions)} predictions for {len(records)}")
    if expected_version and result.model_version != expected_version:
        raise ValueError(f"the endpoint answered with model {result.model_version}, not {expected_version}")
    written = 0
    for record, prediction in zip(records, result.predictions, strict=True):
        if only_stale and record.model_version == result.model_version:
            continue
        apply_prediction(svc, record, result.model_version, prediction)
        svc.meta.put(record)
        written += 1
    return written


def _reject(svc: Services, record: Record, exc: errors.PermanentError) -> None:
    """The model cannot read this image: bad input, never retried, like a rejection in cleanse."""
    gold.reject(record, exc, iso(svc.clock()), lineage=False)
    svc.meta.put(record)


def apply_prediction(svc: Services, record: Record, model_version: str, prediction: Prediction) -> None:
    gold.apply_prediction(record, model_version, prediction, svc.settings.confidence_threshold, iso(svc.clock()))
