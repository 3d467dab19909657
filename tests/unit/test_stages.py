"""Stages over in-memory adapters: idempotency, dedup, rejection, classification history."""

from __future__ import annotations

import pytest

from shared import errors
from shared.layout import Queue
from shared.records import Status
from shared.stages import ReviewError, classify, cleanse, ingest, mark_failed, reclassify, review
from tests import corpus
from tests.unit.fakes import WHEN, FixedClassifier, services

PHOTO = corpus.jpeg(corpus.photo(1024, 768))


def upload(svc, path: str, data: bytes = PHOTO):
    return svc.store.put_upload(path, data, WHEN)


def through_cleanse(svc, path: str, data: bytes = PHOTO):
    ingest(svc, upload(svc, path, data))
    return [cleanse(svc, body) for body in svc.queue.drain(Queue.CLEANSE)]


def test_ingest_copies_to_a_dated_bronze_path_and_enqueues_once():
    svc = services()
    info = upload(svc, "uploads/seller1/My Shoe.JPG")
    first, again = ingest(svc, info), ingest(svc, info)
    assert first.raw_path == f"bronze/2026/11/30/seller1/{first.upload_id}.jpg"
    assert svc.store.get(first.raw_path) == PHOTO and first.status == Status.BRONZE
    assert again.upload_id == first.upload_id and len(svc.queue.sent) == 1
    assert first.raw_name == "My Shoe.JPG" and first.user_id == "seller1"


def test_cleanse_writes_silver_and_a_full_gold_record():
    svc = services()
    (record,) = through_cleanse(svc, "uploads/u/a.jpg")
    assert record.status == Status.GOLD and record.cleansed_path == f"silver/2026/11/30/{record.sha256}.jpg"
    assert (record.raw_width, record.raw_height, record.cleansed_width, record.cleansed_height) == (1024, 768, 512, 384)
    assert [e["stage"] for e in record.lineage] == ["upload", "bronze", "silver", "gold"]
    assert record.predictions == [] and svc.queue.sent == []  # classification is off here


def test_redelivered_ingest_message_writes_nothing_new():
    svc = services()
    ingest(svc, upload(svc, "uploads/u/a.jpg"))
    (body,) = svc.queue.drain(Queue.CLEANSE)
    cleanse(svc, body)
    writes = svc.store.writes
    again = cleanse(svc, body)
    assert again.status == Status.GOLD and svc.store.writes == writes


def test_same_bytes_link_to_the_first_upload_and_skip_cleansing():
    svc = services()
    (first,) = through_cleanse(svc, "uploads/u1/a.jpg")
    writes = svc.store.writes
    (second,) = through_cleanse(svc, "uploads/u2/b.jpg")
    assert second.status == Status.DUPLICATE and second.duplicate_of == first.upload_id
    assert second.cleansed_path == first.cleansed_path
    assert svc.store.writes == writes + 1  # only the bronze copy of the second upload


def same_bytes_twice_first_claimed(svc):
    """Two uploads of the same bytes, ingested; the first has claimed the checksum but is not cleansed."""
    ingest(svc, upload(svc, "uploads/u1/a.jpg"))
    ingest(svc, upload(svc, "uploads/u2/b.jpg"))
    first, second = svc.queue.drain(Queue.CLEANSE)
    svc.meta.claim_checksum(svc.meta.get(first["upload_id"]).sha256, first["upload_id"])
    return first, second


def test_duplicate_waits_for_its_original():
    svc = services()
    first, second = same_bytes_twice_first_claimed(svc)
    with pytest.raises(errors.TransientError):
        cleanse(svc, second)
    assert cleanse(svc, first).status == Status.GOLD and cleanse(svc, second).status == Status.DUPLICATE


def test_bad_input_is_rejected_with_a_reason_and_a_duplicate_of_it_too():
    svc = services()
    (first,) = through_cleanse(svc, "uploads/u/page.jpg", b"<html></html>")
    (second,) = through_cleanse(svc, "uploads/u/page2.jpg", b"<html></html>")
    assert (first.status, first.reason) == (Status.REJECTED, errors.UNSUPPORTED_FORMAT)
    assert (second.status, second.reason, second.duplicate_of) == (Status.REJECTED, errors.UNSUPPORTED_FORMAT,
                                                                   first.upload_id)


def test_malformed_message_is_a_permanent_bad_message():
    svc = services()
    for body in (b"not json", b"{}", {"upload_id": "../../etc"}):
        with pytest.raises(errors.PermanentError) as info:
            cleanse(svc, body)
        assert info.value.reason == errors.BAD_MESSAGE


def test_message_before_its_record_is_transient():
    with pytest.raises(errors.TransientError):
        cleanse(services(), {"upload_id": "0" * 32})


def test_classification_is_historized_per_model_version():
    model = FixedClassifier(confidence=0.9)
    svc = services(model)
    (record,) = through_cleanse(svc, "uploads/u/a.jpg")
    bodies = svc.queue.drain(Queue.CLASSIFY)
    (scored,) = classify(svc, bodies)
    assert (scored.status, scored.label, scored.category) == (Status.CLASSIFIED, "running shoe", "footwear")
    classify(svc, bodies)  # a redelivery replaces its own entry
    assert len(svc.meta.get(record.upload_id).predictions) == 1
    model.model_version, model.confidence = "test-model-2", 0.2
    assert reclassify(svc, expected_version="test-model-2") == 1
    rescored = svc.meta.get(record.upload_id)
    assert rescored.status == Status.NEEDS_REVIEW and rescored.reason == "low_confidence"
    assert [p["model_version"] for p in rescored.predictions] == ["test-model-1", "test-model-2"]


def test_moderation_flag_sends_to_review_whatever_the_confidence():
    svc = services(FixedClassifier(confidence=0.99, nsfw=0.9))
    through_cleanse(svc, "uploads/u/a.jpg")
    (scored,) = classify(svc, svc.queue.drain(Queue.CLASSIFY))
    assert (scored.status, scored.reason) == (Status.NEEDS_REVIEW, "nsfw")


def test_mark_failed_only_touches_unfinished_records():
    svc = services()
    ingest(svc, upload(svc, "uploads/u/a.jpg"))
    (body,) = svc.queue.drain(Queue.CLEANSE)
    mark_failed(svc, body["upload_id"], Queue.CLEANSE, "TimeoutError: storage")
    failed = svc.meta.get(body["upload_id"])
    assert failed.status == Status.FAILED and "storage" in failed.reason_detail
    assert cleanse(svc, body).status == Status.GOLD  # a replay moves it on
    mark_failed(svc, body["upload_id"], Queue.CLEANSE, "late")
    assert svc.meta.get(body["upload_id"]).status == Status.GOLD


class PickyClassifier(FixedClassifier):
    """Refuses any batch that holds the poisoned image, as an endpoint answers 400 for one bad image."""

    def __init__(self, poisoned: bytes) -> None:
        super().__init__()
        self.poisoned = poisoned

    def classify(self, images):
        if self.poisoned in images:
            raise errors.PermanentError(errors.CORRUPT_IMAGE, "model cannot read image 0")
        return super().classify(images)


def test_one_bad_image_does_not_sink_a_classify_batch():
    svc = services(FixedClassifier())
    for i in range(3):
        through_cleanse(svc, f"uploads/u/{i}.jpg", corpus.jpeg(corpus.photo(300, 200, seed=i)))
    bodies = svc.queue.drain(Queue.CLASSIFY)
    bad = svc.meta.get(bodies[1]["upload_id"])
    svc._classifier = PickyClassifier(svc.store.get(bad.cleansed_path))
    records = classify(svc, bodies)
    statuses = [svc.meta.get(r.upload_id).status for r in records]
    assert statuses == [Status.CLASSIFIED, Status.REJECTED, Status.CLASSIFIED]


def test_a_human_verdict_is_historized_and_survives_reclassify():
    model = FixedClassifier(confidence=0.2)
    svc = services(model)
    (record,) = through_cleanse(svc, "uploads/u/a.jpg")
    (unsure,) = classify(svc, svc.queue.drain(Queue.CLASSIFY))
    assert unsure.status == Status.NEEDS_REVIEW
    with pytest.raises(ReviewError):
        review(svc, "f" * 32, "alice")
    decided = review(svc, record.upload_id, "alice", category="apparel")
    assert (decided.status, decided.category, decided.label) == (Status.CLASSIFIED, "apparel", "running shoe")
    assert [p["model_version"] for p in decided.predictions] == ["test-model-1", "human:alice"]
    model.model_version = "test-model-2"
    assert reclassify(svc, expected_version="test-model-2") == 0
    assert svc.meta.get(record.upload_id).category == "apparel"


def test_a_late_duplicate_ingest_event_does_not_reset_a_finished_record():
    # Two deliveries of one BlobCreated event: the second read "no record" before the first wrote it,
    # and writes only after the first upload was already cleansed. A blind upsert would put it back
    # to bronze, and with the ingest message deduplicated it would stay there.
    svc = services()
    info = upload(svc, "uploads/u/a.jpg")
    (done,) = through_cleanse(svc, "uploads/u/a.jpg")
    real_get, stale = svc.meta.get, [True]

    def get_once_stale(upload_id):
        if stale:
            stale.pop()
            return None
        return real_get(upload_id)

    svc.meta.get = get_once_stale
    assert ingest(svc, info).status == Status.GOLD
    assert real_get(done.upload_id).status == Status.GOLD and svc.queue.sent == []


def test_a_bad_image_alone_in_its_batch_is_rejected_too():
    # Not raised: the worker would dead-letter it as retries_exhausted, the Functions host retry it.
    svc = services(FixedClassifier())
    (record,) = through_cleanse(svc, "uploads/u/a.jpg")
    svc._classifier = PickyClassifier(svc.store.get(record.cleansed_path))
    (scored,) = classify(svc, svc.queue.drain(Queue.CLASSIFY))
    stored = svc.meta.get(record.upload_id)
    assert (scored.status, stored.status, stored.reason) == (Status.REJECTED, Status.REJECTED, errors.CORRUPT_IMAGE)


def test_a_replayed_duplicate_does_not_keep_the_error_of_its_failed_attempts():
    svc = services()
    first, second = same_bytes_twice_first_claimed(svc)
    mark_failed(svc, second["upload_id"], Queue.CLEANSE, "TransientError: original not cleansed yet")
    cleanse(svc, first)
    replayed = cleanse(svc, second)
    assert (replayed.status, replayed.reason, replayed.reason_detail) == (Status.DUPLICATE, None, None)
