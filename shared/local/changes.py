"""What changed under ``uploads/``: inotify where the kernel offers it, polling elsewhere.

``wait(timeout)`` blocks until something changed or ``timeout`` seconds
passed, and returns the changed paths (relative to the data dir), or None
when only a full listing can tell (polling, an inotify queue overflow, a new
folder that may have been filled before its watch was added). An idle watch
therefore sleeps in one ``read()`` on the inotify descriptor: no wakeups, no
scans, no queries. inotify does not see writes made by other machines to a
network share; ``imgpipe watch --poll`` is for those.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class Changes(Protocol):
    def wait(self, timeout: float | None) -> set[str] | None: ...

    def close(self) -> None: ...


class Polling:
    """Every wait is a full listing after at most ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval

    def wait(self, timeout: float | None) -> set[str] | None:
        time.sleep(self.interval if timeout is None else max(0.0, min(timeout, self.interval)))
        return None

    def close(self) -> None:
        pass


class Inotify:
    """inotify watches on ``uploads/`` and every folder below it (not on links, not on hidden folders)."""

    def __init__(self, uploads: Path, data_dir: Path) -> None:
        from inotify_simple import INotify, flags

        self.flags = flags
        self.mask = (flags.CLOSE_WRITE | flags.MOVED_TO | flags.CREATE | flags.MODIFY | flags.ATTRIB
                     | flags.DELETE | flags.MOVED_FROM)
        self.data_dir = data_dir
        self.notify = INotify()
        self.folders: dict[int, Path] = {}
        self._watch_tree(uploads)

    def _watch_tree(self, folder: Path) -> None:
        try:
            self.folders[self.notify.add_watch(folder, self.mask)] = folder
            entries = list(os.scandir(folder))
        except OSError as exc:
            log.warning("cannot watch %r: %s", str(folder), exc.strerror or exc)
            return
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                self._watch_tree(Path(entry.path))

    def wait(self, timeout: float | None) -> set[str] | None:
        events = self.notify.read(timeout=None if timeout is None else max(0, int(timeout * 1000)))
        changed: set[str] | None = set()
        for event in events:
            if event.mask & self.flags.Q_OVERFLOW:
                changed = None
                continue
            if event.mask & self.flags.IGNORED:
                self.folders.pop(event.wd, None)
                continue
            folder = self.folders.get(event.wd)
            if folder is None or not event.name:
                continue
            path = folder / event.name
            if event.mask & self.flags.ISDIR:
                if event.mask & (self.flags.CREATE | self.flags.MOVED_TO) and not event.name.startswith("."):
                    self._watch_tree(path)
                    changed = None  # it may have been filled before its watch existed
            elif changed is not None:
                changed.add(path.relative_to(self.data_dir).as_posix())
        return changed

    def close(self) -> None:
        self.notify.close()


def open_changes(uploads: Path, data_dir: Path, interval: float, poll: bool) -> Changes:
    """inotify unless asked to poll or unavailable (not Linux, no inotify_simple, no watches left)."""
    if not poll:
        try:
            return Inotify(uploads, data_dir)
        except (ImportError, OSError) as exc:
            log.warning("inotify is not available (%s): polling every %g s", exc, interval)
    return Polling(interval)
