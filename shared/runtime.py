"""The two protocols every runtime implements, so that one runner and one CLI serve them all.

``Runtime`` is what ``run`` needs: the services the stages use, the in-process
job host, the uploads to look at, a run lock, and a way to rebuild itself in
a worker process. ``Operations`` is what the operator commands need: the
records (through ``services``) and the dead-letter queue. The local runtime
(folders + SQLite), the Azure runtime (Blob Storage + Cosmos DB + Service Bus)
and the Spark job implement them side by side; none is built on another.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.errors import PipelineUnavailable
from shared.jobhost.queue import SqliteJobQueue
from shared.ports import ObjectInfo, Skipped
from shared.services import Services
from shared.settings import Settings


class AlreadyRunning(PipelineUnavailable):
    """Another run holds the run lock (a file lock locally, a blob lease in Azure)."""


class Unsupported(PipelineUnavailable):
    """The command or option has no meaning on this backend; the message says what to use instead."""


class Runtime(Protocol):
    name: str
    settings: Settings
    services: Services
    jobs: SqliteJobQueue

    def lock(self, timeout: float) -> AbstractContextManager[None]:
        """Hold the run lock; wait up to ``timeout`` seconds for another run, then raise ``AlreadyRunning``."""

    def prepare(self) -> None:
        """Check the pipeline can work (raise ``PipelineUnavailable`` if not) and sweep what a dead run left."""

    def uploads(self, skipped: Skipped | None = None) -> Iterator[ObjectInfo]:
        """Every object under ``uploads/``; what is not an input is reported to ``skipped`` with a reason."""

    def opener(self) -> Callable[[], Runtime]:
        """A picklable callable that builds this runtime again in a worker process."""

    def usage(self) -> Counter[str]:
        """Service usage counters of this process (e.g. Cosmos DB request units), summed over workers."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class DeadLetter:
    """A message in a dead-letter queue, the same shape on every backend."""

    queue: str
    message_id: str
    reason: str | None
    detail: str | None
    attempts: int
    dead_lettered_at: datetime | None
    body: str

    def to_dict(self) -> dict[str, Any]:
        return {"queue": self.queue, "message_id": self.message_id, "reason": self.reason, "detail": self.detail,
                "attempts": self.attempts, "body": self.body,
                "dead_lettered_at": self.dead_lettered_at.isoformat() if self.dead_lettered_at else None}


class DeadLetterQueue(Protocol):
    """What needs an operator: messages whose retries ran out and messages that could not be understood."""

    def counts(self) -> dict[str, int]:
        """Dead letters per queue."""

    def list(self, limit: int = 100) -> list[DeadLetter]: ...

    def replay(self, message_id: str | None = None) -> int:
        """Send dead letters (one by message id, or all) to be processed again; returns how many."""


class Operations(Protocol):
    """Records and dead letters of one backend, for the operator commands; use as a context manager."""

    name: str
    settings: Settings
    services: Services
    dead_letters: DeadLetterQueue

    def __enter__(self) -> Operations: ...

    def __exit__(self, *exc: object) -> None: ...
