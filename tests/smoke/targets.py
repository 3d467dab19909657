"""Where the smoke run goes: the deployed app (``AzureTarget``) or the stand-ins with an in-process host.

``AzureTarget`` talks to the deployment as the caller (``DefaultAzureCredential``:
``az login``/``azd auth login``), with the operator roles ``infra/`` grants:
uploads with Storage Blob Data Contributor, reads records with Cosmos DB Data
Contributor, sends to and reads the DLQ with Service Bus Data Sender/Receiver.
The Functions app does the work.

``DryRunTarget`` does the same against Azurite and the Cosmos DB stand-in,
with this process playing the host for the app's own functions: a blob write
fires ``functions/ingest`` with the SDK-type ``BlobClient``; a message goes
through the pinned extension's decoder from the host's byte layout to
``functions/cleanse``/``classify``, with message actions that record settlements; an unsettled message is redelivered
until the queue's ``maxDeliveryCount``, then dead-lettered as the broker does.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any

import functions.classify
import functions.cleanse
import functions.ingest
from shared import naming
from shared.azure import connections
from shared.azure.bootstrap import AzureApp
from shared.layout import Queue
from shared.ports import JobQueue
from shared.records import Record
from tests.integration.triggers import blob_client, servicebus_message

BATCH = 16  # host.json maxMessageBatchSize


class AzureTarget:
    def __init__(self, app: AzureApp, servicebus: Any) -> None:
        self.app, self.servicebus = app, servicebus

    def upload(self, path: str, data: bytes) -> str:
        self.app.store.put(path, data)
        return naming.upload_id_for(path, self.app.store.info(path).version)

    def record(self, upload_id: str) -> Record | None:
        return self.app.meta.get(upload_id)

    def send_raw(self, queue: str, message_id: str, body: bytes) -> None:
        from azure.servicebus import ServiceBusMessage

        with self.servicebus.get_queue_sender(queue) as sender:
            sender.send_messages(ServiceBusMessage(body, message_id=message_id))

    def _dlq(self, queue: str) -> Any:
        from azure.servicebus import ServiceBusSubQueue

        return self.servicebus.get_queue_receiver(queue, sub_queue=ServiceBusSubQueue.DEAD_LETTER, max_wait_time=5)

    def dead_letter(self, queue: str, message_id: str) -> tuple[str | None, str | None] | None:
        from shared.adapters.servicebus_queue import DeadLetters

        found = [d for d in DeadLetters(self.servicebus).list(queue, 1000) if d.message_id == message_id]
        return (found[0].reason, found[0].description) if found else None

    def remove_dead_letter(self, queue: str, message_id: str) -> None:
        with self._dlq(queue) as receiver:
            for message in receiver.receive_messages(max_message_count=100, max_wait_time=5):
                if message.message_id == message_id:
                    receiver.complete_message(message)
                else:
                    receiver.abandon_message(message)

    def pump(self) -> None:
        """The deployed app works by itself."""


class InProcessHost(JobQueue):
    """Service Bus queues and the Functions host in one process, for the dry run."""

    def __init__(self, max_deliveries: int) -> None:
        self.max_deliveries = max_deliveries
        self.waiting: dict[str, deque[tuple[str, bytes, int]]] = defaultdict(deque)
        self.dead: dict[str, list[tuple[str, str | None, str | None]]] = defaultdict(list)
        self.events: deque[str] = deque()

    def send(self, queue: str, message_id: str, body: dict[str, Any]) -> bool:
        self.waiting[queue].append((message_id, json.dumps(body).encode(), 1))
        return True


class RecordingSettlement:
    def __init__(self) -> None:
        self.settled: dict[str, tuple[str, str | None, str | None]] = {}

    def complete(self, message: Any) -> None:
        self.settled[str(message.message_id)] = ("complete", None, None)

    def deadletter(self, message: Any, deadletter_reason: str | None = None,
                   deadletter_error_description: str | None = None) -> None:
        self.settled[str(message.message_id)] = ("dead", deadletter_reason, deadletter_error_description)


def user_function(decorated: Any) -> Any:
    return decorated.build().get_user_function()


class DryRunTarget:
    def __init__(self, app: AzureApp, host: InProcessHost) -> None:
        self.app, self.host = app, host
        # What the functions' services() returns in this process: these services, on the stand-ins.
        assert connections.once("services", lambda: app.services) is app.services, "services built elsewhere"

    def upload(self, path: str, data: bytes) -> str:
        self.app.store.put(path, data)
        self.host.events.append(path)  # Event Grid's BlobCreated
        return naming.upload_id_for(path, self.app.store.info(path).version)

    def record(self, upload_id: str) -> Record | None:
        return self.app.meta.get(upload_id)

    def send_raw(self, queue: str, message_id: str, body: bytes) -> None:
        self.host.waiting[queue].append((message_id, body, 1))

    def dead_letter(self, queue: str, message_id: str) -> tuple[str | None, str | None] | None:
        found = [(r, d) for m, r, d in self.host.dead[queue] if m == message_id]
        return found[0] if found else None

    def remove_dead_letter(self, queue: str, message_id: str) -> None:
        self.host.dead[queue] = [d for d in self.host.dead[queue] if d[0] != message_id]

    def pump(self) -> None:
        """Fire pending blob events, then deliver what waits on each queue once (retries come next pump)."""
        while self.host.events:
            container, name = self.host.events.popleft().split("/", 1)
            user_function(functions.ingest.ingest)(blob_client("IMAGES_STORAGE", container, name))
        for queue in (Queue.CLEANSE, Queue.CLASSIFY):
            waiting = list(self.host.waiting[queue])
            self.host.waiting[queue].clear()
            size = BATCH if queue == Queue.CLASSIFY else 1
            for start in range(0, len(waiting), size):
                self._deliver(queue, waiting[start:start + size])

    def _deliver(self, queue: str, batch: Sequence[tuple[str, bytes, int]]) -> None:
        actions = RecordingSettlement()
        messages = [servicebus_message(body, mid, count) for mid, body, count in batch]  # host bytes, pinned decoder
        try:
            if queue == Queue.CLASSIFY:
                user_function(functions.classify.classify)(messages, actions)
            else:
                user_function(functions.cleanse.cleanse)(messages[0], actions)
        except Exception:  # the host abandons what the function left unsettled
            pass
        for message_id, body, count in batch:
            settled = actions.settled.get(message_id)
            if settled and settled[0] == "dead":
                self.host.dead[queue].append((message_id, settled[1], settled[2]))
            elif settled is None and count >= self.host.max_deliveries:
                self.host.dead[queue].append((message_id, "MaxDeliveryCountExceeded", "as the broker does"))
            elif settled is None:
                self.host.waiting[queue].append((message_id, body, count + 1))

