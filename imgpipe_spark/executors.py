"""What runs on the executors: per partition, the core's functions over gold rows and the files.

Each function here returns a ``mapInArrow`` callable (Arrow batches of rows
in, Arrow batches of gold rows out) and is built from plain, picklable
arguments. The files are read and written through the core's folder store
(``FsObjectStore``) under the job's root, a local folder or a Unity Catalog
volume (``/Volumes/...``, a POSIX path on every node), so bronze and silver
get the same names, bytes and atomic writes as in the other runtimes.
Every record leaves in a state the core defines: bad input is ``rejected``
with its reason code, an error that outlives the retries is ``failed``.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from imgpipe_spark import schema
from shared import errors, gold, naming
from shared.adapters.fs_store import FsObjectStore, is_partial
from shared.classifiers import classifier_factory
from shared.formats import SNIFF_BYTES, sniff
from shared.layout import Queue, Zone
from shared.ports import Classifier, MissingObject, ObjectInfo, UnreadableObject
from shared.records import CLEANSED, RETRIES_EXHAUSTED, Record, iso, parse_iso, utcnow
from shared.settings import Settings
from shared.settlement import Verdict, run_isolated, settle
from shared.stages.cleanse import make_silver, oversized

Batches = Iterator[pa.RecordBatch]
UPLOAD_SCHEMA = pa.schema([("upload_path", pa.string()), ("upload_id", pa.string()), ("size", pa.int64()),
                           ("modified", pa.string()), ("version", pa.string())])
UPLOAD_SQL = "upload_path STRING, upload_id STRING, size BIGINT, modified STRING, version STRING"
ERROR_SCHEMA = pa.schema([("_error", pa.string())])
CLASSIFY_BATCH = 16


def _now() -> str:
    return iso(utcnow())


def upload_path_of(location: str, root: str) -> str | None:
    """``uploads/{user}/{file}`` from what a file source reports (``file:/…``, ``dbfs:/Volumes/…`` or a path)."""
    path = urlsplit(location).path if "://" in location or location.startswith(("file:", "dbfs:")) else location
    base = str(Path(root)).rstrip("/") + "/"
    if not path.startswith(base):
        return None
    rel = path[len(base):]
    return rel if rel.startswith(Zone.UPLOADS + "/") else None


def _upload_info(store: FsObjectStore, root: str, rel: str) -> ObjectInfo | None:
    """The core store's view of one upload; None for what ``imgpipe run`` would not list either."""
    if is_partial(rel.rsplit("/", 1)[-1]):
        return None  # still being written: taken by a later run
    try:
        if not stat.S_ISREG(os.lstat(Path(root, rel)).st_mode):
            return None  # no symlink out of the root, no FIFO that blocks a reader forever
        return store.info(rel)
    except (FileNotFoundError, MissingObject, ValueError):
        return None  # deleted since it was listed, or a path that escapes the root


def identify(root: str) -> Callable[[Batches], Batches]:
    """File locations -> (upload_path, upload_id, size, modified, version), the id exactly as ``imgpipe run``'s."""
    def run(batches: Batches) -> Batches:
        store = FsObjectStore(Path(root))
        for batch in batches:
            out = []
            for location in batch.column("path").to_pylist():
                rel = upload_path_of(location, root)
                info = _upload_info(store, root, rel) if rel else None
                if info is not None:
                    out.append({"upload_path": info.path, "upload_id": naming.upload_id_for(info.path, info.version),
                                "size": info.size, "modified": iso(info.modified), "version": info.version})
            yield pa.RecordBatch.from_pylist(out, schema=UPLOAD_SCHEMA)
    return run


def ingest(root: str) -> Callable[[Batches], Batches]:
    """New uploads -> byte-identical bronze copies (hashed while copying) and their ``bronze`` records."""
    def run(batches: Batches) -> Batches:
        store = FsObjectStore(Path(root))
        for batch in batches:
            out = []
            for row in batch.to_pylist():
                info = ObjectInfo(row["upload_path"], row["size"], parse_iso(row["modified"]), row["version"])
                try:
                    record = gold.new_record(info, row["upload_id"], sniff(store.head(info.path, SNIFF_BYTES)))
                    copied = store.copy(info.path, record.raw_path)
                except MissingObject:
                    continue  # deleted between listing and copying: nothing to keep
                except UnreadableObject as exc:  # no record: listed in the report, tried again next run
                    out.append({"upload_id": row["upload_id"], "upload_path": info.path, "_error": str(exc)})
                    continue
                gold.copied_to_bronze(record, info.path, copied, _now())
                out.append({**schema.to_row(record), "_error": None})
            yield schema.batch(out, ERROR_SCHEMA)
    return run


def settle_each(items: list[Record], handle: Callable[[list[Record]], object], settings: Settings,
                queue: str) -> None:
    """The core's settlement policy inside a task: retry with backoff, then ``failed`` (there is no DLQ here:
    the next run takes ``failed`` records again). ``run_isolated`` keeps one bad item from sinking a batch."""
    pending, limit = items, settings.retry.max_attempts
    for attempt in range(1, limit + 1):
        retry = []
        for item, error in run_isolated(handle, pending):
            outcome = settle(error, attempt, limit)
            if outcome.verdict is Verdict.RETRY:
                retry.append(item)
            elif outcome.verdict is Verdict.DEAD_LETTER:
                gold.mark_failed(item, queue, outcome.detail or "", _now(), outcome.reason or RETRIES_EXHAUSTED)
        if not retry:
            return
        time.sleep(settings.retry.delay(attempt))
        pending = retry


def _records(batches: Batches) -> Iterator[tuple[pa.RecordBatch, list[Record]]]:
    for batch in batches:
        yield batch, [schema.from_row(row) for row in batch.to_pylist()]


def cleanse(root: str, settings: Settings) -> Callable[[Batches], Batches]:
    """Records that own their bytes: bronze -> silver + gold fields, or ``rejected`` with the core's reason."""
    def one(store: FsObjectStore, record: Record) -> None:
        too_large = oversized(record, settings.limits)
        try:
            if too_large:
                raise too_large
            make_silver(store, record, settings.limits, utcnow)
        except errors.PermanentError as exc:
            gold.reject(record, exc, _now())

    def run(batches: Batches) -> Batches:
        store = FsObjectStore(Path(root))
        for _, records in _records(batches):
            for record in records:
                settle_each([record], lambda items: one(store, items[0]), settings, Queue.CLEANSE)
            yield schema.batch([schema.to_row(r) for r in records])
    return run


def link_duplicates(settings: Settings) -> Callable[[Batches], Batches]:
    """Records whose bytes another upload owns (``_original``: its gold row as JSON): share its silver."""
    def run(batches: Batches) -> Batches:
        import json

        for batch in batches:
            out = []
            for row in batch.to_pylist():
                record, original = schema.from_row(row), schema.from_row(json.loads(row["_original"]))
                if original.status in CLEANSED:
                    gold.link_duplicate(record, original, _now())
                else:  # the original failed: both are taken again by the next run
                    gold.mark_failed(record, Queue.CLEANSE,
                                     f"original upload {original.upload_id} not cleansed ({original.status})", _now())
                out.append(schema.to_row(record))
            yield schema.batch(out)
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
        for _, records in _records(batches):
            for chunk in _chunks(records, CLASSIFY_BATCH):
                settle_each(chunk, lambda items: score(store, classifier, items), settings, Queue.CLASSIFY)
            yield schema.batch([schema.to_row(r) for r in records])
    return run


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    return (items[i:i + size] for i in range(0, len(items), size))
