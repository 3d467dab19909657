"""Helpers for the attack-and-fault tests: CLI calls, real processes, read-only and immutable folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from imgpipe.cli import cli
from tests import corpus

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str, code: int = 0) -> str:
    """The CLI in-process; returns stdout (logs go to stderr)."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


def cli_json(*args: str) -> Any:
    return json.loads(invoke(*args, "--json"))


def one_line_failure(*args: str) -> str:
    """A command that must exit 2 with exactly one line on stderr and no traceback; returns that line."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output, result.output
    return result.stderr


def imgpipe(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """A real ``imgpipe`` process (for what only a process shows: stderr as written, exit codes, signals)."""
    return subprocess.run([sys.executable, "-m", "imgpipe", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def put_photo(data_dir: Path, rel: str, seed: int = 1, size: tuple[int, int] = (640, 480)) -> Path:
    path = data_dir / "uploads" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(corpus.jpeg(corpus.photo(*size, seed=seed)))
    return path


def records(data_dir: Path) -> list[dict[str, Any]]:
    return json.loads(invoke("--data-dir", str(data_dir), "records", "--all", "--json"))


def run(data_dir: Path, *extra: str) -> dict[str, Any]:
    return cli_json("--data-dir", str(data_dir), "run", "--settle", "0", "--classifier", "none", "--workers", "1",
                    *extra)


@contextmanager
def read_only(folder: Path) -> Iterator[str]:
    """``folder`` read-only even for root: a read-only bind mount, else ``chattr +i``; skipped when neither works."""
    mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)], capture_output=True)
    if mounted.returncode == 0:
        try:
            yield "read-only bind mount"
        finally:
            subprocess.run(["umount", str(folder)], check=True)
        return
    with immutable(folder) as how:
        yield how


@contextmanager
def immutable(folder: Path) -> Iterator[str]:
    """``chattr +i``: no file can be created in ``folder``, by root either. Skipped where chattr cannot."""
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot make {folder} immutable here (chattr: {done.stderr.strip() or 'missing'}) nor "
                    "mount it read-only (needs CAP_SYS_ADMIN): the unwritable-folder check is untested here")
    try:
        yield "chattr +i"
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
