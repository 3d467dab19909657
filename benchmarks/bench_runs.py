"""Whole ``imgpipe run`` processes over 12 MP JPEGs: marginal CPU and wall time per image.

Each configuration runs the CLI twice on fresh data dirs, over ``many`` and
over ``few`` distinct photos; (CPU(many) - CPU(few)) / (many - few) is the
cost of one more image, with interpreter start-up, imports and model loading
cancelled out. The child's CPU includes its spawned workers (``os.wait4``).
Rounds are interleaved (every configuration once per round), so a burst of
load from other tenants of the host hits all rows alike; the median of
``repeats`` rounds is reported. Even so, two configurations that are the same
by construction differ by up to ~7 % on this shared host.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.cpu import Usage, run_child

ROOT = Path(__file__).resolve().parent.parent
# Settings a configuration may set; cleared from the inherited environment so each row means what it says.
KNOBS = ("IMGPIPE_ORT_THREADS", "IMGPIPE_WORKERS", "IMGPIPE_MODERATION_MODEL_PATH", "IMGPIPE_MODEL_PATH",
         "IMGPIPE_MODERATION")


@dataclass(frozen=True)
class Config:
    label: str
    classifier: str  # "none" (to gold) or "local" (to classified)
    workers: int
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Marginal:
    cpu_ms: float
    wall_ms: float


def configs(package_moderation: Path, extra: dict[str, dict[str, str]]) -> list[Config]:
    rows = []
    for workers in (1, 2):
        rows += [Config("to gold", "none", workers),
                 Config("to classified, onnxruntime's default threads (before)", "local", workers,
                        {"IMGPIPE_ORT_THREADS": "0"}),
                 Config("to classified, sized threads (default)", "local", workers),
                 Config("to classified, IMGPIPE_ORT_THREADS=1", "local", workers, {"IMGPIPE_ORT_THREADS": "1"})]
    rows.append(Config("to classified, the package's Open-NSFW graph", "local", 1,
                       {"IMGPIPE_MODERATION_MODEL_PATH": str(package_moderation)}))
    rows += [Config(f"to classified, {label}", "local", 1, env) for label, env in extra.items()]
    return rows


def _run(config: Config, corpus: Path, scratch: Path) -> Usage:
    data_dir = scratch / "run"
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.copytree(corpus, data_dir)
    env = {k: v for k, v in os.environ.items() if k not in KNOBS} | config.env
    cmd = [sys.executable, "-m", "imgpipe", "--data-dir", str(data_dir), "run", "--settle", "0",
           "--workers", str(config.workers), "--classifier", config.classifier, "--quiet"]
    try:
        return run_child(cmd, env=env, cwd=ROOT)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def marginals(rows: list[Config], few: tuple[int, Path], many: tuple[int, Path], scratch: Path,
              repeats: int) -> list[Marginal]:
    """One Marginal per configuration, in order: the median over ``repeats`` interleaved rounds."""
    cpu: list[list[float]] = [[] for _ in rows]
    wall: list[list[float]] = [[] for _ in rows]
    extra = many[0] - few[0]
    for _ in range(repeats):
        for i, config in enumerate(rows):
            small, big = _run(config, few[1], scratch), _run(config, many[1], scratch)
            cpu[i].append((big.cpu - small.cpu) / extra * 1000)
            wall[i].append((big.wall - small.wall) / extra * 1000)
    return [Marginal(statistics.median(c), statistics.median(w)) for c, w in zip(cpu, wall, strict=True)]
