"""What the cleanse phase decides on the driver, for the whole batch, before any image is decoded.

The cleanse stage decides three things per record through point reads and
conditional writes: its links to other versions of its upload path
(``link_reupload``), whether it is over the byte cap (``oversized``), and who
owns its bytes (``claim_checksum``). The job has no pointer and no claim
container; it has every row of the batch at once, so it applies the same rules
in the same order to the batch, deterministically:

1. re-uploads: the core's batch form of the rule, ``link_versions``, per upload path;
2. size: ``oversized`` rejects before the record can own any bytes;
3. dedup: the owner of some bytes is the gold row that already owns that sha256
   (cleansed, not a duplicate), else the first upload of the batch with it by
   ``(upload_ts, upload_id)``, the order every runtime scans records in; the
   others become ``duplicate_of`` it through the core's ``link_duplicate`` once
   the owner is cleansed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from shared import gold
from shared.layout import Queue
from shared.records import CLEANSED, WITH_SILVER, Record, Status, iso, utcnow
from shared.settings import Limits
from shared.stages.cleanse import oversized
from shared.stages.reupload import link_versions


@dataclass
class CleansePlan:
    owners: list[Record] = field(default_factory=list)  # cleansed on the executors
    duplicates: list[tuple[Record, str]] = field(default_factory=list)  # (record, owner's upload_id)
    done: dict[str, Record] = field(default_factory=dict)  # decided here: rejected by size, relinked versions
    existing_owners: dict[str, Record] = field(default_factory=dict)  # sha256 -> gold row that owns it


def needs_cleansing(record: Record, version: str, reprocess: bool) -> bool:
    """In bronze, or failed before silver (the job's replay), or with ``reprocess`` made by older rules."""
    if not (record.sha256 and record.raw_path):
        return False  # nothing in bronze: rejected by its size, or never copied (recovery copies it first)
    if record.status == Status.BRONZE or (record.status == Status.FAILED and not record.cleansed_path):
        return True
    return reprocess and record.status in WITH_SILVER and record.cleanse_version != version


def plan(todo: list[Record], versions: list[Record], holders: list[Record], limits: Limits) -> CleansePlan:
    """``todo``: records to cleanse; ``versions``: every record of their upload paths; ``holders``: every
    record with one of their checksums. Records in more than one list are the same objects."""
    out = CleansePlan()
    by_path: dict[str, list[Record]] = defaultdict(list)
    for record in versions:
        by_path[record.upload_path].append(record)
    todo_ids = {r.upload_id for r in todo}
    arriving: dict[str, list[Record]] = defaultdict(list)
    for record in todo:
        arriving[record.upload_path].append(record)
    for path, records in arriving.items():
        for changed in link_versions(by_path[path], records) if path else ():
            if changed.upload_id not in todo_ids:
                out.done[changed.upload_id] = changed  # an older version, now superseded_by a new one
    for record in holders:
        if record.status in CLEANSED and record.duplicate_of is None and record.sha256:
            best = out.existing_owners.get(record.sha256)
            if best is None or _key(record) < _key(best):
                out.existing_owners[record.sha256] = record
    now = iso(utcnow())
    for record in todo:
        if too_large := oversized(record, limits):
            gold.reject(record, too_large, now)
            out.done[record.upload_id] = record
    first: dict[str, str] = {}
    for record in sorted((r for r in todo if r.upload_id not in out.done), key=_key):
        owner = out.existing_owners.get(record.sha256)
        owner_id = owner.upload_id if owner else first.setdefault(record.sha256, record.upload_id)
        if owner_id == record.upload_id:
            out.owners.append(record)
        else:
            out.duplicates.append((record, owner_id))
    return out


def link_duplicates(plan: CleansePlan, cleansed: dict[str, Record]) -> list[Record]:
    """Duplicates share their owner's silver (or its rejection) once the owner is done, as the stage links them."""
    now, linked = iso(utcnow()), []
    existing = {r.upload_id: r for r in plan.existing_owners.values()}
    for record, owner_id in plan.duplicates:
        original = cleansed.get(owner_id) or existing.get(owner_id)
        if original is not None and original.status in CLEANSED:
            gold.link_duplicate(record, original, now)
        else:  # the original failed: both are taken again by the next run
            state = original.status if original else "missing"
            gold.mark_failed(record, Queue.CLEANSE, f"original upload {owner_id} not cleansed ({state})", now)
        linked.append(record)
    return linked


def _key(record: Record) -> tuple[str, str]:
    return (record.upload_ts, record.upload_id)
