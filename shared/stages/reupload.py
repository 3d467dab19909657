"""Re-uploads: the same user and name uploaded again with new bytes is a new version of that upload.

Each upload path has a pointer to its current record (a point read and a
conditional write, like the checksum claim). The newest upload with new bytes
moves the pointer and the two records are linked both ways: the new one
``supersedes`` the old, the old one is ``superseded_by`` the new and stays
for history. Identical bytes move nothing: that upload is a duplicate, as
the checksum claim decides. The pointer remembers the record it replaced, so
a stage that dies after moving it links the same pair when it runs again.
"""

from __future__ import annotations

from shared import errors
from shared.ports import ConcurrencyError, CurrentUpload
from shared.records import Record
from shared.services import Services

_TRIES = 8


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
        if previous is not None and previous.sha256 == record.sha256:
            return  # the same bytes again: a duplicate of it, not a new version
        if previous is not None and _key(previous) > _key(record):
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
