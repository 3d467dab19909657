"""Checks every end-to-end run must pass, whatever the runtime: one terminal state per
input, byte-identical bronze, clean silver, duplicates linked, nothing orphaned."""

from __future__ import annotations

import hashlib
import io
from collections import Counter, defaultdict
from collections.abc import Callable

from PIL import Image

from shared.records import TERMINAL, Record, Status
from tests.corpus import OK, Expect

OK_STATUSES = {Status.GOLD, Status.CLASSIFIED, Status.NEEDS_REVIEW}


def outcome(record: Record) -> str:
    if record.status in OK_STATUSES:
        return OK
    return record.status


def check_run(records: list[Record], items: dict[str, tuple[bytes, Expect]], read: Callable[[str], bytes],
              classified: bool = False) -> None:
    """``read(path)`` returns an object's bytes from the runtime's store (``container/key``)."""
    by_upload = defaultdict(list)
    for r in records:
        by_upload[r.upload_path.split("/", 1)[1]].append(r)
    assert set(by_upload) == set(items), f"missing {set(items) - set(by_upload)}, extra {set(by_upload) - set(items)}"
    groups: dict[str, Counter] = defaultdict(Counter)
    for rel, (data, expect) in items.items():
        (record,) = by_upload[rel]  # exactly one record per input
        assert record.status in (TERMINAL | ({Status.GOLD} if not classified else set())), (rel, record.status)
        assert read(record.raw_path) == data, f"bronze of {rel} is not byte-identical"
        assert record.sha256 == hashlib.sha256(data).hexdigest() and record.raw_size == len(data)
        groups[record.sha256][outcome(record)] += 1
        if expect.outcome == "rejected":
            assert (record.status, record.reason) == (Status.REJECTED, expect.reason), (rel, record.reason_detail)
            continue
        if expect.outcome == OK and record.status != Status.DUPLICATE:
            check_silver(rel, record, read(record.cleansed_path or ""), expect)
        if record.status == Status.DUPLICATE:
            original = next(r for r in records if r.upload_id == record.duplicate_of)
            assert original.sha256 == record.sha256 and original.cleansed_path == record.cleansed_path
    for sha, outcomes in groups.items():
        if sum(outcomes.values()) > 1 and Status.REJECTED not in outcomes:
            assert outcomes[OK] == 1 and outcomes[Status.DUPLICATE] == sum(outcomes.values()) - 1, (sha, outcomes)


def check_silver(rel: str, record: Record, data: bytes, expect: Expect) -> None:
    im = Image.open(io.BytesIO(data))
    assert im.format == "JPEG" and im.mode == "RGB", rel
    assert not im.getexif() and "exif" not in im.info and "xmp" not in im.info and "icc_profile" not in im.info, rel
    assert max(im.size) <= 512 and (record.cleansed_width, record.cleansed_height) == im.size, rel
    assert record.cleansed_size == len(data)
    if expect.size:
        assert im.size == expect.size, (rel, im.size)
    if expect.upright == "portrait":
        top, bottom = im.getpixel((im.width // 2, 10)), im.getpixel((im.width // 2, im.height - 10))
        assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0], (rel, top, bottom)


def referenced(records: list[Record]) -> set[str]:
    return {p for r in records for p in (r.raw_path, r.cleansed_path) if p}


def normalized(records: list[Record]) -> list[tuple]:
    """A run's outcome without timestamps or which-of-two-duplicates-came-first."""
    rows = []
    for r in records:
        status = "gold-or-duplicate" if r.status in (*OK_STATUSES, Status.DUPLICATE) else r.status
        rows.append((r.upload_path, status, r.reason, r.sha256, r.raw_path, r.cleansed_path, r.cleansed_size))
    return sorted(rows)
