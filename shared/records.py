"""The gold record: one per upload, the same shape in SQLite, Cosmos DB and JSON.

Field names are snake_case everywhere (Python, SQLite, Cosmos items, CLI
``--json``) so a record can move between runtimes without a mapping layer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

# Statuses. A record moves forward only; the last five are terminal.
BRONZE = "bronze"
SILVER = "silver"
GOLD = "gold"
CLASSIFIED = "classified"
NEEDS_REVIEW = "needs_review"
DUPLICATE = "duplicate"
REJECTED = "rejected"
FAILED = "failed"

STATUSES = (BRONZE, SILVER, GOLD, CLASSIFIED, NEEDS_REVIEW, DUPLICATE, REJECTED, FAILED)
# Terminal states. ``gold`` is terminal too when classification is switched off,
# and ``failed`` is the only one a replay from the dead-letter queue leaves again.
TERMINAL = frozenset({CLASSIFIED, NEEDS_REVIEW, DUPLICATE, REJECTED, FAILED})
# Past the cleanse stage: a re-delivered ingest message has nothing left to do.
CLEANSED = frozenset({GOLD, CLASSIFIED, NEEDS_REVIEW, DUPLICATE, REJECTED})
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
