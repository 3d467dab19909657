"""One pipeline run at a time per data dir: an advisory file lock.

Cron may start ``imgpipe run`` while the previous one is still going; the
second waits up to a timeout and then steps aside cleanly instead of racing
the first over the same jobs. The lock dies with its process, so a killed run
never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.runtime import AlreadyRunning


@contextmanager
def run_lock(data_dir: Path, timeout: float = 0.0) -> Iterator[None]:
    path = Path(data_dir) / "gold" / "imgpipe.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise AlreadyRunning(f"another imgpipe run holds {path}") from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)
