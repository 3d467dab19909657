"""In-memory adapters: the fakes every unit test shares, subclassing the real ports."""

from __future__ import annotations

import copy
import hashlib
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from shared.ports import ConcurrencyError, Copied, JobQueue, MetadataStore, MissingObject, ObjectInfo, ObjectStore
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

    def head(self, path: str, size: int) -> bytes:
        return self.get(path)[:size]

    def put(self, path: str, data: bytes) -> None:
        self.writes += 1
        self.objects[path] = (bytes(data), datetime.now(UTC))

    def copy(self, src: str, dst: str) -> Copied:
        data = self.get(src)
        self.put(dst, data)
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

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        for path in sorted(self.objects):
            if path.startswith(prefix):
                yield self.info(path)


class MemoryMetadataStore(MetadataStore):
    def __init__(self) -> None:
        self.records: dict[str, tuple[dict[str, Any], str]] = {}
        self.checksums: dict[str, str] = {}
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

    def find(self, status: str | None = None, limit: int | None = None) -> list[Record]:
        found = [r for r in (self.get(k) for k in sorted(self.records)) if r and (status is None or r.status == status)]
        return found[:limit] if limit else found

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for data, _ in self.records.values():
            out[data["status"]] = out.get(data["status"], 0) + 1
        return out


class RecordingQueue(JobQueue):
    """Records what was sent; drops a repeated message_id like Service Bus duplicate detection."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self._seen: set[tuple[str, str]] = set()

    def send(self, queue: str, message_id: str, body: dict[str, Any]) -> None:
        if (queue, message_id) in self._seen:
            return
        self._seen.add((queue, message_id))
        self.sent.append((queue, message_id, body))

    def drain(self, queue: str) -> list[dict[str, Any]]:
        bodies = [b for q, _, b in self.sent if q == queue]
        self.sent = [m for m in self.sent if m[0] != queue]
        return bodies
