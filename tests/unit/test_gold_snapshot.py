"""The bulk job's metadata store over a snapshot of gold: the stages' conditional writes mean what they mean
elsewhere, and only what was written goes to the MERGE."""

from __future__ import annotations

from dataclasses import replace

import pytest

from imgpipe_spark.snapshot import GoldSnapshot, rows_of
from shared.ports import ConcurrencyError, RecordQuery
from shared.records import Record


def record(upload_id: str, status: str, ts: str) -> Record:
    return Record(upload_id=upload_id, user_id="u", status=status, upload_ts=ts, ingest_ts=ts, raw_name="p.jpg",
                  raw_path=f"bronze/{upload_id}.jpg", raw_size=1, sha256=upload_id * 2, upload_path="uploads/u/p.jpg",
                  lineage=[{"stage": "bronze", "path": "x", "ts": ts}])


def test_reads_writes_and_conditional_writes_as_the_other_stores():
    snapshot = GoldSnapshot(rows_of([record("a", "bronze", "2026-01-01"), record("b", "gold", "2026-01-02")]))
    first, second = snapshot.get("a"), snapshot.get("a")
    assert first == record("a", "bronze", "2026-01-01") and snapshot.written() == []
    first.status = "failed"
    snapshot.put(first)
    with pytest.raises(ConcurrencyError):
        snapshot.put(second)  # read before the other write: stale
    assert not snapshot.create(replace(first, etag=None)) and snapshot.create(record("c", "bronze", "2026-01-03"))
    assert snapshot.created("c") and not snapshot.created("a")
    assert sorted(r.upload_id for r in snapshot.written()) == ["a", "c"]
    assert [r.upload_id for r in snapshot.scan(RecordQuery(statuses=("bronze", "failed")))] == ["a", "c"]
    assert snapshot.counts() == {"failed": 1, "gold": 1, "bronze": 1}
    assert [r.upload_id for r in snapshot.select("sha256", ["bb", "cc"])] == ["b", "c"]
