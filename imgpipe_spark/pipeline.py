"""The job's three phases on the driver: ingest -> cleanse (+ duplicates) -> classify, each a MERGE into gold.

Each phase selects the rows it has work for, hands them to the executors
(``imgpipe_spark.executors``) and merges the changed rows back on
``upload_id``. A phase with nothing to do commits nothing, so a second run
over the same inputs leaves the Delta table at the same version: the only
work of the next run is a new upload, a record that has not reached the end
of its stage, or a ``failed`` one (the job's dead-letter replay is the next run).

Dedup across a batch, decided here and nowhere else: the owner of some bytes
is the gold row that already owns that sha256 (cleansed, not a duplicate),
else the first upload of the batch with it by ``(upload_ts, upload_id)`` —
the order every runtime scans records in. The others become ``duplicate_of``
it through the core's ``link_duplicate``, after the owner is cleansed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from imgpipe_spark import discovery, executors, schema
from imgpipe_spark.session import on_databricks, parallelism
from imgpipe_spark.tables import GoldTable
from shared.classifiers import NONE
from shared.imaging import cleanse_version
from shared.records import CLEANSED, WITH_SILVER, Status
from shared.settings import Settings

PHASES = ("ingest", "cleanse", "classify")


@dataclass(frozen=True)
class JobConfig:
    root: str  # folder with uploads/, bronze/, silver/: the data dir, or a Unity Catalog volume on Databricks
    settings: Settings = field(default_factory=Settings)
    classifier: str = "local"  # 'local', 'none' or a scoring URL, as for imgpipe run
    checkpoint: str | None = None  # Auto Loader's checkpoint (Databricks); None: a batch read of binaryFile
    # Also cleanse again what older cleansing rules made (``cleanse_version``), as ``imgpipe reprocess`` does.
    reprocess: bool = False

    @property
    def classify_enabled(self) -> bool:
        return self.classifier != NONE


@dataclass
class JobReport:
    ingested: int = 0
    cleansed: int = 0
    linked: int = 0
    classified: int = 0
    unreadable: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    version_before: int | None = None
    version_after: int | None = None
    seconds: float = 0.0

    def unfinished(self, classify_enabled: bool) -> int:
        """Records not in a terminal state (``gold`` is one when nothing classifies)."""
        return self.counts.get(Status.BRONZE, 0) + (self.counts.get(Status.GOLD, 0) if classify_enabled else 0)

    def to_dict(self) -> dict[str, Any]:
        return {"ingested": self.ingested, "cleansed": self.cleansed, "linked": self.linked,
                "classified": self.classified, "unreadable": self.unreadable, "counts": self.counts,
                "version_before": self.version_before, "version_after": self.version_after,
                "seconds": round(self.seconds, 3)}


def run(spark: Any, table: GoldTable, config: JobConfig, phases: tuple[str, ...] = PHASES) -> JobReport:
    start = time.perf_counter()
    report = JobReport()
    table.ensure(spark)
    report.version_before = table.version(spark)
    if "ingest" in phases:
        ingest(spark, table, config, report)
    if "cleanse" in phases:
        cleanse(spark, table, config, report)
    if "classify" in phases and config.classify_enabled:
        classify(spark, table, config, report)
    report.counts = {row["status"]: row["count"] for row in table.read(spark).groupBy("status").count().collect()}
    report.version_after = table.version(spark)
    report.seconds = time.perf_counter() - start
    return report


ROWS_PER_TASK = 64  # a few seconds of image work: short enough for the autoscaler to spread and rebalance


def _spread(spark: Any, rows: Any) -> Any:
    """Round-robin into tasks of ~64 rows, at least two per core: image work per row is large, a gold read
    may be one file, and the tasks must outnumber the cores of a cluster the autoscaler is still growing."""
    return rows.repartition(max(parallelism(spark) * 2, -(-rows.count() // ROWS_PER_TASK)))


def ingest(spark: Any, table: GoldTable, config: JobConfig, report: JobReport) -> None:
    def handle(paths: Any) -> None:
        found = paths.mapInArrow(executors.identify(config.root), executors.UPLOAD_SQL)
        known = table.read(spark).select("upload_id")
        new = _spread(spark, found.join(known, "upload_id", "left_anti").dropDuplicates(["upload_id"]))
        rows = new.mapInArrow(executors.ingest(config.root), f"{schema.SQL_SCHEMA}, _error STRING").persist()
        try:
            report.unreadable += [r["_error"] for r in rows.where("_error IS NOT NULL").select("_error").collect()]
            report.ingested += table.merge(spark, rows.where("_error IS NULL"))
        finally:
            rows.unpersist()

    if on_databricks() and config.checkpoint:
        discovery.auto_loader(spark, config.root, config.checkpoint, handle)
        unseen = discovery.unseen(spark, config.root)
        if unseen is not None:
            handle(unseen)
    else:
        unseen = discovery.unseen(spark, config.root)
        listed = discovery.listed(spark, config.root)
        handle(listed if unseen is None else listed.unionByName(unseen))


def _cleansed_statuses() -> str:
    return ", ".join(f"'{s}'" for s in sorted(CLEANSED))


def cleanse(spark: Any, table: GoldTable, config: JobConfig, report: JobReport) -> None:
    """Bronze records (and ones that failed before silver, or stale ones with ``reprocess``): owners first,
    then their duplicates. A stale owner stays the owner of its bytes; its duplicates are linked again."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    current = table.read(spark)
    selected = f"status = '{Status.BRONZE}' OR (status = '{Status.FAILED}' AND cleansed_path IS NULL)"
    if config.reprocess:
        with_silver = ", ".join(f"'{s}'" for s in sorted(WITH_SILVER))
        selected += (f" OR (status IN ({with_silver}) "
                     f"AND cleanse_version != '{cleanse_version(config.settings.limits)}')")
    todo = current.where(selected)
    owners = (current.where(f"status IN ({_cleansed_statuses()}) AND duplicate_of IS NULL")
              .groupBy("sha256").agg(F.min(F.struct("upload_ts", "upload_id"))["upload_id"].alias("_owner")))
    first = F.first("upload_id").over(Window.partitionBy("sha256").orderBy("upload_ts", "upload_id"))
    planned = (todo.join(owners, "sha256", "left")
               .withColumn("_owner", F.coalesce("_owner", first)).persist())
    try:
        own = _spread(spark, planned.where("_owner = upload_id").select(*schema.NAMES))
        done = own.mapInArrow(executors.cleanse(config.root, config.settings), schema.SQL_SCHEMA).persist()
        try:
            report.cleansed += table.merge(spark, done)
        finally:
            done.unpersist()
        originals = table.read(spark).select(F.col("upload_id").alias("_owner"),
                                             F.to_json(F.struct(*schema.NAMES)).alias("_original"))
        dups = _spread(spark, planned.where("_owner != upload_id").join(originals, "_owner")
                       .select(*schema.NAMES, "_original"))
        linked = dups.mapInArrow(executors.link_duplicates(config.settings), schema.SQL_SCHEMA).persist()
        try:
            report.linked += table.merge(spark, linked)
        finally:
            linked.unpersist()
    finally:
        planned.unpersist()


def classify(spark: Any, table: GoldTable, config: JobConfig, report: JobReport) -> None:
    """Records at gold made by the current cleansing rules (and ones that failed in classify)."""
    version = cleanse_version(config.settings.limits)
    todo = table.read(spark).where(
        f"(status = '{Status.GOLD}' AND cleanse_version = '{version}') "
        f"OR (status = '{Status.FAILED}' AND cleansed_path IS NOT NULL)")
    scored = (_spread(spark, todo)
              .mapInArrow(executors.classify(config.root, config.settings, config.classifier), schema.SQL_SCHEMA)
              .persist())
    try:
        report.classified += table.merge(spark, scored)
    finally:
        scored.unpersist()
