"""The local runtime's one bootstrap: folders + SQLite + in-process queues and model.

Everything is built on call, never at import, and every part can be
overridden (tests pass fakes or fault-injecting wrappers), in the style of
cosmicpython's ``bootstrap()``. ``LocalRuntime`` implements the ``Runtime``
protocol the one runner drives.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from shared.adapters.fs_store import FsObjectStore
from shared.adapters.fs_writes import probe
from shared.adapters.sqlite_metadata import SqliteMetadataStore
from shared.classifiers import classifier_factory as factory_for
from shared.errors import PipelineUnavailable
from shared.jobhost.queue import SqliteJobQueue
from shared.layout import Zone
from shared.local.database import DB_NAME, GOLD_DIR, db_path, open_database, open_read_only, quick_check
from shared.local.lock import run_lock
from shared.ports import Classifier, MetadataStore, ObjectInfo, ObjectStore, Skipped
from shared.services import Services
from shared.settings import Settings

FOLDERS = (Zone.UPLOADS, Zone.BRONZE, Zone.SILVER, GOLD_DIR, Zone.ARCHIVE)
# Where a run writes: each must take a new file, or the run stops before any job fails one by one.
OUTPUTS = (Zone.BRONZE, Zone.SILVER, Zone.ARCHIVE, GOLD_DIR)
__all__ = ["DB_NAME", "GOLD_DIR", "LocalRuntime", "bootstrap", "prepare_data_dir"]


@dataclass
class LocalRuntime:
    settings: Settings
    services: Services
    jobs: SqliteJobQueue
    store: FsObjectStore
    conn: sqlite3.Connection
    classifier_spec: str | None = None
    name: str = "local"

    def lock(self, timeout: float) -> AbstractContextManager[None]:
        return run_lock(self.settings.data_dir, timeout=timeout)

    def prepare(self) -> None:
        """We hold the run lock: check every output folder and the database, then clear what a dead run left."""
        prepare_data_dir(self.settings.data_dir)
        for name in OUTPUTS:
            probe(Path(self.settings.data_dir) / name)
        quick_check(self.conn, db_path(self.settings.data_dir))
        self.jobs.release_expired()
        self.store.sweep_partials((Zone.BRONZE, Zone.SILVER, Zone.ARCHIVE))

    def uploads(self, skipped: Skipped | None = None) -> Iterator[ObjectInfo]:
        return self.store.list(Zone.UPLOADS, skipped)

    def opener(self) -> Callable[[], LocalRuntime]:
        return LocalOpener(self.settings, self.classifier_spec)

    def usage(self) -> Counter[str]:
        return Counter()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> LocalRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class LocalOpener:
    """Builds the same local runtime in a spawned worker process (picklable)."""

    settings: Settings
    classifier: str | None

    def __call__(self) -> LocalRuntime:
        return bootstrap(self.settings, classifier=self.classifier)


def prepare_data_dir(data_dir: Path) -> Path:
    """Create the folders of a data dir; ``PipelineUnavailable`` naming the one that cannot be made or written."""
    try:
        for name in FOLDERS:
            (data_dir / name).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PipelineUnavailable(f"data dir {data_dir} is not writable: {exc.strerror or exc}") from exc
    probe(data_dir / GOLD_DIR)
    return data_dir


def bootstrap(
    settings: Settings | None = None,
    *,
    classifier: str | None = None,
    store: ObjectStore | None = None,
    meta: MetadataStore | None = None,
    classifier_factory: Callable[[], Classifier] | None = None,
    read_only: bool = False,
) -> LocalRuntime:
    """``classifier`` as the CLI's ``--classifier``: 'local' (default), 'none' or a scoring URL.

    ``read_only``: for commands that only read; they work on a data dir they cannot write.
    """
    settings = settings or Settings.from_env()
    data_dir = Path(settings.data_dir)
    if read_only and db_path(data_dir).is_file() and not _writable(data_dir):
        conn = open_read_only(data_dir)
    else:
        prepare_data_dir(data_dir)
        conn = open_database(data_dir)
    fs = FsObjectStore(data_dir)
    jobs = SqliteJobQueue(conn)
    factory = classifier_factory or factory_for(classifier, key=_endpoint_key, settings=settings.endpoint)
    services = Services(
        store=store or fs,
        meta=meta or SqliteMetadataStore(conn),
        queue=jobs,
        settings=settings,
        classifier_factory=factory,
        classify_enabled=factory is not None,
    )
    return LocalRuntime(settings, services, jobs, fs, conn, classifier)


def _writable(data_dir: Path) -> bool:
    """Can this process create files in gold/ (SQLite's -wal and -shm files)? Tried, not guessed from modes."""
    try:
        probe(data_dir / GOLD_DIR)
    except (PipelineUnavailable, OSError):
        return False
    return True


def _endpoint_key() -> str | None:
    import os

    return os.environ.get("ML_ENDPOINT_KEY") or None
