"""The reconciliation sweep's rules on the in-memory adapters (the Azure stand-ins: tests/integration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.ports import ObjectInfo
from shared.reconcile import page, reconcile
from shared.records import Status
from shared.settings import ReconcilePolicy
from tests.unit.fakes import WHEN, services


def info(path: str) -> ObjectInfo:
    return ObjectInfo(path, 1, datetime(2026, 1, 1, tzinfo=UTC), "v")


def test_pages_follow_name_order_whatever_order_the_store_lists_in() -> None:
    """A folder walk lists a folder's files before its subfolders: the token must not skip any."""
    listing = [info(p) for p in ("uploads/z.jpg", "uploads/a/2.jpg", "uploads/a/1.jpg", "uploads/b/1.jpg")]
    first, token = page(iter(listing), None, 2)
    second, end = page(iter(listing), token, 2)
    assert [i.path for i in first + second] == ["uploads/a/1.jpg", "uploads/a/2.jpg", "uploads/b/1.jpg",
                                                "uploads/z.jpg"]
    assert (token, end) == ("uploads/a/2.jpg", None)


def test_uploads_past_the_lookback_are_not_looked_at_any_more() -> None:
    svc = services()
    svc.store.put_upload("uploads/u1/old.jpg", b"\xff\xd8\xff old", WHEN - timedelta(hours=100))
    svc.store.put_upload("uploads/u1/lost.jpg", b"\xff\xd8\xff lost", WHEN - timedelta(hours=1))
    report = reconcile(svc, None, ReconcilePolicy(lookback_hours=72))
    assert report.examined == 2 and len(report.ingested) == 1
    (record,) = svc.meta.find()
    assert record.raw_name == "lost.jpg" and record.status == Status.BRONZE
