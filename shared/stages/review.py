"""Human review: a person confirms or corrects a prediction the pipeline was unsure of.

The verdict is historized like a model's prediction (``model_version`` is
``human:<reviewer>``), so the record keeps what the model said next to what
the person decided, and ``reclassify`` leaves reviewed records alone: a new
model version must not overwrite a human's answer.
"""

from __future__ import annotations

from shared.gold import HUMAN, is_reviewed
from shared.ports import ConcurrencyError
from shared.records import Record, Status, iso
from shared.services import Services

__all__ = ["HUMAN", "ReviewError", "is_reviewed", "review", "undo_review"]
_TRIES = 5


class ReviewError(ValueError):
    """The record does not exist or is not waiting for (or open to) review."""


def review(svc: Services, upload_id: str, reviewer: str, label: str | None = None,
           category: str | None = None) -> Record:
    """Accept the model's answer (no label/category given) or correct it; the record becomes ``classified``.

    A person's decision is final: when a stage wrote the record in between (etag
    mismatch) the decision is applied again to the fresh record.
    """
    for _ in range(_TRIES - 1):
        try:
            return _review(svc, upload_id, reviewer, label, category)
        except ConcurrencyError:
            continue
    return _review(svc, upload_id, reviewer, label, category)


def _review(svc: Services, upload_id: str, reviewer: str, label: str | None, category: str | None) -> Record:
    record = svc.meta.get(upload_id)
    if record is None:
        raise ReviewError(f"no record {upload_id}")
    if record.status not in (Status.NEEDS_REVIEW, Status.CLASSIFIED):
        raise ReviewError(f"record {upload_id} is {record.status}; only classified or needs_review can be reviewed")
    now = iso(svc.clock())
    replaced = [p for p in record.predictions if p.get("model_version") == f"{HUMAN}{reviewer}"]
    verdict = {
        "model_version": f"{HUMAN}{reviewer}",
        "label": label or record.label,
        "category": category or record.category,
        "confidence": 1.0,
        "labels": [],
        "moderation": {},
        "ts": now,
        "reviewed_model_version": record.model_version,
        # What the decision replaced, so the reviewer can take it back (``undo_review``).
        "previous": {"status": record.status, "reason": record.reason, "reason_detail": record.reason_detail,
                     "label": record.label, "category": record.category, "confidence": record.confidence,
                     "prediction": replaced[-1] if replaced else None},
    }
    record.predictions = [p for p in record.predictions if p.get("model_version") != verdict["model_version"]]
    record.predictions.append(verdict)
    record.label, record.category, record.confidence = verdict["label"], verdict["category"], 1.0
    record.status, record.reason, record.reason_detail = Status.CLASSIFIED, "human_review", None
    record.updated_ts = now
    record.add_lineage("reviewed", None, now)
    svc.meta.put(record)
    return record


def undo_review(svc: Services, upload_id: str, reviewer: str) -> Record:
    """Take back ``reviewer``'s decision if it is still the record's latest word: the state before it returns."""
    for _ in range(_TRIES - 1):
        try:
            return _undo(svc, upload_id, reviewer)
        except ConcurrencyError:
            continue
    return _undo(svc, upload_id, reviewer)


def _undo(svc: Services, upload_id: str, reviewer: str) -> Record:
    record = svc.meta.get(upload_id)
    if record is None:
        raise ReviewError(f"no record {upload_id}")
    last = record.predictions[-1] if record.predictions else {}
    if last.get("model_version") != f"{HUMAN}{reviewer}" or record.reason != "human_review":
        raise ReviewError(f"the latest decision on {upload_id} is not {reviewer}'s: nothing to undo")
    previous = last.get("previous")
    if not isinstance(previous, dict):
        raise ReviewError(f"the decision on {upload_id} predates undo and cannot be taken back")
    record.predictions = record.predictions[:-1]
    if previous.get("prediction"):
        record.predictions.append(previous["prediction"])
    record.status, record.reason = previous["status"], previous.get("reason")
    record.reason_detail = previous.get("reason_detail")
    record.label, record.category = previous.get("label"), previous.get("category")
    record.confidence = previous.get("confidence")
    record.updated_ts = iso(svc.clock())
    if not is_reviewed(record):
        record.lineage = [e for e in record.lineage if e.get("stage") != "reviewed"]
    svc.meta.put(record)
    return record

