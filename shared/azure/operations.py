"""What ``imgpipe status|records|dlq --backend azure`` look at: Cosmos DB records and Service Bus dead letters.

Shaped like the local runtime (``services.meta``, ``jobs.counts()/dead()/replay()``,
``close()``) so each CLI command only chooses a backend and keeps its code.
The dead letters are the Functions app's: the DLQs of the ``ingest`` and
``classify`` queues in the namespace ``SERVICEBUS`` names. Without that
setting there are none to show (``imgpipe run --backend azure`` keeps no
queue between runs: a record it could not finish says ``failed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.adapters.cosmos_metadata import CosmosMetadataStore
from shared.adapters.servicebus_queue import DeadLetters
from shared.azure import connections
from shared.local.jobs import Job
from shared.settings import QUEUES, Settings


@dataclass
class MetaOnly:
    """The part of ``Services`` the query commands read."""

    meta: CosmosMetadataStore


class DeadLetterJobs:
    """Service Bus DLQs behind the local job queue's inspection methods."""

    def __init__(self, dead_letters: DeadLetters | None, limit: int = 1000) -> None:
        self.dead_letters = dead_letters
        self.limit = limit

    def counts(self) -> dict[str, int]:
        return {f"{q}:dead": n for q in QUEUES if (n := len(self._peek(q)))}

    def dead(self) -> list[Job]:
        jobs = []
        for queue in QUEUES:
            for d in self._peek(queue):
                error = ": ".join(p for p in (d.reason, d.description) if p) or None
                when = d.enqueued_at.timestamp() if d.enqueued_at else 0.0
                jobs.append(Job(queue, d.message_id, {"raw": d.body}, d.delivery_count, error, when))
        return jobs

    def replay(self, message_id: str | None = None) -> int:
        if self.dead_letters is None:
            return 0
        return sum(self.dead_letters.replay(queue, message_id) for queue in QUEUES)

    def _peek(self, queue: str) -> list[Any]:
        return self.dead_letters.list(queue, self.limit) if self.dead_letters else []


@dataclass
class AzureOperations:
    settings: Settings
    services: MetaOnly
    jobs: DeadLetterJobs = field(default_factory=lambda: DeadLetterJobs(None))

    def close(self) -> None:
        """Clients are per process and closed with it; nothing to release per command."""


def operations(settings: Settings) -> AzureOperations:
    database = connections.once("cosmos", connections.cosmos_client).get_database_client(settings.cosmos_database)
    has_bus = connections.setting("SERVICEBUS") or connections.setting("SERVICEBUS__fullyQualifiedNamespace")
    dead_letters = DeadLetters(connections.once("servicebus", connections.servicebus_client)) if has_bus else None
    return AzureOperations(settings, MetaOnly(CosmosMetadataStore(database)), DeadLetterJobs(dead_letters))
