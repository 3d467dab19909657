"""``imgpipe watch``: event-driven local processing of files as they arrive.

Polling (not inotify) keeps it portable to network shares and containers. A
file is taken only once it is complete: its size and mtime must stay the same
for ``settle`` seconds, and names writers use for partial files are ignored.
Each batch of settled files goes through the same steps as ``imgpipe run``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from shared.jobhost.pool import drain
from shared.layout import QUEUES
from shared.local.bootstrap import bootstrap, prepare_data_dir
from shared.ports import ObjectInfo
from shared.runner import Progress, ingest_all, pending_uploads
from shared.settings import Settings

log = logging.getLogger(__name__)


class Settler:
    """Remembers each file's last version and when it was first seen with it."""

    def __init__(self, settle: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.settle = settle
        self.clock = clock
        self.seen: dict[str, tuple[str, float]] = {}

    def stable(self, candidates: list[ObjectInfo]) -> list[ObjectInfo]:
        now, ready = self.clock(), []
        current = {info.path for info in candidates}
        self.seen = {p: v for p, v in self.seen.items() if p in current}
        for info in candidates:
            version, since = self.seen.get(info.path, (None, now))
            if version != info.version:
                self.seen[info.path] = (info.version, now)
            elif now - since >= self.settle:
                ready.append(info)
        return ready


def watch(settings: Settings, *, interval: float = 1.0, settle: float = 1.0, workers: int = 1,
          classifier: str | None = None, stop: Callable[[], bool] = lambda: False,
          progress: Progress | None = None) -> int:
    """Run until ``stop()`` (or Ctrl-C); returns how many uploads were ingested."""
    prepare_data_dir(settings.data_dir)
    ingested = 0
    rt = bootstrap(settings, classifier=classifier)
    try:
        with rt.lock(0):
            rt.prepare()
            settler = Settler(settle)
            while not stop():
                ready = settler.stable(pending_uploads(rt))
                if ready:
                    ingested += ingest_all(rt, ready, progress)
                    log.info("ingested %d new upload(s)", len(ready))
                if ready or rt.jobs.active(QUEUES):  # each drain spawns workers - 1 processes
                    drain(rt, workers)
                time.sleep(interval)
    except KeyboardInterrupt:
        log.info("watch stopped")
    finally:
        rt.close()
    return ingested
