"""The local runtime's one bootstrap: folders + SQLite + in-process queues and model.

Everything is built on call, never at import, and every part can be
overridden (tests pass fakes or fault-injecting wrappers), in the style of
cosmicpython's ``bootstrap()``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.adapters.fs_store import FsObjectStore
from shared.adapters.sqlite_db import connect
from shared.adapters.sqlite_metadata import SqliteMetadataStore
from shared.local.jobs import SqliteJobQueue
from shared.ports import Classifier, MetadataStore, ObjectStore
from shared.services import Services
from shared.settings import ARCHIVE, BRONZE, SILVER, UPLOADS, Settings

GOLD_DIR = "gold"
DB_NAME = "imgpipe.db"
FOLDERS = (UPLOADS, BRONZE, SILVER, GOLD_DIR, ARCHIVE)


class PipelineUnavailable(Exception):
    """The pipeline itself cannot work (unwritable data dir, locked database): exit non-zero."""


@dataclass
class LocalRuntime:
    settings: Settings
    services: Services
    jobs: SqliteJobQueue
    store: FsObjectStore
    conn: sqlite3.Connection

    def close(self) -> None:
        self.conn.close()


def default_classifier(spec: str | None) -> Callable[[], Classifier] | None:
    """``None``/"local": the in-process model; a URL: an Azure ML endpoint; "none": no classification."""
    if spec in (None, "", "local"):
        def build_local() -> Classifier:
            from shared.adapters.inprocess_classifier import InProcessClassifier

            return InProcessClassifier()
        return build_local
    if spec == "none":
        return None

    def build_endpoint() -> Classifier:
        import os

        from shared.adapters.endpoint_classifier import EndpointClassifier

        return EndpointClassifier(spec, key=os.environ.get("ML_ENDPOINT_KEY") or None)
    return build_endpoint


def prepare_data_dir(data_dir: Path) -> Path:
    try:
        for name in FOLDERS:
            (data_dir / name).mkdir(parents=True, exist_ok=True)
        probe = data_dir / GOLD_DIR / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise PipelineUnavailable(f"data dir {data_dir} is not writable: {exc.strerror or exc}") from exc
    return data_dir


def bootstrap(
    settings: Settings | None = None,
    *,
    classifier: str | None = None,
    store: ObjectStore | None = None,
    meta: MetadataStore | None = None,
    classifier_factory: Callable[[], Classifier] | None = None,
) -> LocalRuntime:
    settings = settings or Settings.from_env()
    data_dir = prepare_data_dir(Path(settings.data_dir))
    try:
        conn = connect(data_dir / GOLD_DIR / DB_NAME)
    except sqlite3.OperationalError as exc:
        raise PipelineUnavailable(f"metadata database unavailable: {exc}") from exc
    fs = FsObjectStore(data_dir)
    jobs = SqliteJobQueue(conn)
    factory = classifier_factory or default_classifier(classifier)
    services = Services(
        store=store or fs,
        meta=meta or SqliteMetadataStore(conn),
        queue=jobs,
        settings=settings,
        classifier_factory=factory,
        classify_enabled=factory is not None,
    )
    return LocalRuntime(settings, services, jobs, fs, conn)
