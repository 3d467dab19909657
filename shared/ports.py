"""The ports: small abstract interfaces each runtime implements with adapters.

Stages only ever talk to these, which is what lets the same rules run on
folders + SQLite, on Blob Storage + Cosmos DB + Service Bus, and in tests on
in-memory fakes.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared import errors
from shared.records import Record


@dataclass(frozen=True)
class ObjectInfo:
    path: str
    size: int
    modified: datetime
    version: str  # etag in Azure, size+mtime locally: the upload id is derived from it
    # What a pinned read checks, so that it reads exactly the listed object: "" = the version (an etag
    # changes with every write); locally inode, size, mtime and ctime, which any rewrite, rename-over or touch changes.
    pin: str = ""
    # When anything about the object last changed (ctime locally); None where every write changes the version.
    changed: datetime | None = None


@dataclass(frozen=True)
class Copied:
    size: int
    sha256: str


class MissingObject(KeyError):
    """The object store has nothing at that path."""


class UnreadableObject(errors.InputFailure):
    """The object is listed but cannot be read: ``reason`` is unreadable, forbidden or archived."""


class NotAnInput(Exception):
    """What is at the path is not a regular object (a symlink or a FIFO swapped in after listing): skipped."""

    def __init__(self, path: str, kind: str) -> None:
        self.path, self.kind = path, kind
        super().__init__(f"{path}: {kind}")

    def __reduce__(self):
        return type(self), (self.path, self.kind)


class VersionChanged(Exception):
    """The object is no longer the version that was listed (rewritten, replaced, touched): list it again."""


class StoreUnavailable(errors.PipelineUnavailable):
    """The store cannot be reached or written at all (service unreachable, folder read-only): not one upload."""


# skipped(path, reason): what a listing leaves out, so that nothing is dropped without a word.
Skipped = Callable[[str, str], None]


class ObjectStore(abc.ABC):
    """Paths look like ``container/key``: a container in Azure, a folder locally.

    Reads of uploads are untrusted: ``expect`` pins a read to the listed object (``VersionChanged`` when
    it is not that object any more) and a store never follows a link out of its folders (``NotAnInput``).
    """

    @abc.abstractmethod
    def get(self, path: str) -> bytes: ...

    @abc.abstractmethod
    def head(self, path: str, size: int, expect: ObjectInfo | None = None) -> bytes:
        """The first ``size`` bytes, for sniffing the format without reading the whole object."""

    @abc.abstractmethod
    def put(self, path: str, data: bytes) -> None:
        """Write atomically; a reader never sees half an object."""

    @abc.abstractmethod
    def copy(self, src: str, dst: str, expect: ObjectInfo | None = None) -> Copied:
        """Stream src to dst unchanged, hashing on the way (bronze is byte-identical), from one read of src.

        ``dst`` is created only if absent: when it exists (a crash after the copy, or a concurrent run
        copying the same upload version to the same path) nothing is written again and its size and
        sha256 are returned. A failure to write ``dst`` that is not about the whole store raises
        ``InputFailure(write_failed)`` naming it.
        """

    @abc.abstractmethod
    def checksum(self, path: str, expect: ObjectInfo | None = None) -> Copied:
        """Size and sha256 of the object, from one read (content checks: ``imgpipe run --verify``)."""

    @abc.abstractmethod
    def exists(self, path: str) -> bool: ...

    @abc.abstractmethod
    def info(self, path: str) -> ObjectInfo: ...

    @abc.abstractmethod
    def delete(self, path: str) -> None: ...

    @abc.abstractmethod
    def list(self, prefix: str, skipped: Skipped | None = None) -> Iterator[ObjectInfo]:
        """Every regular object under ``prefix``; anything else is reported to ``skipped`` with a reason."""


class ConcurrencyError(Exception):
    """Someone else wrote the record since it was read (etag mismatch): read again."""


@dataclass(frozen=True)
class CurrentUpload:
    """The pointer from an upload path to its current record (see ``shared.stages.reupload``)."""

    upload_path: str
    upload_id: str
    previous: str | None = None  # the record this one replaced, kept so a re-run links the same pair
    etag: str | None = None


@dataclass(frozen=True)
class RecordQuery:
    """Which records to read, in ``(upload_ts, upload_id)`` order; every backend answers it the same way.

    ``after`` is keyset paging (the last ``(upload_ts, upload_id)`` seen), which
    every store can answer without OFFSET. ``current_only`` leaves out records a
    newer version of the same upload has superseded.
    """

    statuses: tuple[str, ...] = ()
    user_id: str | None = None
    reason: str | None = None
    category: str | None = None
    since: str | None = None  # upload_ts >= since (ISO 8601, as stored)
    current_only: bool = False
    after: tuple[str, str] | None = None
    limit: int | None = None

    def matches(self, record: Record) -> bool:
        """The query as a predicate: the in-memory store uses it, and tests check the others against it."""
        return ((not self.statuses or record.status in self.statuses)
                and (self.user_id is None or record.user_id == self.user_id)
                and (self.reason is None or record.reason == self.reason)
                and (self.category is None or record.category == self.category)
                and (self.since is None or record.upload_ts >= self.since)
                and (not self.current_only or record.superseded_by is None)
                and (self.after is None or (record.upload_ts, record.upload_id) > self.after))


class MetadataStore(abc.ABC):
    @abc.abstractmethod
    def get(self, upload_id: str) -> Record | None: ...

    @abc.abstractmethod
    def create(self, record: Record) -> bool:
        """Insert only if absent; False when a record with that id already exists."""

    @abc.abstractmethod
    def put(self, record: Record) -> None:
        """Upsert; when ``record.etag`` is set, only if it still matches (else ConcurrencyError)."""

    @abc.abstractmethod
    def claim_checksum(self, sha256: str, upload_id: str) -> str:
        """Conditionally create the claim for a checksum; return the upload that owns it.

        The first upload of given bytes owns them; later ones are duplicates of it.
        It is a point read/create, never a scan, and it is race-free: two concurrent
        claimants see the same owner.
        """

    @abc.abstractmethod
    def get_current(self, upload_path: str) -> CurrentUpload | None:
        """The pointer to the current record of an upload path (a point read)."""

    @abc.abstractmethod
    def set_current(self, pointer: CurrentUpload) -> bool:
        """Create the pointer (``etag`` None) or replace it if unchanged since read; False when someone was first."""

    @abc.abstractmethod
    def scan(self, query: RecordQuery) -> Iterator[Record]:
        """Records matching ``query``, streamed in ``(upload_ts, upload_id)`` order."""

    def find(self, status: str | None = None, limit: int | None = None) -> list[Record]:
        return list(self.scan(RecordQuery(statuses=(status,) if status else (), limit=limit)))

    @abc.abstractmethod
    def counts(self) -> dict[str, int]: ...


class JobQueue(abc.ABC):
    """The sending side of a queue; consumers belong to the runtime."""

    @abc.abstractmethod
    def send(self, queue: str, message_id: str, body: dict[str, Any]) -> bool:
        """Enqueue; ``message_id`` is the upload id. Consumers are idempotent, so a second copy is harmless.

        Returns False when the queue knows the same message is already waiting (nothing was added).
        """


@dataclass(frozen=True)
class Prediction:
    label: str
    category: str
    confidence: float
    labels: list[dict[str, Any]]
    moderation: dict[str, float]


@dataclass(frozen=True)
class Classification:
    model_version: str
    predictions: list[Prediction]


class Classifier(abc.ABC):
    # The model behind it, when known (an endpoint learns it from its first answer).
    model_version: str | None = None

    @abc.abstractmethod
    def classify(self, images: list[bytes]) -> Classification:
        """One prediction per image, in order; malformed answers raise TransientError."""
