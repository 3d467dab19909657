"""Gold as the core's stages see it for one phase of the job: a ``MetadataStore`` over rows read once.

The job calls the core's own intake, ingest and recovery functions
(``shared.intake``, ``shared.stages``, ``shared.runner.recover_missing``), and
they talk to a metadata store. Here that store is a snapshot of the gold table
(Arrow rows, each turned into a ``Record`` only when asked for) plus the
records written since, kept aside for the phase's one MERGE. The driver holds
one over the whole table; each executor task one over the rows it was sent.

Etags behave as in the other stores (a put with a stale etag raises
``ConcurrencyError``), so the stages' conditional writes mean the same here.
Checksum claims and re-upload pointers are not kept: the job decides both for
the whole batch on the driver (``imgpipe_spark.pipeline``), so a stage that
needs them is not run against a snapshot.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from imgpipe_spark import schema
from shared.ports import ConcurrencyError, CurrentUpload, JobQueue, MetadataStore, RecordQuery
from shared.records import Record


class GoldSnapshot(MetadataStore):
    def __init__(self, rows: pa.Table | None = None) -> None:
        self._rows = rows if rows is not None else schema.ARROW_SCHEMA.empty_table()
        self._index = {uid: i for i, uid in enumerate(self._rows.column("upload_id").to_pylist())}
        self._written: dict[str, Record] = {}
        self._created: set[str] = set()
        self._etags: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._index.keys() | self._written.keys())

    def _read(self, upload_id: str) -> Record | None:
        if upload_id in self._written:
            return copy.deepcopy(self._written[upload_id])
        at = self._index.get(upload_id)
        return None if at is None else schema.from_row(self._rows.slice(at, 1).to_pylist()[0])

    def get(self, upload_id: str) -> Record | None:
        record = self._read(upload_id)
        if record is not None:
            record.etag = str(self._etags.get(upload_id, 0))
        return record

    def create(self, record: Record) -> bool:
        if record.upload_id in self._index or record.upload_id in self._written:
            return False
        self.put(record)
        self._created.add(record.upload_id)
        return True

    def put(self, record: Record) -> None:
        version = self._etags.get(record.upload_id, 0)
        known = record.upload_id in self._index or record.upload_id in self._written
        if record.etag is not None and known and record.etag != str(version):
            raise ConcurrencyError(record.upload_id)
        self._etags[record.upload_id] = version + 1
        record.etag = str(version + 1)
        self._written[record.upload_id] = copy.deepcopy(record)

    def adopt(self, record: Record) -> None:
        """Take a record an executor wrote (unconditionally: the driver owns the table during the phase)."""
        self._written[record.upload_id] = copy.deepcopy(record)
        self._etags[record.upload_id] = self._etags.get(record.upload_id, 0) + 1

    def knows(self, upload_id: str) -> bool:
        return upload_id in self._index or upload_id in self._written

    def created(self, upload_id: str) -> bool:
        return upload_id in self._created

    def written(self) -> list[Record]:
        return [copy.deepcopy(r) for r in self._written.values()]

    def claim_checksum(self, sha256: str, upload_id: str) -> str:
        raise NotImplementedError("the bulk job decides which upload owns some bytes for the whole batch")

    def get_current(self, upload_path: str) -> CurrentUpload | None:
        raise NotImplementedError("the bulk job links re-uploads for the whole batch (link_versions)")

    def set_current(self, pointer: CurrentUpload) -> bool:
        raise NotImplementedError("the bulk job links re-uploads for the whole batch (link_versions)")

    def select(self, column: str, values: Iterable[Any]) -> list[Record]:
        """Every record whose ``column`` is one of ``values`` (a vectorized filter, then only those rows)."""
        wanted = list(set(values))
        if not wanted:
            return []
        mask = pc.is_in(self._rows.column(column), value_set=pa.array(wanted, self._rows.schema.field(column).type))
        ids = self._rows.filter(mask).column("upload_id").to_pylist()
        found = {uid: self._read(uid) for uid in ids if uid not in self._written}
        found.update({uid: copy.deepcopy(r) for uid, r in self._written.items() if getattr(r, column) in wanted})
        return [r for r in found.values() if r is not None]

    def scan(self, query: RecordQuery) -> Iterator[Record]:
        if query.statuses:
            candidates = self.select("status", query.statuses)
        else:
            candidates = [r for r in (self._read(uid) for uid in self._index.keys() | self._written.keys()) if r]
        found = sorted((r for r in candidates if query.matches(r)), key=lambda r: (r.upload_ts, r.upload_id))
        for record in found[:query.limit] if query.limit else found:
            record.etag = str(self._etags.get(record.upload_id, 0))
            yield record

    def counts(self) -> dict[str, int]:
        statuses = dict(zip(self._rows.column("upload_id").to_pylist(), self._rows.column("status").to_pylist(),
                            strict=True))
        statuses.update({uid: r.status for uid, r in self._written.items()})
        out: dict[str, int] = {}
        for status in statuses.values():
            out[status] = out.get(status, 0) + 1
        return out


class NoQueue(JobQueue):
    """The stages send a message when a record is ready for the next stage; in the job the next phase
    selects its records by status in gold instead, so there is nowhere for a message to go."""

    def send(self, queue: str, message_id: str, body: dict[str, Any]) -> bool:
        return False


def rows_of(records: Iterable[Record]) -> pa.Table:
    return pa.Table.from_batches([schema.batch([schema.to_row(r) for r in records])])
