"""The job's three phases: ingest -> cleanse (+ duplicates, re-uploads) -> classify, each at most one MERGE.

The driver plans every phase from a snapshot of gold with the core's own
functions, exactly as ``imgpipe run`` decides: it lists ``uploads/`` with the
core store's rule (symlinks, special files, hidden folders and partial names
are skipped and counted), leaves out files still settling and finds uploads
whose bytes changed (``shared.intake.select_pending``), and after ingest copies
again or marks ``lost`` what lost its bronze copy (``recover_missing``). Only
work on image bytes goes to the executors, in one Spark job per phase that has
any (``imgpipe_spark.scatter``); a phase with nothing to do runs no job and
commits nothing, and a run with nothing to do never starts Spark.

Uploads are listed by the core, not by Spark's ``binaryFile`` source or Auto
Loader: those follow symlinks, hide names starting with ``.`` or ``_`` and
empty files, and present a file once, so a file still settling or changed in
place would never come back; the rules above are defined on the listing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgpipe_spark import executors, planning, schema
from imgpipe_spark.scatter import on_executors
from imgpipe_spark.snapshot import GoldSnapshot, NoQueue, rows_of
from imgpipe_spark.tables import GoldTable
from shared import naming
from shared.adapters.fs_store import FsObjectStore
from shared.adapters.fs_writes import probe
from shared.classifiers import NONE
from shared.imaging import cleanse_version
from shared.intake import select_pending
from shared.layout import Zone
from shared.records import WITH_SILVER, Status
from shared.report import RunReport
from shared.runner import RUN_SETTLE, recover_missing
from shared.services import Services
from shared.settings import Settings

log = logging.getLogger(__name__)
PHASES = ("ingest", "cleanse", "classify")


@dataclass(frozen=True)
class JobConfig:
    root: str  # folder with uploads/, bronze/, silver/: the data dir, or a Unity Catalog volume on Databricks
    settings: Settings = field(default_factory=Settings)
    classifier: str = "local"  # 'local', 'none' or a scoring URL, as for imgpipe run
    # Also cleanse again what older cleansing rules made (``cleanse_version``), as ``imgpipe reprocess`` does.
    reprocess: bool = False
    settle: float = RUN_SETTLE  # leave uploads changed in the last that-many seconds for the next run
    verify: bool = False  # hash every listed upload again (``imgpipe run --verify``)

    @property
    def classify_enabled(self) -> bool:
        return self.classifier != NONE


@dataclass
class JobReport(RunReport):
    """``imgpipe run``'s report (skipped, failed, verified, changed, recovered, lost counted the same way),
    plus what each phase merged and the Delta versions before and after."""

    cleansed: int = 0
    linked: int = 0
    classified: int = 0
    version_before: int | None = None
    version_after: int | None = None
    spark: bool = False  # whether this run needed the executors at all

    def unfinished(self, classify_enabled: bool) -> int:
        """Records not in a terminal state (``gold`` is one when nothing classifies)."""
        return self.counts.get(Status.BRONZE, 0) + (self.counts.get(Status.GOLD, 0) if classify_enabled else 0)

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in super().to_dict().items() if k not in ("resumed", "handled", "usage")}
        return data | {"cleansed": self.cleansed, "linked": self.linked, "classified": self.classified,
                       "version_before": self.version_before, "version_after": self.version_after,
                       "spark": self.spark}


class LazySpark:
    """The Spark session, started the first time a phase has work for the executors."""

    def __init__(self, start: Callable[[], Any], report: JobReport) -> None:
        self._start, self._report, self._session = start, report, None

    def __call__(self) -> Any:
        if self._session is None:
            self._session = self._start()
            self._report.spark = True
        return self._session


def run(spark: Callable[[], Any], table: GoldTable, config: JobConfig, phases: tuple[str, ...] = PHASES) -> JobReport:
    start = time.perf_counter()
    report = JobReport()
    session = LazySpark(spark, report)
    for zone in (Zone.BRONZE, Zone.SILVER):  # every output folder, before any work (imgpipe run does the same)
        probe(Path(config.root) / zone)
    FsObjectStore(Path(config.root)).sweep_partials((Zone.BRONZE, Zone.SILVER))  # temp files of a killed run
    table.ensure()
    report.version_before = table.version()
    if "ingest" in phases:
        ingest(session, table, config, report)
    if "cleanse" in phases:
        cleanse(session, table, config, report)
    if "classify" in phases and config.classify_enabled:
        classify(session, table, config, report)
    report.counts = GoldSnapshot(table.rows()).counts()
    report.version_after = table.version()
    report.seconds = time.perf_counter() - start
    return report


def _services(config: JobConfig, snapshot: GoldSnapshot) -> Services:
    return Services(store=FsObjectStore(Path(config.root)), meta=snapshot, queue=NoQueue(), settings=config.settings,
                    classify_enabled=False)


def ingest(spark: LazySpark, table: GoldTable, config: JobConfig, report: JobReport) -> None:
    """Pending uploads -> bronze + records on the executors; then recovery of missing bronze copies."""
    snapshot = GoldSnapshot(table.rows())
    svc = _services(config, snapshot)
    listed = svc.store.list(Zone.UPLOADS, report.skip)
    pending = select_pending(svc, listed, config.settle, config.verify, report)
    if pending:
        rows = [executors.upload_row(info, snapshot.get(naming.upload_id_for(info.path, info.version)))
                for info in pending]
        done = on_executors(spark(), executors.batch_of_uploads(rows), executors.ingest(config.root, config.settings),
                            executors.INGEST_OUT)
        for row in done.to_pylist():
            if row["_report"] is not None:
                part = executors.report_from(row["_report"])
                for path in part.skipped_paths:
                    log.info("skipped %s", path)
                report.absorb(part)
            elif not (row["_created"] and snapshot.knows(row["upload_id"])):  # created meanwhile: its record wins
                snapshot.adopt(schema.from_row(row))
    for _ in recover_missing(svc, report):  # recovers (or marks lost) as it goes; the records are in the snapshot
        pass
    table.merge(rows_of(snapshot.written()))


def cleanse(spark: LazySpark, table: GoldTable, config: JobConfig, report: JobReport) -> None:
    """Bronze records (and ones that failed before silver, or stale ones with ``reprocess``) -> silver + gold."""
    snapshot = GoldSnapshot(table.rows())
    version = cleanse_version(config.settings.limits)
    statuses = (Status.BRONZE, Status.FAILED, *(WITH_SILVER if config.reprocess else ()))
    todo = [r for r in snapshot.select("status", statuses) if planning.needs_cleansing(r, version, config.reprocess)]
    if not todo:
        return
    records = {r.upload_id: r for r in todo}
    for record in snapshot.select("upload_path", {r.upload_path for r in todo} - {""}):
        records.setdefault(record.upload_id, record)
    for record in snapshot.select("sha256", {r.sha256 for r in todo}):
        records.setdefault(record.upload_id, record)
    paths, shas = {r.upload_path for r in todo}, {r.sha256 for r in todo}
    plan = planning.plan(todo, [r for r in records.values() if r.upload_path in paths],
                         [r for r in records.values() if r.sha256 in shas], config.settings.limits)
    cleansed: dict[str, Any] = {}
    if plan.owners:
        done = on_executors(spark(), rows_of(plan.owners), executors.cleanse(config.root, config.settings),
                            schema.ARROW_SCHEMA)
        cleansed = {r.upload_id: r for r in map(schema.from_row, done.to_pylist())}
    linked = planning.link_duplicates(plan, cleansed)
    report.cleansed += len(cleansed)
    report.linked += len(linked)
    table.merge(rows_of([*plan.done.values(), *cleansed.values(), *linked]))


def classify(spark: LazySpark, table: GoldTable, config: JobConfig, report: JobReport) -> None:
    """Records at gold made by the current cleansing rules (and ones that failed in classify)."""
    version = cleanse_version(config.settings.limits)
    todo = [r for r in GoldSnapshot(table.rows()).select("status", (Status.GOLD, Status.FAILED))
            if (r.status == Status.GOLD and r.cleanse_version == version)
            or (r.status == Status.FAILED and r.cleansed_path)]
    if not todo:
        return
    done = on_executors(spark(), rows_of(todo), executors.classify(config.root, config.settings, config.classifier),
                        schema.ARROW_SCHEMA)
    report.classified += table.merge(done)
