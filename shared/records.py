"""The gold record: one per upload, the same shape in SQLite, Cosmos DB and JSON.

Field names are snake_case everywhere (Python, SQLite, Cosmos items, CLI
``--json``) so a record can move between runtimes without a mapping layer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Where a record stands. A record moves forward only (a replay or a rule change moves it on again).

    Every status is set by some stage: ``bronze`` by ingest; ``gold``,
    ``duplicate`` and ``rejected`` by cleanse; ``classified`` and
    ``needs_review`` by classify (or a reviewer); ``failed`` when retries ran out or the upload
    could not be read; ``lost`` when the bronze copy is gone and its upload no longer exists.
    """

    BRONZE = "bronze"
    GOLD = "gold"
    CLASSIFIED = "classified"
    NEEDS_REVIEW = "needs_review"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    FAILED = "failed"
    LOST = "lost"


STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
# Terminal states. ``gold`` is terminal too when classification is switched off,
# and ``failed`` is the only one a replay from the dead-letter queue leaves again.
TERMINAL = frozenset({Status.CLASSIFIED, Status.NEEDS_REVIEW, Status.DUPLICATE, Status.REJECTED, Status.FAILED,
                      Status.LOST})
# Past the cleanse stage: a re-delivered cleanse message has nothing left to do (unless the rules changed).
CLEANSED = frozenset({Status.GOLD, Status.CLASSIFIED, Status.NEEDS_REVIEW, Status.DUPLICATE, Status.REJECTED})
# Records with a silver image of their own or shared with their original.
WITH_SILVER = frozenset({Status.GOLD, Status.CLASSIFIED, Status.NEEDS_REVIEW, Status.DUPLICATE})
RETRIES_EXHAUSTED = "retries_exhausted"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: sortable as text in SQLite and Cosmos alike."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass
class Record:
    upload_id: str
    user_id: str
    status: str
    upload_ts: str
    ingest_ts: str
    raw_name: str
    raw_path: str
    raw_size: int
    sha256: str
    upload_path: str = ""
    raw_format: str | None = None
    raw_width: int | None = None
    raw_height: int | None = None
    cleansed_name: str | None = None
    cleansed_path: str | None = None
    cleansed_size: int | None = None
    cleansed_width: int | None = None
    cleansed_height: int | None = None
    reason: str | None = None
    reason_detail: str | None = None
    duplicate_of: str | None = None
    model_version: str | None = None
    label: str | None = None
    category: str | None = None
    confidence: float | None = None
    lineage: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[dict[str, Any]] = field(default_factory=list)
    updated_ts: str | None = None
    # The version of the cleansing rules that made the silver image (``shared.imaging.cleanse_version``).
    cleanse_version: str | None = None
    # Re-uploads: the same user and name with new bytes. The newest record is current, the old one history.
    supersedes: str | None = None
    superseded_by: str | None = None
    # Store-managed concurrency token (SQLite row version, Cosmos _etag); not data.
    etag: str | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("etag")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], etag: str | None = None) -> Record:
        known = {f.name for f in fields(cls)} - {"etag"}
        return cls(**{k: v for k, v in data.items() if k in known}, etag=etag)

    def add_lineage(self, stage: str, path: str | None, ts: str) -> None:
        """Record when a stage produced what; a re-run replaces its own entry."""
        self.lineage = [e for e in self.lineage if e.get("stage") != stage]
        self.lineage.append({"stage": stage, "path": path, "ts": ts})
