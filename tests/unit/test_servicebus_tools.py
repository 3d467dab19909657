"""The Service Bus sender and DLQ tools against an in-memory stand-in for the SDK client (no broker here).

The live tier (tests/servicebus) runs the same calls against a real namespace or the emulator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.adapters.servicebus_queue import DeadLetters, ServiceBusJobQueue


@dataclass
class Msg:
    message_id: str
    body: bytes
    sequence_number: int = 0
    dead_letter_reason: str | None = None
    dead_letter_error_description: str | None = None
    delivery_count: int = 0
    enqueued_time_utc: datetime = datetime(2026, 11, 30, tzinfo=UTC)
    content_type: str | None = "application/json"


@dataclass
class FakeBus:
    queues: dict[str, list[Any]] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)

    def get_queue_sender(self, queue: str) -> Any:
        return Sender(self, queue)

    def get_queue_receiver(self, queue: str, sub_queue: Any = None, max_wait_time: float = 0) -> Any:
        return Receiver(self, f"{queue}/$deadletterqueue" if sub_queue else queue)


@dataclass
class Sender:
    bus: FakeBus
    queue: str

    def send_messages(self, message: Any) -> None:
        self.bus.events.append(f"send {message.message_id}")
        self.bus.queues.setdefault(self.queue, []).append(message)

    def close(self) -> None: ...

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None: ...


@dataclass
class Receiver:
    bus: FakeBus
    entity: str
    locked: list[Any] = field(default_factory=list)

    def peek_messages(self, max_message_count: int, sequence_number: int = 0) -> list[Any]:
        ready = [m for m in self.bus.queues.get(self.entity, []) if m.sequence_number >= sequence_number]
        return ready[:max_message_count]

    def receive_messages(self, max_message_count: int, max_wait_time: float) -> list[Any]:
        ready = [m for m in self.bus.queues.get(self.entity, []) if m not in self.locked][:max_message_count]
        self.locked.extend(ready)
        return ready

    def complete_message(self, message: Any) -> None:
        self.bus.events.append(f"complete {message.message_id}")
        self.bus.queues[self.entity].remove(message)

    def abandon_message(self, message: Any) -> None:
        self.locked.remove(message)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None: ...


def dead(bus: FakeBus, *ids: str) -> None:
    bus.queues["ingest/$deadletterqueue"] = [
        Msg(i, json.dumps({"upload_id": i}).encode(), sequence_number=n + 7, dead_letter_reason="corrupt_image",
            dead_letter_error_description="truncated", delivery_count=1) for n, i in enumerate(ids)]


def test_send_uses_the_upload_id_as_message_id_and_json_body() -> None:
    bus = FakeBus()
    ServiceBusJobQueue(bus).send("ingest", "a" * 32, {"upload_id": "a" * 32})
    (message,) = bus.queues["ingest"]
    assert message.message_id == "a" * 32 and message.content_type == "application/json"
    assert json.loads(b"".join(message.body)) == {"upload_id": "a" * 32}


def test_list_peeks_dead_letters_with_reason_and_changes_nothing() -> None:
    bus = FakeBus()
    dead(bus, "m1", "m2")
    listed = DeadLetters(bus, batch=1).list("ingest")
    assert [(d.message_id, d.reason, d.description) for d in listed] == [("m1", "corrupt_image", "truncated"),
                                                                         ("m2", "corrupt_image", "truncated")]
    assert len(bus.queues["ingest/$deadletterqueue"]) == 2


def test_replay_one_sends_a_copy_with_the_same_id_then_completes_it() -> None:
    bus = FakeBus()
    dead(bus, "m1", "m2")
    assert DeadLetters(bus).replay("ingest", "m2") == 1
    assert bus.events == ["send m2", "complete m2"]  # send first: a crash in between loses nothing
    (resent,) = bus.queues["ingest"]
    assert json.loads(b"".join(resent.body)) == {"upload_id": "m2"}
    assert [m.message_id for m in bus.queues["ingest/$deadletterqueue"]] == ["m1"]


def test_replay_all_empties_the_dead_letter_queue() -> None:
    bus = FakeBus()
    dead(bus, "m1", "m2")
    assert DeadLetters(bus).replay("ingest") == 2
    assert bus.queues["ingest/$deadletterqueue"] == []
    assert [m.message_id for m in bus.queues["ingest"]] == ["m1", "m2"]  # ids kept: the queues drop no duplicate


def test_a_skipped_dead_letter_whose_lock_expired_does_not_fail_the_replay() -> None:
    from azure.servicebus.exceptions import MessageLockLostError

    class ExpiringReceiver(Receiver):
        def abandon_message(self, message: Any) -> None:
            raise MessageLockLostError(message="lock expired during a long drain")

    bus = FakeBus()
    dead(bus, "m1", "m2")
    letters = DeadLetters(bus)
    letters._receiver = lambda queue: ExpiringReceiver(bus, f"{queue}/$deadletterqueue")  # type: ignore[method-assign]
    assert letters.replay("ingest", "m2") == 1
    assert [m.message_id for m in bus.queues["ingest/$deadletterqueue"]] == ["m1"]
