"""Service Bus: the ``JobQueue`` sender and the dead-letter tools (list, replay).

``message_id`` is the upload id, which makes messages easy to find in Service
Bus Explorer; nothing depends on it being unique. The queues have no
duplicate detection: every consumer is idempotent, so a second copy (a
re-fired blob event, a crash between a record write and its send, an
operator's re-send from Service Bus Explorer with whatever message id) ends
in the same state, while duplicate detection would silently drop a re-send
that keeps the id inside its window. A replay therefore re-sends the dead
letter as it is, message id included.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.ports import JobQueue

CONTENT_TYPE = "application/json"


class ServiceBusJobQueue(JobQueue):
    def __init__(self, client: Any) -> None:
        """``client`` is a ``ServiceBusClient``; one sender per queue, kept for the life of the process."""
        self.client = client
        self._senders: dict[str, Any] = {}
        self._lock = threading.Lock()  # senders are not thread-safe; the Functions worker runs sync code in threads

    def send(self, queue: str, message_id: str, body: dict[str, Any]) -> bool:
        from azure.servicebus import ServiceBusMessage

        message = ServiceBusMessage(json.dumps(body), message_id=message_id, content_type=CONTENT_TYPE)
        with self._lock:
            if queue not in self._senders:
                self._senders[queue] = self.client.get_queue_sender(queue)
            self._senders[queue].send_messages(message)
        return True

    def close(self) -> None:
        with self._lock:
            for sender in self._senders.values():
                sender.close()
            self._senders.clear()


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    message_id: str
    sequence_number: int
    reason: str | None
    description: str | None
    delivery_count: int
    enqueued_at: datetime | None
    body: str

    def to_dict(self) -> dict[str, Any]:
        return {"queue": self.queue, "message_id": self.message_id, "sequence_number": self.sequence_number,
                "reason": self.reason, "description": self.description, "delivery_count": self.delivery_count,
                "enqueued_at": self.enqueued_at.isoformat() if self.enqueued_at else None, "body": self.body}


class DeadLetters:
    """What Service Bus Explorer does for a queue's DLQ, scriptable: peek the dead letters, resubmit them."""

    def __init__(self, client: Any, wait: float = 2.0, batch: int = 50) -> None:
        self.client = client
        self.wait = wait  # seconds a receive waits for the next message before the DLQ counts as drained
        self.batch = batch

    def _receiver(self, queue: str) -> Any:
        from azure.servicebus import ServiceBusSubQueue

        return self.client.get_queue_receiver(queue, sub_queue=ServiceBusSubQueue.DEAD_LETTER, max_wait_time=self.wait)

    def list(self, queue: str, limit: int = 100) -> list[DeadLetter]:
        """Peek (no lock, nothing changes) up to ``limit`` dead letters, oldest first."""
        out: list[DeadLetter] = []
        with self._receiver(queue) as receiver:
            sequence = 0
            while len(out) < limit:
                page = receiver.peek_messages(max_message_count=min(self.batch, limit - len(out)),
                                              sequence_number=sequence)
                if not page:
                    break
                out.extend(_dead_letter(queue, m) for m in page)
                sequence = page[-1].sequence_number + 1
        return out

    def replay(self, queue: str, message_id: str | None = None) -> int:
        """Resubmit dead letters to their queue (one by ``message_id``, or all), then remove them from the DLQ.

        Send first, complete second: a crash in between leaves the dead letter
        in place, and replaying it again sends a second copy, which the
        idempotent consumer absorbs. Messages that do not match are released untouched.
        """
        replayed, skipped = 0, []
        with self._receiver(queue) as receiver, self.client.get_queue_sender(queue) as sender:
            for message in self._drain(receiver):
                if message_id is not None and message.message_id != message_id:
                    skipped.append(message)  # keep the lock until the end so the drain does not see it again
                    continue
                sender.send_messages(_resubmission(message))
                receiver.complete_message(message)
                replayed += 1
            for message in skipped:
                _release(receiver, message)
        return replayed

    def _drain(self, receiver: Any) -> Iterator[Any]:
        seen: set[int] = set()
        while True:
            page = [m for m in receiver.receive_messages(max_message_count=self.batch, max_wait_time=self.wait)
                    if m.sequence_number not in seen]
            if not page:
                return
            for message in page:
                seen.add(message.sequence_number)
                yield message


def _release(receiver: Any, message: Any) -> None:
    """Give a skipped dead letter back; on a long drain its lock may have expired, which releases it too."""
    from azure.servicebus.exceptions import MessageLockLostError

    with contextlib.suppress(MessageLockLostError):
        receiver.abandon_message(message)


def _resubmission(message: Any) -> Any:
    from azure.servicebus import ServiceBusMessage

    return ServiceBusMessage(_body_bytes(message), message_id=message.message_id,
                             content_type=message.content_type or CONTENT_TYPE)


def _body_bytes(message: Any) -> bytes:
    body = message.body
    return body if isinstance(body, bytes) else b"".join(body)


def _dead_letter(queue: str, message: Any) -> DeadLetter:
    return DeadLetter(queue, str(message.message_id), int(message.sequence_number), message.dead_letter_reason,
                      message.dead_letter_error_description, int(message.delivery_count or 0),
                      message.enqueued_time_utc, _body_bytes(message).decode("utf-8", "replace"))
