"""CPU time of whole processes: a child run to completion, or a running process tree.

Wall time on this shared 2-core host swings by a quarter from run to run;
the CPU a process consumed does not depend on who else is running, so the
benchmarks compare CPU seconds and report wall time beside them.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Usage:
    cpu: float  # user + system seconds of the process and every child it waited for
    wall: float


def run_child(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Usage:
    """Run ``cmd`` to completion; its CPU comes from wait4, so spawned workers it reaped are included."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
        raise RuntimeError(f"{cmd} exited {proc.returncode}:\n{err}")
    return Usage(usage.ru_utime + usage.ru_stime, wall)


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system seconds) of a live process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by ``root`` and all its live descendants (a server and its workers)."""
    stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(int(p))) is not None}
    members, total, grew = {root}, 0.0, True
    while grew:
        grew = False
        for pid, (parent, _) in stats.items():
            if parent in members and pid not in members:
                members.add(pid)
                grew = True
    for pid in members:
        if pid in stats:
            total += stats[pid][1]
    return total
