"""``imgpipe archive``: bronze older than N days moves to ``archive/``, the local Archive tier.

In Azure a lifecycle rule changes the blob's tier and its path stays; locally
the file moves, so the record's ``raw_path`` follows it. Move first, then the
record: a crash in between is repaired by the next run, which finds the file
already in ``archive/`` and only updates the record.
"""

from __future__ import annotations

from datetime import timedelta

from shared.layout import Zone
from shared.local.bootstrap import LocalRuntime
from shared.records import iso, parse_iso


def archive(rt: LocalRuntime, older_than: timedelta, dry_run: bool = False) -> list[str]:
    """Return the upload ids whose bronze object was (or would be) archived."""
    cutoff = rt.services.clock() - older_than
    moved = []
    for record in rt.services.meta.find():
        if not record.raw_path.startswith(Zone.BRONZE + "/") or not record.ingest_ts:
            continue
        if parse_iso(record.ingest_ts) > cutoff:
            continue
        target = Zone.ARCHIVE + record.raw_path[len(Zone.BRONZE):]
        moved.append(record.upload_id)
        if dry_run:
            continue
        if rt.store.exists(record.raw_path):
            rt.store.move(record.raw_path, target)
        if rt.store.exists(target):
            now = iso(rt.services.clock())
            record.raw_path = target
            record.updated_ts = now
            record.add_lineage("archive", target, now)
            rt.services.meta.put(record)
    return moved
