"""How many threads each ONNX Runtime session gets: the one rule for every entry point.

Left alone, every session gets an intra-op pool the size of the machine whose
threads spin while they wait for work. A local worker holds two sessions (the
classifier and Open-NSFW) and ``imgpipe run`` starts several workers, so the
pools oversubscribed the cores and burnt about 20 ms of CPU per image in spin
loops for no throughput. The rule: the cores are shared out,
``max(1, cores // (workers * sessions per worker))`` threads per session, and
threads never spin when the process holds more than one session or more than
one worker runs (someone else could use the core). ``IMGPIPE_ORT_THREADS``
still sets the count outright; ``0`` restores onnxruntime's own default (a
thread per core, spinning), the old behaviour the benchmark compares with.

Who says how many workers run: ``imgpipe run --workers N`` exports
``IMGPIPE_WORKERS=N`` to its worker processes; ``ml/score.py`` passes Azure ML's
``WORKER_COUNT`` (gunicorn workers of the inference server). Unset means one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

THREADS_ENV = "IMGPIPE_ORT_THREADS"
WORKERS_ENV = "IMGPIPE_WORKERS"
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


@dataclass(frozen=True)
class ThreadPlan:
    intra_op: int
    spinning: bool


def cores() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota (containers)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, count)


def _int_setting(name: str, raw: str | None, smallest: int = 1) -> int | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < smallest:
        raise ValueError(f"{name} must be an integer >= {smallest}, got {raw!r}")
    return value


def workers_from_env(name: str = WORKERS_ENV) -> int:
    """Worker processes sharing this machine, from ``name`` (default ``IMGPIPE_WORKERS``); 1 when unset."""
    return _int_setting(name, os.environ.get(name)) or 1


def plan(sessions: int, workers: int | None = None, available: int | None = None) -> ThreadPlan:
    """Threads per session for a process holding ``sessions`` sessions, one of ``workers`` alike."""
    workers = workers if workers is not None else workers_from_env()
    sessions, available = max(1, sessions), available if available is not None else cores()
    explicit = _int_setting(THREADS_ENV, os.environ.get(THREADS_ENV), smallest=0)
    if explicit == 0:
        return ThreadPlan(intra_op=0, spinning=True)  # onnxruntime decides: one thread per core, spinning
    threads = explicit or max(1, available // (workers * sessions))
    return ThreadPlan(intra_op=threads, spinning=sessions == 1 and workers == 1)


def session_options(sessions: int, workers: int | None = None) -> ort.SessionOptions:
    """``SessionOptions`` following ``plan``: one inter-op thread (the graphs are sequential)."""
    chosen = plan(sessions, workers)
    options = ort.SessionOptions()
    options.intra_op_num_threads = chosen.intra_op
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if chosen.spinning else "0")
    return options
