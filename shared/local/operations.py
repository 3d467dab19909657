"""What the operator commands see of the local runtime: SQLite records and the jobs table's dead letters."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.jobhost.queue import SqliteJobQueue
from shared.local.bootstrap import LocalRuntime, bootstrap
from shared.runtime import DeadLetter
from shared.settings import Settings


class LocalDeadLetters:
    """The jobs table's dead jobs, as the ``DeadLetterQueue`` protocol."""

    def __init__(self, jobs: SqliteJobQueue) -> None:
        self.jobs = jobs

    def counts(self) -> dict[str, int]:
        return {key.split(":")[0]: n for key, n in self.jobs.counts().items() if key.endswith(":dead")}

    def list(self, limit: int = 100) -> list[DeadLetter]:
        return [DeadLetter(j.queue, j.message_id, j.dead_reason, j.last_error, j.attempts,
                           datetime.fromtimestamp(j.updated_at, UTC) if j.updated_at else None, _body(j.body))
                for j in self.jobs.dead(limit)]

    def replay(self, message_id: str | None = None) -> int:
        """Arm the jobs again; the next ``imgpipe run`` processes them."""
        return self.jobs.replay(message_id)


class LocalOperations:
    name = "local"

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.services = runtime.services
        self.dead_letters = LocalDeadLetters(runtime.jobs)

    def __enter__(self) -> LocalOperations:
        return self

    def __exit__(self, *exc: object) -> None:
        self.runtime.close()


def operations(settings: Settings, classifier: str | None = "none", read_only: bool = False) -> LocalOperations:
    return LocalOperations(bootstrap(settings, classifier=classifier, read_only=read_only))


def _body(body: dict) -> str:
    import json

    return json.dumps(body)
