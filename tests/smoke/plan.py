"""What ``make smoke-azure`` checks, the same against a deployment and in its dry run.

A handful of generated uploads with the outcome each must reach, one message
that must end in a dead-letter queue with its reason (settlement through the
SDK-type binding's message actions works on this plan), and the latency from
upload to a classified record. The target (``targets.py``) is a deployed app
or the stand-ins with the handlers in-process; this module knows neither.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared import errors
from shared.records import Record, Status, parse_iso
from tests import corpus

SCORED = (Status.CLASSIFIED, Status.NEEDS_REVIEW)
DONE = frozenset({*SCORED, Status.DUPLICATE, Status.REJECTED, Status.FAILED})


class Target(Protocol):
    def upload(self, path: str, data: bytes) -> str:
        """Write ``uploads/...`` and return the upload id the pipeline will give it."""

    def record(self, upload_id: str) -> Record | None: ...

    def send_raw(self, queue: str, message_id: str, body: bytes) -> None:
        """Put a message on a pipeline queue, as an operator's Service Bus Explorer would."""

    def dead_letter(self, queue: str, message_id: str) -> tuple[str | None, str | None] | None:
        """(reason, description) of that message in the queue's DLQ, or None while it is not there."""

    def remove_dead_letter(self, queue: str, message_id: str) -> None: ...

    def pump(self) -> None:
        """Let the pipeline work a little (the dry run's in-process host); a deployment works by itself."""


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes
    check: Callable[[Record, dict[str, Record]], str | None]  # None when the record is what it must be


def _scored(record: Record, _: dict[str, Record]) -> str | None:
    if record.status in SCORED and record.label:
        return None
    return f"expected classified/needs_review, got {record.status}"


def _upright(record: Record, records: dict[str, Record]) -> str | None:
    problem = _scored(record, records)
    if problem is None and not (record.cleansed_height or 0) > (record.cleansed_width or 0):
        problem = f"EXIF orientation not applied: silver is {record.cleansed_width}x{record.cleansed_height}"
    return problem


def _duplicate(record: Record, records: dict[str, Record]) -> str | None:
    original = records["good.jpg"].upload_id
    if (record.status, record.duplicate_of) != (Status.DUPLICATE, original):
        return f"expected duplicate of {original}, got {record.status} ({record.duplicate_of})"
    return None


def _rejected_svg(record: Record, _: dict[str, Record]) -> str | None:
    if (record.status, record.reason) != (Status.REJECTED, errors.UNSUPPORTED_FORMAT):
        return f"expected rejected/{errors.UNSUPPORTED_FORMAT}, got {record.status}/{record.reason}"
    return None


def uploads() -> list[Upload]:
    good = corpus.jpeg(corpus.photo(1600, 1200, seed=uuid.uuid4().int % 10_000))  # new bytes every run
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    return [Upload("good.jpg", good, _scored), Upload("rotated.jpg", corpus.rotated(6), _upright),
            Upload("copy-of-good.jpg", good, _duplicate), Upload("vector.jpg", svg, _rejected_svg)]


@dataclass
class Result:
    run: str
    records: dict[str, Record] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    dead_letter: str = "not checked"
    latencies: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [f"smoke run {self.run}:"]
        out += [f"  {name:<18} {r.status:<13} {r.reason or r.label or r.duplicate_of or ''}"
                for name, r in self.records.items()]
        out.append(f"  dead-letter path   {self.dead_letter}")
        if self.latencies:
            p50 = statistics.median(self.latencies)
            p95 = sorted(self.latencies)[max(0, round(0.95 * len(self.latencies)) - 1)]
            out.append(f"  upload -> classified latency: p50 {p50:.1f} s, p95 {p95:.1f} s "
                       f"({len(self.latencies)} record(s))")
        out += [f"  PROBLEM: {p}" for p in self.problems]
        out.append("  OK" if self.ok else "  FAILED")
        return out


def run(target: Target, timeout: float = 600.0, poll: float = 2.0, sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic) -> Result:
    result = Result(run=f"smoke-{uuid.uuid4().hex[:8]}")
    plan = uploads()
    ids = {u.name: target.upload(f"uploads/{result.run}/{u.name}", u.data) for u in plan}
    marker = f"{result.run}-bad-message"
    target.send_raw("cleanse", marker, b"smoke test: not an imgpipe message")
    deadline = clock() + timeout
    letter: tuple[str | None, str | None] | None = None
    while True:
        target.pump()
        result.records = {name: r for name, i in ids.items() if (r := target.record(i)) is not None}
        letter = letter or target.dead_letter("cleanse", marker)
        finished = len(result.records) == len(ids) and all(r.status in DONE for r in result.records.values())
        if (finished and letter) or clock() > deadline:
            break
        sleep(poll)
    _check(result, plan, ids, letter, target, marker)
    return result


def _check(result: Result, plan: list[Upload], ids: dict[str, str], letter: Any, target: Target,
           marker: str) -> None:
    for upload in plan:
        record = result.records.get(upload.name)
        if record is None:
            result.problems.append(f"{upload.name}: no record for {ids[upload.name]} (did the blob event fire?)")
        elif record.status not in DONE:
            result.problems.append(f"{upload.name}: still {record.status} at the timeout")
        elif problem := upload.check(record, result.records):
            result.problems.append(f"{upload.name}: {problem}")
    if letter is None:
        result.dead_letter = "FAILED: the malformed message never reached the cleanse DLQ"
        result.problems.append("settlement: no dead letter (message actions may not work on this plan)")
    elif letter[0] != errors.BAD_MESSAGE:
        result.dead_letter = f"FAILED: dead-lettered with {letter[0]!r} ({letter[1]})"
        result.problems.append(f"settlement: dead-lettered by the broker ({letter[0]}), not by the app")
    else:
        result.dead_letter = f"ok: dead-lettered by the app with reason {letter[0]!r}"
        target.remove_dead_letter("cleanse", marker)
    for record in result.records.values():
        scored = [e["ts"] for e in record.lineage if e.get("stage") == "classified"]
        if record.status in SCORED and scored:
            result.latencies.append((parse_iso(scored[-1]) - parse_iso(record.upload_ts)).total_seconds())
