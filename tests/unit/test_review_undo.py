"""Undo of a human review decision, in the core stage that the CLI and the web app share."""

from __future__ import annotations

import pytest

from shared.adapters.memory import MemoryMetadataStore, MemoryObjectStore, RecordingQueue
from shared.records import Record, Status
from shared.services import Services
from shared.stages import ReviewError, review, undo_review


def waiting() -> Services:
    svc = Services(store=MemoryObjectStore(), meta=MemoryMetadataStore(), queue=RecordingQueue())
    svc.meta.create(Record(
        upload_id="a" * 32, user_id="u", status=Status.NEEDS_REVIEW, upload_ts="2026-01-01T00:00:00.000000Z",
        ingest_ts="2026-01-01T00:00:01.000000Z", raw_name="x.jpg", raw_path="bronze/x.jpg", raw_size=1, sha256="s",
        reason="low_confidence", label="tabby", category="other", confidence=0.4, model_version="m1",
        predictions=[{"model_version": "m1", "label": "tabby", "category": "other", "confidence": 0.4}]))
    return svc


def test_undo_restores_the_state_before_the_decision():
    svc = waiting()
    review(svc, "a" * 32, "rita", category="home")
    restored = undo_review(svc, "a" * 32, "rita")
    assert (restored.status, restored.reason, restored.category, restored.confidence) == (
        Status.NEEDS_REVIEW, "low_confidence", "other", 0.4)
    assert [p["model_version"] for p in restored.predictions] == ["m1"]
    assert all(e["stage"] != "reviewed" for e in restored.lineage)
    assert svc.meta.get("a" * 32).status == Status.NEEDS_REVIEW


def test_undo_of_a_second_decision_brings_back_the_first():
    svc = waiting()
    review(svc, "a" * 32, "rita", category="home")
    review(svc, "a" * 32, "rita", category="kitchen")
    restored = undo_review(svc, "a" * 32, "rita")
    assert (restored.status, restored.category) == (Status.CLASSIFIED, "home")
    assert [p["model_version"] for p in restored.predictions] == ["m1", "human:rita"]
    assert undo_review(svc, "a" * 32, "rita").status == Status.NEEDS_REVIEW


def test_only_the_latest_decisions_author_can_undo_it():
    svc = waiting()
    with pytest.raises(ReviewError, match="nothing to undo"):
        undo_review(svc, "a" * 32, "rita")
    review(svc, "a" * 32, "rita")
    review(svc, "a" * 32, "bob", label="cat")
    with pytest.raises(ReviewError, match="not rita's"):
        undo_review(svc, "a" * 32, "rita")
    with pytest.raises(ReviewError, match="no record"):
        undo_review(svc, "b" * 32, "rita")


def test_a_decision_made_before_undo_existed_is_not_guessed_back():
    svc = waiting()
    record = review(svc, "a" * 32, "rita")
    record.predictions[-1].pop("previous")
    svc.meta.put(record)
    with pytest.raises(ReviewError, match="predates undo"):
        undo_review(svc, "a" * 32, "rita")
