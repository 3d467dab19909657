"""What the operator commands see in Azure: Cosmos DB records and the Functions app's dead letters.

The dead letters are the DLQs of the ``cleanse`` and ``classify`` queues in
the namespace ``SERVICEBUS`` names. Without that setting there are none to
show: ``imgpipe run --backend azure`` keeps no queue between runs, and a
record it could not finish says ``failed`` (``imgpipe reprocess --status
failed`` drives it again).
"""

from __future__ import annotations

from shared.adapters.servicebus_queue import DeadLetters
from shared.azure import connections
from shared.azure.bootstrap import AzureApp, bootstrap
from shared.layout import QUEUES
from shared.ports import JobQueue
from shared.runtime import DeadLetter
from shared.settings import Settings


class ServiceBusDeadLetters:
    """The Service Bus DLQs as the ``DeadLetterQueue`` protocol (empty when no Service Bus is configured)."""

    def __init__(self, dead_letters: DeadLetters | None) -> None:
        self.dead_letters = dead_letters

    def counts(self) -> dict[str, int]:
        if self.dead_letters is None:
            return {}
        return {q: n for q in QUEUES if (n := len(self.dead_letters.list(q, 1000)))}

    def list(self, limit: int = 100) -> list[DeadLetter]:
        if self.dead_letters is None:
            return []
        out: list[DeadLetter] = []
        for queue in QUEUES:
            for d in self.dead_letters.list(queue, limit - len(out)):
                out.append(DeadLetter(queue, d.message_id, d.reason, d.description, d.delivery_count,
                                      d.enqueued_at, d.body))
            if len(out) >= limit:
                break
        return out

    def replay(self, message_id: str | None = None) -> int:
        if self.dead_letters is None:
            return 0
        return sum(self.dead_letters.replay(queue, message_id) for queue in QUEUES)


class NoSends(JobQueue):
    """Operator commands read and update records; they never enqueue work."""

    def send(self, queue: str, message_id: str, body: dict) -> bool:
        raise RuntimeError(f"operator commands do not send messages (tried {queue}/{message_id})")


class AzureOperations:
    name = "azure"

    def __init__(self, app: AzureApp, dead_letters: ServiceBusDeadLetters) -> None:
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


def service_bus_dead_letters() -> ServiceBusDeadLetters:
    dead_letters = DeadLetters(connections.once("servicebus", connections.servicebus_client)) if has_servicebus() \
        else None
    return ServiceBusDeadLetters(dead_letters)


def operations(settings: Settings, classifier: str | None = "none", sends: bool = False) -> AzureOperations:
    """``sends``: the operator's command enqueues work for the Functions app (``imgpipe reconcile``)."""
    app = bootstrap(settings, queue=None if sends else NoSends(), classifier=classifier)
    return AzureOperations(app, service_bus_dead_letters())
