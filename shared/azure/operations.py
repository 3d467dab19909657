"""What the operator commands see in Azure: Cosmos DB records and the Functions app's dead letters.

The dead letters are the DLQs of the ``cleanse`` and ``classify`` queues in
the namespace ``SERVICEBUS`` names, and the blob trigger's poison queue
(``webjobs-blobtrigger-poison`` in the ``IMAGES_STORAGE`` account): uploads
the host stopped retrying. Replaying a poisoned upload ingests it here, as
the trigger would, then deletes its poison message. Without a Service Bus
setting there are no Service Bus dead letters to show: ``imgpipe run
--backend azure`` keeps no queue between runs, and a record it could not
finish says ``failed`` (``imgpipe reprocess --status failed`` drives it again).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from shared.adapters.poison_blobs import POISON_QUEUE, PoisonBlobs
from shared.adapters.servicebus_queue import DeadLetters
from shared.azure import connections, handlers
from shared.azure.bootstrap import AzureApp, bootstrap
from shared.layout import QUEUES
from shared.ports import JobQueue
from shared.runtime import DeadLetter
from shared.settings import Settings


class AzureDeadLetters:
    """Service Bus DLQs + the blob trigger's poison queue, as the ``DeadLetterQueue`` protocol.

    ``ingest`` re-drives a poisoned upload (``shared.azure.handlers.ingest`` on services that send to
    Service Bus); a poison entry's message id is the blob's path, ``uploads/<user>/<file>``.
    """

    def __init__(self, service_bus: DeadLetters | None, poison: PoisonBlobs | None,
                 ingest: Callable[[str], object] | None = None) -> None:
        self.service_bus, self.poison, self.ingest = service_bus, poison, ingest

    def counts(self) -> dict[str, int]:
        counts = {q: n for q in QUEUES if self.service_bus and (n := len(self.service_bus.list(q, 1000)))}
        if self.poison is not None and (n := self.poison.count()):
            counts[POISON_QUEUE] = n
        return counts

    def list(self, limit: int = 100) -> list[DeadLetter]:
        out: list[DeadLetter] = []
        if self.poison is not None:
            out += [DeadLetter(POISON_QUEUE, p.path, "poison_blob", f"{p.function}: the host gave up on this "
                               "upload", p.dequeue_count, p.inserted_at, p.body) for p in self.poison.list(limit)]
        for queue in QUEUES if self.service_bus else ():
            if len(out) >= limit:
                break
            out += [DeadLetter(queue, d.message_id, d.reason, d.description, d.delivery_count, d.enqueued_at, d.body)
                    for d in self.service_bus.list(queue, limit - len(out))]  # type: ignore[union-attr]
        return out[:limit]

    def replay(self, message_id: str | None = None) -> int:
        replayed = 0
        if self.poison is not None and self.ingest is not None and (message_id is None or "/" in message_id):
            replayed += self.poison.replay(self.ingest, message_id)
        if self.service_bus is not None and (message_id is None or "/" not in message_id):
            replayed += sum(self.service_bus.replay(queue, message_id) for queue in QUEUES)
        return replayed


class NoSends(JobQueue):
    """Operator commands read and update records; they never enqueue work (unless opened with ``sends``)."""

    def send(self, queue: str, message_id: str, body: dict) -> bool:
        raise RuntimeError(f"operator commands do not send messages (tried {queue}/{message_id})")


class AzureOperations:
    name = "azure"

    def __init__(self, app: AzureApp, dead_letters: AzureDeadLetters) -> None:
        self.app = app
        self.settings = app.settings
        self.services = app.services
        self.dead_letters = dead_letters

    def __enter__(self) -> AzureOperations:
        return self

    def __exit__(self, *exc: object) -> None:
        """Clients are per process and closed with it; nothing to release per command."""


def has_servicebus() -> bool:
    return bool(connections.setting("SERVICEBUS") or connections.setting("SERVICEBUS__fullyQualifiedNamespace"))


def service_bus_dead_letters() -> AzureDeadLetters:
    """The Service Bus DLQs alone (what the reconcile timer reads; the app's identity cannot read the poison queue
    of another account it has no queue role on, and poisoned uploads have no record to mark)."""
    client = connections.once("servicebus", connections.servicebus_client) if has_servicebus() else None
    return AzureDeadLetters(DeadLetters(client) if client else None, None)


def poison_blobs() -> PoisonBlobs | None:
    """The poison queue when the images account's Queue service is configured (else nothing to show)."""
    with contextlib.suppress(connections.MissingSetting):
        service = connections.once("queue", connections.queue_service_client)
        return PoisonBlobs(service.get_queue_client(POISON_QUEUE))
    return None


def operations(settings: Settings, classifier: str | None = "none", sends: bool = False) -> AzureOperations:
    """``sends``: the command enqueues work for the Functions app (``imgpipe reconcile``)."""
    app = bootstrap(settings, queue=None if sends else NoSends(), classifier=classifier)

    def ingest(path: str) -> object:
        sender = app if sends else connections.once("operator-sender", lambda: bootstrap(settings, classifier="none"))
        return handlers.ingest(sender.services, path)

    bus = service_bus_dead_letters().service_bus
    return AzureOperations(app, AzureDeadLetters(bus, poison_blobs(), ingest))
