"""Drain the job queue with N worker processes: this one plus ``workers - 1`` spawned ones.

Spawned, not forked: a forked child would inherit this process's open SQLite
connection and client sockets. Each helper builds its own runtime from the
runtime's picklable ``opener``. A helper that dies (killed, OOM) breaks the
pool, which ends the others too (a ``multiprocessing.Pool`` would wait for it
forever instead); no helper is alive then, so their leases are orphans and
this process finishes their jobs. Helpers die with the run (``lifeline``), and
errors come back as plain picklable ones, redacted: an SDK exception holding
a response object would otherwise arrive as ``MaybeEncodingError``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from shared.errors import PipelineUnavailable
from shared.jobhost import lifeline
from shared.jobhost.worker import work
from shared.settlement import describe

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = logging.getLogger(__name__)

# Exported to every worker so each sizes its model threads to its share of the cores (ml/).
WORKERS_ENV = "IMGPIPE_WORKERS"


def _helper(opener: Callable[[], Runtime]) -> tuple[int, Counter[str]]:
    try:
        rt = opener()
        try:
            return work(rt.services, rt.jobs, stop=lifeline.orphaned), rt.usage()
        finally:
            rt.close()
    except PipelineUnavailable as exc:
        raise PipelineUnavailable(describe(exc)) from None
    except Exception as exc:
        raise RuntimeError(f"worker process: {describe(exc)}") from None


def drain(rt: Runtime, workers: int, on_batch: Callable[[], None] | None = None) -> tuple[int, Counter[str]]:
    """Run the queues empty; returns (jobs handled, the helpers' service usage)."""
    os.environ[WORKERS_ENV] = str(workers)
    if workers <= 1:
        return work(rt.services, rt.jobs, on_batch=on_batch), Counter()
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    with ProcessPoolExecutor(workers - 1, mp_context=context, initializer=lifeline.die_with_parent,
                             initargs=(os.getpid(), stop)) as pool:
        helpers = [pool.submit(_helper, rt.opener()) for _ in range(workers - 1)]
        try:
            handled = work(rt.services, rt.jobs, on_batch=on_batch, stop=lambda: any(_died(f) for f in helpers))
        except BaseException:
            stop.set()  # the run is failing: helpers take no further job, and the pool's exit waits less
            raise
    usage: Counter[str] = Counter()
    if any(isinstance(f.exception(), BrokenProcessPool) for f in helpers):
        log.warning("a worker process died; finishing its jobs in this process")
        rt.jobs.release_expired()
        handled += work(rt.services, rt.jobs, on_batch=on_batch)
    for future in helpers:
        if future.exception() is None:
            count, used = future.result()
            handled += count
            usage.update(used)
        elif not isinstance(future.exception(), BrokenProcessPool):
            raise future.exception()  # type: ignore[misc]
    return handled, usage


def _died(future: Future) -> bool:
    return future.done() and future.exception() is not None
