"""Re-uploads: the same user and name uploaded again with new bytes is a new version of that upload.

One rule (``decide``) for one arriving version against the current one: the
newest version by ``(upload_ts, upload_id)`` is current, the same bytes again
are a duplicate that supersedes nothing, and an older version arriving late is
superseded by the current one. Two ways to apply it:

- per event (``link_reupload``, the cleanse stage): each upload path has a
  pointer to its current record (a point read and a conditional write, like
  the checksum claim); the newest version moves it and the two records are
  linked both ways. The pointer remembers the record it replaced, so a stage
  that dies after moving it links the same pair when it runs again.
- in batch (``link_versions``, the bulk job): there is no pointer; the current
  version is read from the links the records carry (``current_version``) and
  the versions a batch brings are folded in, oldest first, so the outcome does
  not depend on which executor finished first.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from shared import errors
from shared.ports import ConcurrencyError, CurrentUpload
from shared.records import CLEANSED, Record
from shared.services import Services

_TRIES = 8


class Link(StrEnum):
    FIRST = "first"  # no current version yet: this one becomes current, linked to nothing
    SAME_BYTES = "same_bytes"  # a duplicate of the current version: nothing moves
    LATE = "late"  # older than the current version: superseded by it, the current one stays
    NEWER = "newer"  # new bytes, newer: supersedes the current version and becomes current


def decide(current: Record | None, arriving: Record) -> Link:
    """The re-upload rule for one version of an upload path against the current one (no I/O)."""
    if current is None:
        return Link.FIRST
    if current.sha256 == arriving.sha256:
        return Link.SAME_BYTES
    if _key(current) > _key(arriving):
        return Link.LATE
    return Link.NEWER


def link_reupload(svc: Services, record: Record) -> None:
    """Make ``record`` the current version of its upload path if it is the newest with new bytes.

    Sets ``record.supersedes`` (or ``record.superseded_by`` when a newer version
    was already current); the caller writes ``record``. The older record is
    updated here.
    """
    if not record.upload_path:
        return
    for _ in range(_TRIES):
        pointer = svc.meta.get_current(record.upload_path)
        if pointer is not None and pointer.upload_id == record.upload_id:
            previous_id = pointer.previous
            break
        previous = svc.meta.get(pointer.upload_id) if pointer else None
        link = decide(previous, record)
        if link is Link.SAME_BYTES:
            return  # the same bytes again: a duplicate of it, not a new version
        if link is Link.LATE and previous is not None:
            record.superseded_by = previous.upload_id  # arrived late: a newer version is already current
            return
        moved = CurrentUpload(record.upload_path, record.upload_id, previous.upload_id if previous else None,
                              etag=pointer.etag if pointer else None)
        if svc.meta.set_current(moved):
            previous_id = moved.previous
            break
    else:
        raise errors.TransientError(f"upload path {record.upload_path!r} kept changing under us")
    if previous_id:
        record.supersedes = previous_id
        _mark_superseded(svc, previous_id, record.upload_id)


def current_version(versions: Iterable[Record]) -> Record | None:
    """The current version of one upload path, read from its records' links (what the pointer would name).

    Only records that went through the rule count: those with a link, and those
    past cleansing with bytes of their own. Among them, not superseded: the one
    that superseded another (there is one), else the oldest (the first version;
    any other is the same bytes uploaded again, which moved nothing).
    """
    took_part = [r for r in versions if _took_part(r) and not r.superseded_by]
    newer = [r for r in took_part if r.supersedes]
    if newer:
        return max(newer, key=_key)
    return min(took_part, key=_key, default=None)


def link_versions(versions: list[Record], arriving: Iterable[Record]) -> list[Record]:
    """The batch form: fold ``arriving`` (versions of one path a batch cleanses now) into the links.

    ``versions`` holds every record of the path, the arriving ones included (the
    same objects). Arriving versions are taken oldest first by ``(upload_ts,
    upload_id)``; one that went through the rule before (a retry that carries its
    link, or a record cleansed again under new rules) is left as it is. Returns
    every record whose links changed, older ones marked ``superseded_by``
    included; the caller writes them.
    """
    current = current_version(versions)
    changed: dict[str, Record] = {}
    for record in sorted(arriving, key=_key):
        if _took_part(record):
            continue
        link = decide(current, record)
        if link is Link.FIRST:
            current = record
        elif link is Link.LATE and current is not None:
            record.superseded_by = current.upload_id
            changed[record.upload_id] = record
        elif link is Link.NEWER and current is not None:
            record.supersedes, current.superseded_by = current.upload_id, record.upload_id
            changed[record.upload_id], changed[current.upload_id] = record, current
            current = record
    return list(changed.values())


def _took_part(record: Record) -> bool:
    return bool(record.supersedes or record.superseded_by
                or (record.status in CLEANSED and record.sha256 and record.raw_path))


def _key(record: Record) -> tuple[str, str]:
    return (record.upload_ts, record.upload_id)


def _mark_superseded(svc: Services, old_id: str, new_id: str) -> None:
    for _ in range(_TRIES):
        old = svc.meta.get(old_id)
        if old is None or old.superseded_by == new_id:
            return
        old.superseded_by = new_id
        try:
            svc.meta.put(old)
            return
        except ConcurrencyError:
            continue  # a stage wrote the old record meanwhile: read it again
    raise errors.TransientError(f"record {old_id} kept changing; could not mark it superseded")
