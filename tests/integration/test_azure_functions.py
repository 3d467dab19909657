"""The Functions handlers called with real trigger objects, against Azurite and the Cosmos DB stand-in.

Service Bus is the only thing not real here: sends go through the JobQueue
port into a recording double, and settlement into ``RecordingActions``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import functions.classify
import functions.ingest
import functions.process
from shared import errors, naming
from shared.adapters.memory import RecordingQueue
from shared.azure.bootstrap import AzureRuntime, bootstrap
from shared.records import BRONZE, CLASSIFIED, DUPLICATE, FAILED, GOLD, REJECTED, RETRIES_EXHAUSTED
from shared.settings import CLASSIFY_QUEUE, INGEST_QUEUE, Settings
from tests.corpus import jpeg, photo
from tests.integration.triggers import RecordingActions, blob_stream, servicebus_message, servicebus_value_message
from tests.unit.fakes import FixedClassifier

PHOTO = jpeg(photo(900, 600, seed=21))


def handler(builder: Any) -> Callable[..., Any]:
    return builder.build().get_user_function()


@pytest.fixture
def rt(azure_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> AzureRuntime:
    runtime = bootstrap(Settings.from_env(), queue=RecordingQueue(), create_missing=True,
                        classifier_factory_override=FixedClassifier)
    for module in (functions.ingest, functions.process, functions.classify):
        monkeypatch.setattr(module, "services", lambda: runtime.services)
    return runtime


def sent(rt: AzureRuntime, queue: str) -> list[tuple[str, dict[str, Any]]]:
    assert isinstance(rt.services.queue, RecordingQueue)
    return [(mid, body) for q, mid, body in rt.services.queue.sent if q == queue]


def upload(rt: AzureRuntime, name: str, data: bytes) -> str:
    """Write the blob and fire the blob trigger for it, as the host would; returns the upload id."""
    rt.store.put(name, data)
    handler(functions.ingest.ingest)(blob_stream(name, data))
    return naming.upload_id_for(name, rt.store.info(name).version)


def process(rt: AzureRuntime, upload_id: str, prior_deliveries: int = 0) -> RecordingActions:
    actions = RecordingActions()
    message = servicebus_message({"upload_id": upload_id}, upload_id, prior_deliveries)
    handler(functions.process.process)(message, actions)
    return actions


def test_blob_trigger_copies_to_bronze_writes_the_record_and_sends_one_message(rt: AzureRuntime) -> None:
    upload_id = upload(rt, "uploads/seller1/shoe.jpg", PHOTO)
    record = rt.meta.get(upload_id)
    assert record is not None and record.status == BRONZE and record.user_id == "seller1"
    assert rt.store.get(record.raw_path) == PHOTO
    assert sent(rt, INGEST_QUEUE) == [(upload_id, {"upload_id": upload_id})]
    handler(functions.ingest.ingest)(blob_stream("uploads/seller1/shoe.jpg", PHOTO))  # the event fires again
    assert len(rt.meta.find()) == 1 and len(list(rt.store.list("bronze"))) == 1


def test_process_cleanses_completes_and_sends_classify(rt: AzureRuntime) -> None:
    upload_id = upload(rt, "uploads/seller1/shoe.jpg", PHOTO)
    actions = process(rt, upload_id)
    record = rt.meta.get(upload_id)
    assert record is not None and record.status == GOLD and max(record.cleansed_width, record.cleansed_height) == 512
    assert rt.store.exists(record.cleansed_path or "")
    assert actions.completed == [upload_id] and not actions.dead_lettered
    assert sent(rt, CLASSIFY_QUEUE) == [(upload_id, {"upload_id": upload_id})]


def test_bad_input_is_rejected_and_dead_lettered_with_its_reason_at_once(rt: AzureRuntime) -> None:
    upload_id = upload(rt, "uploads/seller3/page.jpg", b"<!DOCTYPE html><html><body>hi</body></html>")
    actions = process(rt, upload_id)
    record = rt.meta.get(upload_id)
    assert record is not None and (record.status, record.reason) == (REJECTED, errors.UNSUPPORTED_FORMAT)
    assert [(mid, reason) for mid, reason, _ in actions.dead_lettered] == [(upload_id, errors.UNSUPPORTED_FORMAT)]
    assert actions.dead_lettered[0][2] and not actions.completed


def test_a_malformed_message_is_dead_lettered_as_bad_message(rt: AzureRuntime) -> None:
    actions = RecordingActions()
    handler(functions.process.process)(servicebus_message(b"not json", "junk"), actions)
    assert [(mid, reason) for mid, reason, _ in actions.dead_lettered] == [("junk", errors.BAD_MESSAGE)]


def test_a_duplicate_is_linked_and_completed(rt: AzureRuntime) -> None:
    first = upload(rt, "uploads/seller1/shoe.jpg", PHOTO)
    second = upload(rt, "uploads/seller4/copy.jpg", PHOTO)
    process(rt, first)
    actions = process(rt, second)
    record = rt.meta.get(second)
    assert record is not None and (record.status, record.duplicate_of) == (DUPLICATE, first)
    assert actions.completed == [second] and len(list(rt.store.list("silver"))) == 1


def test_transient_error_raises_unsettled_and_marks_failed_only_on_the_last_delivery(rt: AzureRuntime,
                                                                                     monkeypatch) -> None:
    monkeypatch.setenv("SERVICEBUS_MAX_DELIVERY_COUNT", "3")
    upload_id = upload(rt, "uploads/seller1/shoe.jpg", PHOTO)
    record = rt.meta.get(upload_id)
    assert record is not None
    rt.store.delete(record.raw_path)  # bronze gone: a transient error (it may be a replication delay)
    actions = RecordingActions()
    for prior in (0, 1):
        with pytest.raises(errors.TransientError):
            handler(functions.process.process)(servicebus_message({"upload_id": upload_id}, upload_id, prior), actions)
        assert rt.meta.get(upload_id).status == BRONZE  # type: ignore[union-attr]
    with pytest.raises(errors.TransientError):
        handler(functions.process.process)(servicebus_message({"upload_id": upload_id}, upload_id, 2), actions)
    failed = rt.meta.get(upload_id)
    assert failed is not None and (failed.status, failed.reason) == (FAILED, RETRIES_EXHAUSTED)
    assert "bronze object" in (failed.reason_detail or "") and not actions.completed and not actions.dead_lettered


def test_classify_batch_scores_completes_and_dead_letters_the_malformed(rt: AzureRuntime) -> None:
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
        assert record is not None and record.status == CLASSIFIED and record.label == "running shoe"
        assert [p["model_version"] for p in record.predictions] == [FixedClassifier.model_version]


def test_classify_batch_isolates_a_failing_message(rt: AzureRuntime) -> None:
    good = upload(rt, "uploads/seller1/good.jpg", PHOTO)
    process(rt, good)
    missing = "f" * 32  # no record yet: transient
    actions = RecordingActions()
    batch = [servicebus_message({"upload_id": good}, good), servicebus_message({"upload_id": missing}, missing)]
    with pytest.raises(errors.TransientError):
        handler(functions.classify.classify)(batch, actions)
    assert actions.completed == [good] and rt.meta.get(good).status == CLASSIFIED  # type: ignore[union-attr]


class PickyClassifier(FixedClassifier):
    """Refuses one image the way the endpoint does (a 400 naming it): a property of that image."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: bytes | None = None

    def classify(self, images: list[bytes]) -> Any:
        if self.refused in images:
            raise errors.PermanentError(errors.CORRUPT_IMAGE, f"image {images.index(self.refused)} of the batch")
        return super().classify(images)


def refuse(rt: AzureRuntime, upload_id: str) -> None:
    classifier = PickyClassifier()
    classifier.refused = rt.store.get(rt.meta.get(upload_id).cleansed_path or "")  # type: ignore[union-attr]
    rt.services._classifier = classifier


def test_an_image_the_model_refuses_is_dead_lettered_at_once_not_retried(rt: AzureRuntime) -> None:
    upload_id = upload(rt, "uploads/seller1/shoe.jpg", PHOTO)
    process(rt, upload_id)
    refuse(rt, upload_id)
    actions = RecordingActions()
    handler(functions.classify.classify)([servicebus_message({"upload_id": upload_id}, upload_id)], actions)
    assert [(m, r) for m, r, _ in actions.dead_lettered] == [(upload_id, errors.CORRUPT_IMAGE)]
    assert rt.meta.get(upload_id).status not in (GOLD, CLASSIFIED)  # type: ignore[union-attr]  # terminal, says why


def test_a_refused_image_in_a_batch_is_rejected_and_dead_lettered_the_rest_completed(rt: AzureRuntime) -> None:
    ids = [upload(rt, f"uploads/seller1/p{i}.jpg", jpeg(photo(300, 200, seed=40 + i))) for i in range(3)]
    for upload_id in ids:
        process(rt, upload_id)
    refuse(rt, ids[1])
    actions = RecordingActions()
    handler(functions.classify.classify)([servicebus_message({"upload_id": i}, i) for i in ids], actions)
    assert sorted(actions.completed) == sorted([ids[0], ids[2]])
    assert [(m, r) for m, r, _ in actions.dead_lettered] == [(ids[1], errors.CORRUPT_IMAGE)]
    assert rt.meta.get(ids[1]).status == REJECTED  # type: ignore[union-attr]


def test_a_foreign_body_is_a_bad_message_and_does_not_sink_its_batch(rt: AzureRuntime) -> None:
    good = upload(rt, "uploads/seller1/good.jpg", PHOTO)
    process(rt, good)
    actions = RecordingActions()
    batch = [servicebus_message({"upload_id": good}, good), servicebus_value_message(17, "foreign")]
    handler(functions.classify.classify)(batch, actions)
    assert actions.completed == [good]
    assert [(m, r) for m, r, _ in actions.dead_lettered] == [("foreign", errors.BAD_MESSAGE)]


def test_an_upload_deleted_before_its_event_is_handled_leaves_nothing_behind(rt: AzureRuntime) -> None:
    rt.store.put("uploads/seller1/gone.jpg", PHOTO)
    rt.store.delete("uploads/seller1/gone.jpg")
    handler(functions.ingest.ingest)(blob_stream("uploads/seller1/gone.jpg", PHOTO))  # a late BlobCreated
    assert rt.meta.find() == [] and list(rt.store.list("bronze")) == [] and sent(rt, INGEST_QUEUE) == []
