"""Records as the pages and the JSON API show them: the model's latest say, links to images."""

from __future__ import annotations

from typing import Any

from shared.records import Record
from shared.stages.review import HUMAN
from web.images import ImageLinks, bronze_url


def model_prediction(record: Record) -> dict[str, Any]:
    """The latest prediction a model (not a person) made."""
    for prediction in reversed(record.predictions):
        if not str(prediction.get("model_version", "")).startswith(HUMAN):
            return prediction
    return {}


def decided_by(record: Record) -> str | None:
    for prediction in reversed(record.predictions):
        version = str(prediction.get("model_version", ""))
        if version.startswith(HUMAN):
            return version
    return None


def card(record: Record, links: ImageLinks) -> dict[str, Any]:
    prediction = model_prediction(record)
    top = [{"label": str(x.get("label")), "probability": float(x.get("probability") or 0.0),
            "category": x.get("category")} for x in (prediction.get("labels") or [])[:3]]
    moderation = prediction.get("moderation") or {}
    return {
        "upload_id": record.upload_id, "raw_name": record.raw_name, "user_id": record.user_id,
        "status": record.status, "reason": record.reason, "label": record.label, "category": record.category,
        "confidence": record.confidence, "upload_ts": record.upload_ts, "top_labels": top,
        "nsfw": moderation.get("nsfw"), "model_version": prediction.get("model_version"),
        "decided_by": decided_by(record), "silver_url": links.silver(record), "bronze_url": bronze_url(record),
    }
