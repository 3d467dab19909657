"""Service Bus for real: the official emulator or a namespace, named by ``SERVICEBUS_TEST_CONNECTION``.

Skipped, with the reason in pytest's summary, when it is unset: no Service
Bus runs here without Docker. Uses the queue ``SERVICEBUS_TEST_QUEUE``
(default ``ingest``); point it at the emulator or a test namespace, never
at production. Only messages this run sent are touched.

    SERVICEBUS_TEST_CONNECTION='Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;\
SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;' pytest tests/servicebus
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shared import errors
from shared.adapters.servicebus_queue import DeadLetters, ServiceBusJobQueue
from shared.azure import handlers
from shared.azure.settle import Delivery
from shared.records import Record, Status
from tests.unit.fakes import services

CONNECTION = os.environ.get("SERVICEBUS_TEST_CONNECTION")
QUEUE = os.environ.get("SERVICEBUS_TEST_QUEUE", "cleanse")
SKIP_REASON = "SERVICEBUS_TEST_CONNECTION is not set (the emulator or a namespace)"
pytestmark = [pytest.mark.servicebus, pytest.mark.skipif(not CONNECTION, reason=SKIP_REASON)]


@pytest.fixture
def client() -> Iterator[Any]:
    from azure.servicebus import ServiceBusClient

    with ServiceBusClient.from_connection_string(CONNECTION or "") as sb:
        yield sb


def receive(receiver: Any, message_id_prefix: str, count: int = 1) -> list[Any]:
    """Our messages only; anything else on the queue is released untouched."""
    found: list[Any] = []
    for _ in range(20):
        for message in receiver.receive_messages(max_message_count=10, max_wait_time=3):
            if str(message.message_id).startswith(message_id_prefix):
                found.append(message)
            else:
                receiver.abandon_message(message)
        if len(found) >= count:
            break
    return found


class ReceiverActions:
    """The settlement protocol on an SDK receiver (what ServiceBusMessageActions does through the host)."""

    def __init__(self, receiver: Any) -> None:
        self.receiver = receiver

    def complete(self, message: Any) -> None:
        self.receiver.complete_message(message)

    def deadletter(self, message: Any, deadletter_reason: str | None = None,
                   deadletter_error_description: str | None = None) -> None:
        self.receiver.dead_letter_message(message, reason=deadletter_reason,
                                          error_description=deadletter_error_description)


def test_send_and_receive_through_the_port(client: Any) -> None:
    message_id = uuid.uuid4().hex
    queue = ServiceBusJobQueue(client)
    queue.send(QUEUE, message_id, {"upload_id": message_id})
    queue.close()
    with client.get_queue_receiver(QUEUE) as receiver:
        (message,) = receive(receiver, message_id)
        assert json.loads(b"".join(message.body)) == {"upload_id": message_id} and message.delivery_count == 0
        receiver.complete_message(message)


def delivery(message: Any) -> Delivery:
    return Delivery(message, b"".join(message.body), str(message.message_id), message.delivery_count + 1)


def test_a_rejected_upload_is_a_terminal_record_and_its_message_is_completed(client: Any) -> None:
    svc = services()
    upload_id = uuid.uuid4().hex
    svc.store.put(f"bronze/x/{upload_id}.bin", b"<html>not an image</html>")
    svc.meta.put(Record(upload_id=upload_id, user_id="u", status="bronze", upload_ts="2026-11-30T00:00:00.000000Z",
                        ingest_ts="2026-11-30T00:00:00.000000Z", raw_name="a.jpg", raw_path=f"bronze/x/{upload_id}.bin",
                        raw_size=25, sha256="ab" * 32))
    ServiceBusJobQueue(client).send(QUEUE, upload_id, {"upload_id": upload_id})
    with client.get_queue_receiver(QUEUE) as receiver:
        (message,) = receive(receiver, upload_id)
        handlers.cleanse(svc, delivery(message), ReceiverActions(receiver))
    record = svc.meta.get(upload_id)
    assert record is not None and (record.status, record.reason) == (Status.REJECTED, errors.UNSUPPORTED_FORMAT)
    assert all(d.message_id != upload_id for d in DeadLetters(client).list(QUEUE, limit=500))


def test_a_message_that_cannot_be_understood_is_dead_lettered_with_its_reason_then_replayed(client: Any) -> None:
    from azure.servicebus import ServiceBusMessage

    message_id = uuid.uuid4().hex
    with client.get_queue_sender(QUEUE) as sender:
        sender.send_messages(ServiceBusMessage(b"not json", message_id=message_id))
    with client.get_queue_receiver(QUEUE) as receiver:
        (message,) = receive(receiver, message_id)
        handlers.cleanse(services(), delivery(message), ReceiverActions(receiver))
    tools = DeadLetters(client)
    (dead,) = [d for d in tools.list(QUEUE, limit=500) if d.message_id == message_id]
    assert dead.reason == errors.BAD_MESSAGE and dead.description
    assert tools.replay(QUEUE, message_id) == 1
    assert all(d.message_id != message_id for d in tools.list(QUEUE, limit=500))
    with client.get_queue_receiver(QUEUE) as receiver:
        (replayed,) = receive(receiver, message_id)
        assert b"".join(replayed.body) == b"not json"
        receiver.complete_message(replayed)
