"""How the CLI shows things: tables for people, JSON for programs, a bar on a terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

import click

from shared.records import STATUSES


def _text(data: Any, indent: int | None = 2) -> str:
    text = json.dumps(data, indent=indent, ensure_ascii=False, default=str)
    # A path from a non-UTF-8 file name holds lone surrogates: print them as JSON escapes, not a crash.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def emit_json(data: Any) -> None:
    click.echo(_text(data))


def emit_json_lines(items: Iterable[Any]) -> None:
    """One JSON array, written item by item: memory stays flat however many records there are."""
    first = True
    for item in items:
        click.echo(("[\n  " if first else ",\n  ") + _text(item, None), nl=False)
        first = False
    click.echo("[]" if first else "\n]")


def status_table(counts: dict[str, int], dead_letters: dict[str, int]) -> str:
    lines = [f"{'status':<14}{'count':>8}"]
    for status in (*STATUSES, *sorted(set(counts) - set(STATUSES))):
        if counts.get(status):
            lines.append(f"{status:<14}{counts[status]:>8}")
    lines.append(f"{'total':<14}{sum(counts.values()):>8}")
    per_queue = ", ".join(f"{q} {n}" for q, n in sorted(dead_letters.items()) if n)
    lines.append(f"dead letters: {sum(dead_letters.values())}" + (f" ({per_queue})" if per_queue else ""))
    return "\n".join(lines)


class ProgressPrinter:
    """A progress bar on a terminal; one line per phase change and every 10% otherwise."""

    def __init__(self, enabled: bool = True) -> None:
        self.tty = sys.stderr.isatty()
        self.enabled = enabled
        self.last: tuple[str, int] = ("", -1)

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        if self.tty:
            width = 30
            filled = int(width * done / total)
            click.echo(f"\r{phase:<8}[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", nl=False, err=True)
            if done >= total:
                click.echo("", err=True)
            return
        decile = 10 * done // total
        if (phase, decile) != self.last and (total >= 20 or done == total):
            self.last = (phase, decile)
            click.echo(f"{phase}: {done}/{total}", err=True)
