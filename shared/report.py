"""What one run did, on every backend: the CLI prints it, ``--json`` emits it, tests read it."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

log = logging.getLogger("shared.runner")
MAX_PATHS = 1000  # skipped paths kept for the report; the counts are complete


@dataclass
class RunReport:
    ingested: int = 0  # uploads taken in for the first time by this run (new records)
    resumed: int = 0
    handled: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    # Uploads this run could not take in, per reason code (unreadable, forbidden, archived...): each has
    # a ``failed`` record saying so, and the next run tries it again.
    failed: Counter[str] = field(default_factory=Counter)
    # Inputs left out, per reason (symlink, special_file, partial_name, hidden, settling, changing...).
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_paths: list[str] = field(default_factory=list)
    verified: int = 0  # uploads whose bytes were hashed again (ctime moved since the last check, or --verify)
    changed: int = 0  # of those, holding other bytes than their record: taken in as new versions
    recovered: int = 0  # records whose missing bronze copy was made again from their upload
    lost: int = 0  # records whose bronze copy and upload version are both gone
    usage: Counter[str] = field(default_factory=Counter)
    # Upload ids this run's ingest already tried: recovery does not try them a second time in the same run.
    tried: set[str] = field(default_factory=set, repr=False)

    def skip(self, path: str, reason: str) -> None:
        """Leave an input out, loudly: counted, listed (``-v`` logs each path), never silently dropped."""
        self.skipped[reason] += 1
        if len(self.skipped_paths) < MAX_PATHS:
            self.skipped_paths.append(f"{path} ({reason})")
        log.info("skipped %r: %s", path, reason)

    def absorb(self, part: RunReport) -> None:
        """Add what a part of this run did elsewhere (a task of the bulk job on an executor) to this report."""
        self.ingested += part.ingested
        self.failed.update(part.failed)
        self.skipped.update(part.skipped)
        self.skipped_paths.extend(part.skipped_paths[:max(0, MAX_PATHS - len(self.skipped_paths))])
        self.verified += part.verified
        self.changed += part.changed
        self.recovered += part.recovered
        self.lost += part.lost
        self.tried |= part.tried

    def to_dict(self) -> dict[str, object]:
        return {"ingested": self.ingested, "resumed": self.resumed, "handled": self.handled,
                "seconds": round(self.seconds, 3), "counts": self.counts, "failed": dict(self.failed),
                "skipped": dict(self.skipped), "skipped_paths": self.skipped_paths, "verified": self.verified,
                "changed": self.changed, "recovered": self.recovered, "lost": self.lost, "usage": dict(self.usage)}
