"""In-memory adapters: the fakes every unit test shares, subclassing the real ports."""

from __future__ import annotations

import copy
import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from shared.ports import (
    ConcurrencyError,
    Copied,
    CurrentUpload,
    JobQueue,
    MetadataStore,
    MissingObject,
    ObjectInfo,
    ObjectStore,
    RecordQuery,
    Skipped,
    VersionChanged,
)
from shared.records import Record


class MemoryObjectStore(ObjectStore):
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, datetime]] = {}
        self.writes = 0

    def put_upload(self, path: str, data: bytes, modified: datetime | None = None) -> ObjectInfo:
        self.objects[path] = (data, modified or datetime.now(UTC))
        return self.info(path)

    def get(self, path: str) -> bytes:
        if path not in self.objects:
            raise MissingObject(path)
        return self.objects[path][0]

    def _read(self, path: str, expect: ObjectInfo | None) -> bytes:
        data = self.get(path)
        if expect is not None and self.info(path).version != (expect.pin or expect.version):
            raise VersionChanged(path)
        return data

    def head(self, path: str, size: int, expect: ObjectInfo | None = None) -> bytes:
        return self._read(path, expect)[:size]

    def put(self, path: str, data: bytes) -> None:
        self.writes += 1
        self.objects[path] = (bytes(data), datetime.now(UTC))

    def copy(self, src: str, dst: str, expect: ObjectInfo | None = None) -> Copied:
        if dst in self.objects:
            return self.checksum(dst)
        data = self._read(src, expect)
        self.put(dst, data)
        return Copied(len(data), hashlib.sha256(data).hexdigest())

    def checksum(self, path: str, expect: ObjectInfo | None = None) -> Copied:
        data = self._read(path, expect)
        return Copied(len(data), hashlib.sha256(data).hexdigest())

    def exists(self, path: str) -> bool:
        return path in self.objects

    def info(self, path: str) -> ObjectInfo:
        data, modified = self.objects.get(path, (None, None))
        if data is None or modified is None:
            raise MissingObject(path)
        version = hashlib.sha256(data).hexdigest()[:16] + str(modified.timestamp())
        return ObjectInfo(path, len(data), modified, version)

    def delete(self, path: str) -> None:
        self.objects.pop(path, None)

    def list(self, prefix: str, skipped: Skipped | None = None) -> Iterator[ObjectInfo]:
        for path in sorted(self.objects):
            if path.startswith(prefix):
                yield self.info(path)


class MemoryMetadataStore(MetadataStore):
    def __init__(self) -> None:
        self.records: dict[str, tuple[dict[str, Any], str]] = {}
        self.checksums: dict[str, str] = {}
        self.names: dict[str, CurrentUpload] = {}
        self._versions = itertools.count(1)

    def get(self, upload_id: str) -> Record | None:
        if upload_id not in self.records:
            return None
        data, etag = self.records[upload_id]
        return Record.from_dict(copy.deepcopy(data), etag=etag)

    def create(self, record: Record) -> bool:
        if record.upload_id in self.records:
            return False
        self.put(record)
        return True

    def put(self, record: Record) -> None:
        current = self.records.get(record.upload_id)
        if record.etag is not None and current is not None and current[1] != record.etag:
            raise ConcurrencyError(record.upload_id)
        etag = str(next(self._versions))
        self.records[record.upload_id] = (copy.deepcopy(record.to_dict()), etag)
        record.etag = etag

    def claim_checksum(self, sha256: str, upload_id: str) -> str:
        return self.checksums.setdefault(sha256, upload_id)

    def get_current(self, upload_path: str) -> CurrentUpload | None:
        return self.names.get(upload_path)

    def set_current(self, pointer: CurrentUpload) -> bool:
        existing = self.names.get(pointer.upload_path)
        if (existing.etag if existing else None) != pointer.etag:
            return False
        self.names[pointer.upload_path] = replace(pointer, etag=str(next(self._versions)))
        return True

    def scan(self, query: RecordQuery) -> Iterator[Record]:
        found = sorted((r for r in (self.get(k) for k in self.records) if r and query.matches(r)),
                       key=lambda r: (r.upload_ts, r.upload_id))
        return iter(found[:query.limit] if query.limit else found)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for data, _ in self.records.values():
            out[data["status"]] = out.get(data["status"], 0) + 1
        return out


class RecordingQueue(JobQueue):
    """Records what was sent; drops a repeated message_id (as a queue drops a message already waiting)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self._seen: set[tuple[str, str]] = set()

    def send(self, queue: str, message_id: str, body: dict[str, Any]) -> bool:
        if (queue, message_id) in self._seen:
            return False
        self._seen.add((queue, message_id))
        self.sent.append((queue, message_id, body))
        return True

    def drain(self, queue: str) -> list[dict[str, Any]]:
        bodies = [b for q, _, b in self.sent if q == queue]
        self.sent = [m for m in self.sent if m[0] != queue]
        return bodies
