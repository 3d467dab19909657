"""``imgpipe watch``: event-driven local processing of files as they arrive.

inotify tells which files changed (``shared.local.changes``; polling with
``--poll`` or where inotify is missing). A file is taken only once it is
complete: its size, mtime and ctime must stay the same for ``settle``
seconds, and names writers use for partial files are skipped. Each batch of
settled files goes through the same steps as ``imgpipe run``. Files already
taken in are remembered by what a rewrite would change (inode, size, mtime,
ctime), so a rescan does no query for them; a full rescan every ``rescan``
seconds catches anything the events missed, and the jobs table is looked at
once per ``interval`` (a ``dlq replay`` meanwhile), so an idle watch costs
next to no CPU whatever the number of records.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from shared.intake import select_pending
from shared.jobhost.pool import drain
from shared.layout import QUEUES, Zone
from shared.local.bootstrap import LocalRuntime, bootstrap, prepare_data_dir
from shared.local.changes import Changes, open_changes
from shared.ports import NotAnInput, ObjectInfo
from shared.report import RunReport
from shared.runner import Progress, ingest_all
from shared.settings import Settings

log = logging.getLogger(__name__)


class Settler:
    """Files waiting to be still for ``settle`` seconds: each with the state it was last seen in, and since when."""

    def __init__(self, settle: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.settle = settle
        self.clock = clock
        self.waiting: dict[str, tuple[ObjectInfo, float]] = {}

    def note(self, infos: Iterable[ObjectInfo]) -> None:
        now = self.clock()
        for info in infos:
            seen = self.waiting.get(info.path)
            if seen is None or _state(seen[0]) != _state(info):
                self.waiting[info.path] = (info, now)

    def forget(self, path: str) -> None:
        self.waiting.pop(path, None)

    def ready(self) -> list[ObjectInfo]:
        """Files unchanged for ``settle`` seconds; they leave the waiting list."""
        now = self.clock()
        done = [info for info, since in self.waiting.values() if now - since >= self.settle]
        for info in done:
            del self.waiting[info.path]
        return done

    def next_due(self) -> float | None:
        """Seconds until the next file may be ready (None when none is waiting)."""
        if not self.waiting:
            return None
        return max(0.0, min(since for _, since in self.waiting.values()) + self.settle - self.clock())


def _state(info: ObjectInfo) -> str:
    return info.pin or info.version


def watch(settings: Settings, *, interval: float = 1.0, settle: float = 2.0, workers: int = 1,
          classifier: str | None = None, stop: Callable[[], bool] = lambda: False,
          progress: Progress | None = None, poll: bool = False, rescan: float = 300.0) -> int:
    """Run until ``stop()`` (or Ctrl-C); returns how many new uploads were ingested."""
    prepare_data_dir(settings.data_dir)
    rt = bootstrap(settings, classifier=classifier)
    report = RunReport()
    try:
        with rt.lock(0):
            rt.prepare()
            changes = open_changes(settings.data_dir / Zone.UPLOADS, settings.data_dir, interval, poll)
            try:
                _loop(rt, changes, Settler(settle), report, workers, interval, rescan, stop, progress)
            finally:
                changes.close()
    except KeyboardInterrupt:
        log.info("watch stopped")
    finally:
        rt.close()
    return report.ingested


def _loop(rt: LocalRuntime, changes: Changes, settler: Settler, report: RunReport, workers: int,
          interval: float, rescan: float, stop: Callable[[], bool], progress: Progress | None) -> None:
    taken: dict[str, str] = {}  # path -> state of what was taken in: no query for it again
    changed: set[str] | None = None  # None: list everything
    next_rescan = next_jobs_check = 0.0
    while not stop():
        now = time.monotonic()
        if changed is None or now >= next_rescan:
            listed = list(rt.uploads(skipped=report.skip))
            for gone in set(settler.waiting) - {i.path for i in listed}:
                settler.forget(gone)
            settler.note(i for i in listed if taken.get(i.path) != _state(i))
            next_rescan = now + rescan
        else:
            settler.note(_look(rt, changed, settler, taken))
        ready = settler.ready()
        if ready:
            new = ingest_all(rt, select_pending(rt.services, ready, report=report), progress, report)
            taken.update((i.path, _state(i)) for i in ready)
            log.info("ingested %d new upload(s)", new)
        if ready or (now >= next_jobs_check and rt.jobs.active(QUEUES)):  # each drain spawns workers - 1
            drain(rt, workers)
        next_jobs_check = time.monotonic() + interval
        waits = [t for t in (settler.next_due(), next_rescan - time.monotonic(), interval) if t is not None]
        changed = changes.wait(max(0.0, min(waits)))


def _look(rt: LocalRuntime, paths: set[str], settler: Settler, taken: dict[str, str]) -> list[ObjectInfo]:
    """The changed paths as they are now (a deleted or swapped one leaves the waiting list)."""
    found = []
    for path in paths:
        try:
            info = rt.store.listed(path)
        except (FileNotFoundError, NotAnInput, ValueError):
            settler.forget(path)  # gone, a link or a partial name: the listing reports those it sees
            continue
        except OSError:
            continue
        if taken.get(path) != _state(info):
            found.append(info)
    return found
