"""The pipeline at a glance, computed from the records and the dead-letter queue of any backend.

One streaming pass over the records (``scan``; memory grows with the number
of days and latency samples, not with record size): counts per status and
category, rejects per reason, uploads and records reaching gold per day, and
latency percentiles from lineage timestamps. Status counts come from the
store's own ``counts()`` so they match ``imgpipe status`` exactly.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from shared.ports import RecordQuery
from shared.records import STATUSES, WITH_SILVER, Record, Status, iso, parse_iso, utcnow
from shared.runtime import Operations

PERCENTILES = (50, 90, 99)
LATEST = 24
LATENCIES = {"upload_to_gold": ("upload", "gold"), "upload_to_classified": ("upload", "classified")}


@dataclass
class Report:
    generated: str
    backend: str
    counts: dict[str, int]
    categories: dict[str, int]
    rejects: dict[str, int]
    daily: list[tuple[str, int, int]]  # (day, uploads, reached gold)
    latency: dict[str, dict[str, float | int | None]]
    dead_letters: dict[str, int]
    latest: list[Record] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {"generated": self.generated, "backend": self.backend, "counts": self.counts, "total": self.total,
                "categories": self.categories, "rejects": self.rejects,
                "daily": [{"day": d, "uploads": u, "gold": g} for d, u, g in self.daily],
                "latency_seconds": self.latency, "dead_letters": self.dead_letters,
                "dead_letters_total": sum(self.dead_letters.values()),
                "latest": [r.upload_id for r in self.latest]}


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile: always a value that was measured."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _stage_ts(record: Record) -> dict[str, str]:
    return {str(e.get("stage")): str(e.get("ts")) for e in record.lineage if e.get("ts")}


def _seconds(start: str, end: str) -> float | None:
    try:
        return max(0.0, (parse_iso(end) - parse_iso(start)).total_seconds())
    except ValueError:
        return None


def build(ops: Operations, latest: int = LATEST) -> Report:
    categories: Counter[str] = Counter()
    rejects: Counter[str] = Counter()
    uploads: Counter[str] = Counter()
    reached_gold: Counter[str] = Counter()
    samples: dict[str, list[float]] = {name: [] for name in LATENCIES}
    newest: deque[Record] = deque(maxlen=max(latest, 1))
    for record in ops.services.meta.scan(RecordQuery()):
        uploads[record.upload_ts[:10]] += 1
        stages = _stage_ts(record)
        if record.status == Status.REJECTED:
            rejects[record.reason or "unknown"] += 1
        if record.status in (Status.CLASSIFIED, Status.NEEDS_REVIEW) and record.category:
            categories[record.category] += 1
        if record.status in WITH_SILVER and "gold" in stages:
            reached_gold[stages["gold"][:10]] += 1
            for name, (start, end) in LATENCIES.items():
                if start in stages and end in stages and (value := _seconds(stages[start], stages[end])) is not None:
                    samples[name].append(value)
        if record.superseded_by is None and record.status in WITH_SILVER and record.cleansed_path:
            newest.append(record)  # scan order is upload order: the last ones are the latest
    latency = {}
    for name, values in samples.items():
        values.sort()
        latency[name] = {"count": len(values), **{f"p{p}": percentile(values, p) for p in PERCENTILES}}
    counts = ops.services.meta.counts()
    days = sorted(set(uploads) | set(reached_gold))
    return Report(
        generated=iso(utcnow()), backend=ops.name,
        counts={s: counts.get(s, 0) for s in (*STATUSES, *sorted(set(counts) - set(STATUSES)))},
        categories=dict(categories.most_common()), rejects=dict(rejects.most_common()),
        daily=[(d, uploads[d], reached_gold[d]) for d in days],
        latency=latency, dead_letters=dict(ops.dead_letters.counts()), latest=list(reversed(newest))[:latest],
    )


def format_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"
