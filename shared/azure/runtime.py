"""``imgpipe run --backend azure``: the stages in-process against Blob Storage and Cosmos DB.

Blobs go to Blob Storage and records to Cosmos DB exactly as the Functions
app writes them; the messages between stages go through the in-process job
host in a temporary SQLite file (leases, retries with backoff, the one
settlement policy), so no Service Bus is needed. That queue holds no state
worth keeping: the records are the state, so a run picks up whatever a
previous run or the Functions app left unfinished. Usable for backfills and
for trying the app against the emulators without a Functions host.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.cosmos_metadata import CosmosMetadataStore
from shared.adapters.sqlite_db import connect
from shared.azure import connections
from shared.azure.bootstrap import bootstrap
from shared.azure.lock import run_lease
from shared.jobhost.queue import SqliteJobQueue
from shared.layout import IMAGE_CONTAINERS, Zone
from shared.ports import ObjectInfo, Skipped
from shared.services import Services
from shared.settings import Settings

JOBS_DB = "jobs.db"


@dataclass
class AzureRuntime:
    settings: Settings
    services: Services
    store: AzureBlobStore
    meta: CosmosMetadataStore
    jobs: SqliteJobQueue
    workdir: Path
    classifier_spec: str | None
    create_missing: bool
    owns_workdir: bool = True
    name: str = "azure"

    def lock(self, timeout: float) -> AbstractContextManager[None]:
        return run_lease(self.store.service, timeout)

    def prepare(self) -> None:
        """Both services answer, containers exist (created on emulators); a dead run's leases died with its temp dir.

        Storage answered for the run lease; one point read (1 RU) asks Cosmos DB, so an unreachable
        account stops the run here with one line, before any upload is touched.
        """
        if self.create_missing:
            self.store.ensure_containers(IMAGE_CONTAINERS)
        self.meta.get("0" * 32)

    def uploads(self, skipped: Skipped | None = None) -> Iterator[ObjectInfo]:
        return self.store.list(Zone.UPLOADS, skipped)

    def opener(self) -> Callable[[], AzureRuntime]:
        return AzureOpener(self.settings, self.classifier_spec, self.workdir)

    def usage(self) -> Counter[str]:
        """Cosmos DB request units and requests per operation kind (``cosmos_ru:read``, ``cosmos_calls:read``…)."""
        snapshot = self.meta.charges.snapshot()
        usage: Counter[str] = Counter({f"cosmos_ru:{op}": ru for op, ru in snapshot["ru"].items()})
        usage.update({f"cosmos_calls:{op}": n for op, n in snapshot["calls"].items()})
        return usage

    def close(self) -> None:
        self.jobs.conn.close()
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> AzureRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class AzureOpener:
    """Builds the same runtime in a spawned worker process, on the parent's job queue (picklable)."""

    settings: Settings
    classifier: str | None
    workdir: Path

    def __call__(self) -> AzureRuntime:
        return open_runtime(self.settings, classifier=self.classifier, workdir=self.workdir, create_missing=False)


def open_runtime(settings: Settings, *, classifier: str | None = None, create_missing: bool | None = None,
                 workdir: Path | None = None) -> AzureRuntime:
    """``create_missing`` (default: when ``COSMOS_KEY`` is set, i.e. an emulator or a key-based dev account)
    creates the blob and Cosmos containers; with a managed identity ``infra/`` has declared them."""
    if create_missing is None:
        create_missing = connections.setting("COSMOS_KEY") is not None
    owns = workdir is None
    workdir = workdir or Path(tempfile.mkdtemp(prefix="imgpipe-azure-run-"))
    jobs = SqliteJobQueue(connect(workdir / JOBS_DB))
    try:
        app = bootstrap(settings, queue=jobs, classifier=classifier, create_missing=create_missing)
    except BaseException:
        jobs.conn.close()
        if owns:
            shutil.rmtree(workdir, ignore_errors=True)
        raise
    return AzureRuntime(settings, app.services, app.store, app.meta, jobs, workdir, classifier, create_missing, owns)
