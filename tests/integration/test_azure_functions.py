"""The Functions handlers called with real trigger objects, against Azurite and the Cosmos DB stand-in.

Trigger objects come from the bytes the host sends (``triggers.py``): the
``BlobClient`` of the SDK-type blob binding and Service Bus messages decoded
by the pinned extension from the host's layout. Service Bus is the only thing
not real here: sends go through the JobQueue port into a recording double,
and settlement into ``RecordingActions``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import functions.classify
import functions.cleanse
import functions.ingest
from shared import errors, naming
from shared.adapters.memory import RecordingQueue
from shared.azure.bootstrap import AzureApp, bootstrap
from shared.layout import Queue
from shared.records import RETRIES_EXHAUSTED, Status
from shared.settings import RetryPolicy, Settings
from tests.corpus import jpeg, photo
from tests.integration.triggers import RecordingActions, blob_client, servicebus_message, servicebus_value_message
from tests.unit.fakes import FixedClassifier

PHOTO = jpeg(photo(900, 600, seed=21))


def handler(builder: Any) -> Callable[..., Any]:
    return builder.build().get_user_function()


@pytest.fixture
def rt(azure_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> AzureApp:
    runtime = bootstrap(Settings.from_env(), queue=RecordingQueue(), create_missing=True,
                        classifier_factory_override=FixedClassifier)
    for module in (functions.ingest, functions.cleanse, functions.classify):
        monkeypatch.setattr(module, "services", lambda: runtime.services)
    return runtime


def sent(rt: AzureApp, queue: str) -> list[tuple[str, dict[str, Any]]]:
    assert isinstance(rt.services.queue, RecordingQueue)
    return [(mid, body) for q, mid, body in rt.services.queue.sent if q == queue]


def fire_blob_trigger(name: str) -> None:
    container, blob_name = name.split("/", 1)
    handler(functions.ingest.ingest)(blob_client("IMAGES_STORAGE", container, blob_name))


def upload(rt: AzureApp, name: str, data: bytes) -> str:
    """Write the blob and fire the blob trigger for it, as the host would; returns the upload id."""
    rt.store.put(name, data)
    fire_blob_trigger(name)
    return naming.upload_id_for(name, rt.store.info(name).version)


def process(rt: AzureApp, upload_id: str, delivery_count: int = 1) -> RecordingActions:
    actions = RecordingActions()
    message = servicebus_message({"upload_id": upload_id}, upload_id, delivery_count)
    handler(functions.cleanse.cleanse)(message, actions)
    return actions


def test_blob_trigger_copies_to_bronze_writes_the_record_and_sends_one_message(rt: AzureApp) -> None:
    upload_id = upload(rt, "uploads/seller1/shoe.jpg", PHOTO)
    record = rt.meta.get(upload_id)
    assert record is not None and record.status == Status.BRONZE and record.user_id == "seller1"
    assert rt.store.get(record.raw_path) == PHOTO
    assert sent(rt, Queue.CLEANSE) == [(upload_id, {"upload_id": upload_id})]
    fire_blob_trigger("uploads/seller1/shoe.jpg")  # the event fires again
    assert len(rt.meta.find()) == 1 and len(list(rt.store.list("bronze"))) == 1


def test_cleanse_completes_and_sends_classify(rt: AzureApp) -> None:
    upload_id = upload(rt, "uploads/seller1/shoe.jpg", PHOTO)
    actions = process(rt, upload_id)
    record = rt.meta.get(upload_id)
    assert record is not None and record.status == Status.GOLD
    assert max(record.cleansed_width, record.cleansed_height) == 512
    assert rt.store.exists(record.cleansed_path or "")
    assert actions.completed == [upload_id] and not actions.dead_lettered
    assert sent(rt, Queue.CLASSIFY) == [(upload_id, {"upload_id": upload_id})]


def test_bad_input_is_a_rejected_record_with_its_reason_and_the_message_is_completed(rt: AzureApp) -> None:
    upload_id = upload(rt, "uploads/seller3/page.jpg", b"<!DOCTYPE html><html><body>hi</body></html>")
    actions = process(rt, upload_id)
    record = rt.meta.get(upload_id)
    assert record is not None and (record.status, record.reason) == (Status.REJECTED, errors.UNSUPPORTED_FORMAT)
    assert actions.completed == [upload_id] and not actions.dead_lettered  # users see it; no operator work


def test_a_malformed_message_is_dead_lettered_as_bad_message(rt: AzureApp) -> None:
    actions = RecordingActions()
    handler(functions.cleanse.cleanse)(servicebus_message(b"not json", "junk"), actions)
    assert [(mid, reason) for mid, reason, _ in actions.dead_lettered] == [("junk", errors.BAD_MESSAGE)]


def test_a_duplicate_is_linked_and_completed(rt: AzureApp) -> None:
    first = upload(rt, "uploads/seller1/shoe.jpg", PHOTO)
    second = upload(rt, "uploads/seller4/copy.jpg", PHOTO)
    process(rt, first)
    actions = process(rt, second)
    record = rt.meta.get(second)
    assert record is not None and (record.status, record.duplicate_of) == (Status.DUPLICATE, first)
    assert actions.completed == [second] and len(list(rt.store.list("silver"))) == 1


def test_a_transient_error_is_retried_on_every_host_delivery_since_the_pinned_decoder_loses_the_count(
        rt: AzureApp) -> None:
    """On a real host each delivery's count is unknown to the app: it retries, the broker dead-letters it at
    maxDeliveryCount, and the reconciliation sweep marks the record (test_reconcile.py)."""
    rt.services.settings = rt.settings.with_(retry=RetryPolicy(max_attempts=3))
    upload_id = upload(rt, "uploads/seller1/shoe.jpg", PHOTO)
    record = rt.meta.get(upload_id)
    assert record is not None
    rt.store.delete(record.raw_path)  # bronze gone: a transient error (it may be a replication delay)
    actions = RecordingActions()
    for count in (1, 2, 3, 4):
        with pytest.raises(errors.TransientError):
            handler(functions.cleanse.cleanse)(servicebus_message({"upload_id": upload_id}, upload_id, count), actions)
    assert rt.meta.get(upload_id).status == Status.BRONZE  # type: ignore[union-attr]
    assert not actions.completed and not actions.dead_lettered


def test_the_last_known_delivery_marks_the_record_failed_and_dead_letters(rt: AzureApp) -> None:
    """With a count (a decoder that keeps the header), the last delivery is settled by the one policy."""
    from shared.azure import handlers
    from shared.azure.settle import Delivery

    rt.services.settings = rt.settings.with_(retry=RetryPolicy(max_attempts=3))
    upload_id = upload(rt, "uploads/seller1/shoe.jpg", PHOTO)
    rt.store.delete(rt.meta.get(upload_id).raw_path)  # type: ignore[union-attr]
    message = servicebus_message({"upload_id": upload_id}, upload_id, 3)
    actions = RecordingActions()
    handlers.cleanse(rt.services, Delivery(message, b'{"upload_id": "%s"}' % upload_id.encode(), upload_id, 3),
                     actions)
    failed = rt.meta.get(upload_id)
    assert failed is not None and (failed.status, failed.reason) == (Status.FAILED, RETRIES_EXHAUSTED)
    assert "bronze object" in (failed.reason_detail or "") and not actions.completed
    assert [(m, r) for m, r, _ in actions.dead_lettered] == [(upload_id, RETRIES_EXHAUSTED)]


def test_the_blob_trigger_never_downloads_the_upload(rt: AzureApp) -> None:
    """The handler reads only the client's name; the store sniffs 512 bytes and copies with its own client."""
    rt.store.put("uploads/seller1/shoe.jpg", PHOTO)
    client = blob_client("IMAGES_STORAGE", "uploads", "seller1/shoe.jpg")
    used: list[str] = []
    for method in ("download_blob", "get_blob_properties", "exists", "start_copy_from_url"):
        setattr(client, method, lambda *_, _m=method, **__: used.append(_m))
    handler(functions.ingest.ingest)(client)
    assert used == []
    upload_id = naming.upload_id_for("uploads/seller1/shoe.jpg", rt.store.info("uploads/seller1/shoe.jpg").version)
    record = rt.meta.get(upload_id)
    assert record is not None and rt.store.get(record.raw_path) == PHOTO


def test_classify_batch_scores_completes_and_dead_letters_the_malformed(rt: AzureApp) -> None:
    ids = [upload(rt, f"uploads/seller1/p{i}.jpg", jpeg(photo(300, 200, seed=30 + i))) for i in range(3)]
    for upload_id in ids:
        process(rt, upload_id)
    batch = [servicebus_message({"upload_id": i}, i) for i in ids] + [servicebus_message(b"{}", "junk")]
    actions = RecordingActions()
    handler(functions.classify.classify)(batch, actions)
    assert sorted(actions.completed) == sorted(ids)
    assert [(m, r) for m, r, _ in actions.dead_lettered] == [("junk", errors.BAD_MESSAGE)]
    for upload_id in ids:
        record = rt.meta.get(upload_id)
        assert record is not None and record.status == Status.CLASSIFIED and record.label == "running shoe"
        assert [p["model_version"] for p in record.predictions] == [FixedClassifier.model_version]


def test_classify_batch_isolates_a_failing_message(rt: AzureApp) -> None:
    good = upload(rt, "uploads/seller1/good.jpg", PHOTO)
    process(rt, good)
    missing = "f" * 32  # no record yet: transient
    actions = RecordingActions()
    batch = [servicebus_message({"upload_id": good}, good), servicebus_message({"upload_id": missing}, missing)]
    with pytest.raises(errors.TransientError):
        handler(functions.classify.classify)(batch, actions)
    assert actions.completed == [good] and rt.meta.get(good).status == Status.CLASSIFIED  # type: ignore[union-attr]


class PickyClassifier(FixedClassifier):
    """Refuses one image the way the endpoint does (a 400 naming it): a property of that image."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: bytes | None = None

    def classify(self, images: list[bytes]) -> Any:
        if self.refused in images:
            raise errors.PermanentError(errors.CORRUPT_IMAGE, f"image {images.index(self.refused)} of the batch")
        return super().classify(images)


def refuse(rt: AzureApp, upload_id: str) -> None:
    classifier = PickyClassifier()
    classifier.refused = rt.store.get(rt.meta.get(upload_id).cleansed_path or "")  # type: ignore[union-attr]
    rt.services._classifier = classifier


def test_an_image_the_model_refuses_is_rejected_at_once_not_retried(rt: AzureApp) -> None:
    upload_id = upload(rt, "uploads/seller1/shoe.jpg", PHOTO)
    process(rt, upload_id)
    refuse(rt, upload_id)
    actions = RecordingActions()
    handler(functions.classify.classify)([servicebus_message({"upload_id": upload_id}, upload_id)], actions)
    record = rt.meta.get(upload_id)
    assert record is not None and (record.status, record.reason) == (Status.REJECTED, errors.CORRUPT_IMAGE)
    assert actions.completed == [upload_id] and not actions.dead_lettered


def test_a_refused_image_in_a_batch_is_rejected_the_rest_scored_all_completed(rt: AzureApp) -> None:
    ids = [upload(rt, f"uploads/seller1/p{i}.jpg", jpeg(photo(300, 200, seed=40 + i))) for i in range(3)]
    for upload_id in ids:
        process(rt, upload_id)
    refuse(rt, ids[1])
    actions = RecordingActions()
    handler(functions.classify.classify)([servicebus_message({"upload_id": i}, i) for i in ids], actions)
    assert sorted(actions.completed) == sorted(ids) and not actions.dead_lettered
    assert [rt.meta.get(i).status for i in ids] == [Status.CLASSIFIED, Status.REJECTED, Status.CLASSIFIED]


def test_a_foreign_body_is_a_bad_message_and_does_not_sink_its_batch(rt: AzureApp) -> None:
    good = upload(rt, "uploads/seller1/good.jpg", PHOTO)
    process(rt, good)
    actions = RecordingActions()
    batch = [servicebus_message({"upload_id": good}, good), servicebus_value_message(17, "foreign")]
    handler(functions.classify.classify)(batch, actions)
    assert actions.completed == [good]
    assert [(m, r) for m, r, _ in actions.dead_lettered] == [("foreign", errors.BAD_MESSAGE)]


def test_an_upload_deleted_before_its_event_is_handled_leaves_nothing_behind(rt: AzureApp) -> None:
    rt.store.put("uploads/seller1/gone.jpg", PHOTO)
    rt.store.delete("uploads/seller1/gone.jpg")
    fire_blob_trigger("uploads/seller1/gone.jpg")  # a late BlobCreated
    assert rt.meta.find() == [] and list(rt.store.list("bronze")) == [] and sent(rt, Queue.CLEANSE) == []


class OutageClassifier(FixedClassifier):
    """The endpoint is down: each call spends its whole retry budget (the clock moves on) and fails."""

    def __init__(self, clock: list[Any], seconds: float) -> None:
        super().__init__()
        self.clock, self.seconds = clock, seconds

    def classify(self, images: list[bytes]) -> Any:
        self.calls += 1
        self.clock[0] += timedelta(seconds=self.seconds)
        raise errors.TransientError("scoring endpoint unreachable: timed out")


def test_an_endpoint_outage_returns_the_whole_batch_within_its_budget(rt: AzureApp) -> None:
    """Batch locks are not renewed: after one failed call the per-message fallback must not start 4 more."""
    ids = [upload(rt, f"uploads/seller1/p{i}.jpg", jpeg(photo(300, 200, seed=50 + i))) for i in range(4)]
    for upload_id in ids:
        process(rt, upload_id)
    clock = [datetime.now(UTC)]
    rt.services.clock = lambda: clock[0]
    outage = OutageClassifier(clock, seconds=rt.settings.classify_budget_seconds + 1)
    rt.services._classifier = outage
    actions = RecordingActions()
    with pytest.raises(errors.TransientError, match="4 of 4"):
        handler(functions.classify.classify)([servicebus_message({"upload_id": i}, i) for i in ids], actions)
    assert outage.calls == 1 and not actions.completed and not actions.dead_lettered
    assert {rt.meta.get(i).status for i in ids} == {Status.GOLD}  # type: ignore[union-attr]


def test_within_the_budget_a_failing_batch_is_still_tried_message_by_message(rt: AzureApp) -> None:
    ids = [upload(rt, f"uploads/seller1/q{i}.jpg", jpeg(photo(300, 200, seed=60 + i))) for i in range(2)]
    for upload_id in ids:
        process(rt, upload_id)
    clock = [datetime.now(UTC)]
    rt.services.clock = lambda: clock[0]
    outage = OutageClassifier(clock, seconds=1)
    rt.services._classifier = outage
    with pytest.raises(errors.TransientError):
        handler(functions.classify.classify)([servicebus_message({"upload_id": i}, i) for i in ids],
                                             RecordingActions())
    assert outage.calls == 3  # the batch, then each message alone
