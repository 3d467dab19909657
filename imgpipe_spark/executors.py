"""What runs on the executors: per task, the core's functions over the rows the driver planned.

Each function here returns a ``mapInArrow`` callable (Arrow batches of rows
in, Arrow batches of gold rows out) built from plain, picklable arguments.
Files are read and written through the core's folder store (``FsObjectStore``)
under the job's root, a local folder or a Unity Catalog volume (``/Volumes/...``,
a POSIX path on every node): the same pinned, no-follow reads and atomic
writes as ``imgpipe run``, so bronze and silver get the same names and bytes.

Ingest runs the local runtime's own per-upload step (``shared.intake.take``)
against a snapshot of the rows it was sent: size first, one pinned descriptor
for sniff, copy and hash, a ``failed`` record with the reason code when an
upload cannot be taken in, and skips counted. Every record leaves in a state
the core defines: bad input ``rejected`` with its reason code, an error that
outlives the retries ``failed``.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from imgpipe_spark import schema
from imgpipe_spark.snapshot import GoldSnapshot, NoQueue
from shared import errors, gold
from shared.adapters.fs_store import FsObjectStore
from shared.classifiers import classifier_factory
from shared.intake import take
from shared.layout import Queue
from shared.ports import Classifier, MissingObject, ObjectInfo
from shared.records import RETRIES_EXHAUSTED, Record, iso, parse_iso, utcnow
from shared.report import RunReport
from shared.services import Services
from shared.settings import Settings
from shared.settlement import Verdict, run_isolated, settle
from shared.stages.cleanse import make_silver

Batches = Iterator[pa.RecordBatch]
# An upload as the driver listed it (``ObjectInfo``, pinned) and its record in gold if it has one (JSON).
UPLOAD_SCHEMA = pa.schema([("path", pa.string()), ("size", pa.int64()), ("modified", pa.string()),
                           ("version", pa.string()), ("pin", pa.string()), ("changed", pa.string()),
                           ("record", pa.string())])
# Ingest's output: gold rows, whether the task created each, and one row per task with its report (JSON).
INGEST_EXTRA = pa.schema([("_created", pa.bool_()), ("_report", pa.string())])
INGEST_OUT = pa.unify_schemas([schema.ARROW_SCHEMA, INGEST_EXTRA])
CLASSIFY_BATCH = 16


def _now() -> str:
    return iso(utcnow())


def upload_row(info: ObjectInfo, record: Record | None) -> dict[str, Any]:
    return {"path": info.path, "size": info.size, "modified": iso(info.modified), "version": info.version,
            "pin": info.pin, "changed": iso(info.changed) if info.changed else None,
            "record": json.dumps(schema.to_row(record)) if record else None}


def batch_of_uploads(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=UPLOAD_SCHEMA)


def _upload_info(row: dict[str, Any]) -> ObjectInfo:
    return ObjectInfo(row["path"], row["size"], parse_iso(row["modified"]), row["version"], row["pin"] or "",
                      parse_iso(row["changed"]) if row["changed"] else None)


def report_json(report: RunReport) -> str:
    return json.dumps({"ingested": report.ingested, "failed": report.failed, "skipped": report.skipped,
                       "skipped_paths": report.skipped_paths, "tried": sorted(report.tried)})


def report_from(text: str) -> RunReport:
    data = json.loads(text)
    return RunReport(ingested=data["ingested"], failed=Counter(data["failed"]), skipped=Counter(data["skipped"]),
                     skipped_paths=data["skipped_paths"], tried=set(data["tried"]))


def ingest(root: str, settings: Settings) -> Callable[[Batches], Batches]:
    """Listed uploads -> their records, exactly as ``imgpipe run`` takes each one in (``shared.intake.take``)."""
    def run(batches: Batches) -> Batches:
        rows = [row for batch in batches for row in batch.to_pylist()]
        known = [json.loads(row["record"]) for row in rows if row["record"]]
        meta = GoldSnapshot(pa.Table.from_batches([schema.batch(known)]))
        svc = Services(store=FsObjectStore(Path(root)), meta=meta, queue=NoQueue(), settings=settings,
                       classify_enabled=False)
        report = RunReport()
        for row in rows:
            take(svc, _upload_info(row), report)
        out = [{**schema.to_row(r), "_created": meta.created(r.upload_id), "_report": None} for r in meta.written()]
        out.append({"_report": report_json(report)})
        yield schema.batch(out, INGEST_EXTRA)
    return run


def settle_each(items: list[Record], handle: Callable[[list[Record]], object], settings: Settings,
                queue: str) -> None:
    """The core's settlement policy inside a task: retry with backoff, then ``failed`` (there is no DLQ here:
    the next run takes ``failed`` records again). ``run_isolated`` keeps one bad item from sinking a batch."""
    pending, limit = items, settings.retry.max_attempts
    for attempt in range(1, limit + 1):
        retry = []
        for item, error in run_isolated(handle, pending):
            if isinstance(error, errors.PipelineUnavailable):
                raise error  # not this record: the run stops and says why
            outcome = settle(error, attempt, limit)
            if outcome.verdict is Verdict.RETRY:
                retry.append(item)
            elif outcome.verdict is Verdict.DEAD_LETTER:
                gold.mark_failed(item, queue, outcome.detail or "", _now(), outcome.reason or RETRIES_EXHAUSTED)
        if not retry:
            return
        time.sleep(settings.retry.delay(attempt))
        pending = retry


def _records(batches: Batches) -> Iterator[list[Record]]:
    for batch in batches:
        yield [schema.from_row(row) for row in batch.to_pylist()]


def cleanse(root: str, settings: Settings) -> Callable[[Batches], Batches]:
    """Records that own their bytes: bronze -> silver + gold fields, or ``rejected`` with the core's reason."""
    def one(store: FsObjectStore, record: Record) -> None:
        try:
            make_silver(store, record, settings.limits, utcnow)
        except errors.PermanentError as exc:
            gold.reject(record, exc, _now())

    def run(batches: Batches) -> Batches:
        store = FsObjectStore(Path(root))
        for records in _records(batches):
            for record in records:
                settle_each([record], lambda items: one(store, items[0]), settings, Queue.CLEANSE)
            yield schema.batch([schema.to_row(r) for r in records])
    return run


def classify(root: str, settings: Settings, spec: str) -> Callable[[Batches], Batches]:
    """Records at ``gold`` -> a prediction each, in batches of 16; the model loads once per Python worker."""
    def score(store: FsObjectStore, classifier: Classifier, records: list[Record]) -> None:
        images = []
        for record in records:
            try:
                images.append(store.get(record.cleansed_path or ""))
            except MissingObject as exc:
                raise errors.TransientError(f"silver object {record.cleansed_path} is missing") from exc
        try:
            result = classifier.classify(images)
        except errors.PermanentError as exc:
            if len(records) > 1:
                raise  # run_isolated scores each alone
            gold.reject(records[0], exc, _now(), lineage=False)
            return
        if len(result.predictions) != len(records):
            raise errors.TransientError(f"classifier returned {len(result.predictions)} predictions "
                                        f"for {len(records)}")
        for record, prediction in zip(records, result.predictions, strict=True):
            gold.apply_prediction(record, result.model_version, prediction, settings.confidence_threshold, _now())

    def run(batches: Batches) -> Batches:
        store = FsObjectStore(Path(root))
        factory = classifier_factory(spec, key=lambda: os.environ.get("ML_ENDPOINT_KEY") or None)
        if factory is None:
            raise ValueError("classify phase without a classifier")
        classifier = factory()
        for records in _records(batches):
            for chunk in _chunks(records, CLASSIFY_BATCH):
                settle_each(chunk, lambda items: score(store, classifier, items), settings, Queue.CLASSIFY)
            yield schema.batch([schema.to_row(r) for r in records])
    return run


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    return (items[i:i + size] for i in range(0, len(items), size))
