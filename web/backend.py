"""The app's way to the records: one ``Operations`` per worker thread, opened on first use.

Starlette runs blocking handlers in a thread pool. The local runtime's SQLite
connection runs explicit transactions, which must not interleave between
threads, so each thread gets its own operations object; the Azure one shares
its clients process-wide anyway. ``call`` runs a function of the operations
in the pool so the event loop never waits on a database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from shared.runtime import Operations

T = TypeVar("T")


class Backend:
    def __init__(self, opener: Callable[[], Operations]) -> None:
        self.opener = opener
        self._local = threading.local()
        self._opened: list[Operations] = []
        self._lock = threading.Lock()

    def ops(self) -> Operations:
        ops = getattr(self._local, "ops", None)
        if ops is None:
            ops = self._local.ops = self.opener()
            with self._lock:
                self._opened.append(ops)
        return ops

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_in_threadpool(lambda: fn(self.ops(), *args))

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for ops in opened:
            ops.__exit__(None, None, None)
