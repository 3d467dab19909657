"""The ports: small abstract interfaces each runtime implements with adapters.

Stages only ever talk to these, which is what lets the same rules run on
folders + SQLite, on Blob Storage + Cosmos DB + Service Bus, and in tests on
in-memory fakes.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.records import Record


@dataclass(frozen=True)
class ObjectInfo:
    path: str
    size: int
    modified: datetime
    version: str  # etag in Azure, size+mtime locally: changes when the object does


@dataclass(frozen=True)
class Copied:
    size: int
    sha256: str


class MissingObject(KeyError):
    """The object store has nothing at that path."""


class UnreadableObject(Exception):
    """The object exists but cannot be read (permissions, I/O error): skip it, report it, keep going."""


class ObjectStore(abc.ABC):
    """Paths look like ``container/key``: a container in Azure, a folder locally."""

    @abc.abstractmethod
    def get(self, path: str) -> bytes: ...

    @abc.abstractmethod
    def head(self, path: str, size: int) -> bytes:
        """The first ``size`` bytes, for sniffing the format without reading the whole object."""

    @abc.abstractmethod
    def put(self, path: str, data: bytes) -> None:
        """Write atomically; a reader never sees half an object."""

    @abc.abstractmethod
    def copy(self, src: str, dst: str) -> Copied:
        """Stream src to dst unchanged, hashing on the way (bronze is byte-identical)."""

    @abc.abstractmethod
    def exists(self, path: str) -> bool: ...

    @abc.abstractmethod
    def info(self, path: str) -> ObjectInfo: ...

    @abc.abstractmethod
    def delete(self, path: str) -> None: ...

    @abc.abstractmethod
    def list(self, prefix: str) -> Iterator[ObjectInfo]: ...


class ConcurrencyError(Exception):
    """Someone else wrote the record since it was read (etag mismatch): read again."""


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
    def find(self, status: str | None = None, limit: int | None = None) -> list[Record]: ...

    @abc.abstractmethod
    def counts(self) -> dict[str, int]: ...


class JobQueue(abc.ABC):
    """The sending side of a queue; consumers belong to the runtime."""

    @abc.abstractmethod
    def send(self, queue: str, message_id: str, body: dict[str, Any]) -> None:
        """Send at most once per message_id within the dedup window (idempotent enqueue)."""


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
