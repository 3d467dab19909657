"""``make smoke-azure``'s dry run passes here, and the smoke run fails loudly when the pipeline misbehaves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shared.records import Record
from tests.integration.azure_services import node_modules_or_skip
from tests.smoke.plan import run

ROOT = Path(__file__).resolve().parents[2]


def test_the_dry_run_passes_against_the_stand_ins() -> None:
    node_modules_or_skip()
    proc = subprocess.run([sys.executable, "-m", "tests.smoke", "--dry-run", "--timeout", "300"], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    out = proc.stdout
    assert "dead-letter path   ok: dead-lettered by the app with reason 'bad_message'" in out
    assert "vector.jpg         rejected      unsupported_format" in out and "latency: p50" in out


class Silent:
    """A deployment where nothing happens: no event fires, nothing is dead-lettered."""

    def upload(self, path: str, data: bytes) -> str:
        return path

    def record(self, upload_id: str) -> Record | None:
        return None

    def send_raw(self, queue: str, message_id: str, body: bytes) -> None: ...

    def dead_letter(self, queue: str, message_id: str) -> tuple[str | None, str | None] | None:
        return None

    def remove_dead_letter(self, queue: str, message_id: str) -> None: ...

    def pump(self) -> None: ...


def test_a_pipeline_that_does_nothing_fails_the_smoke_run_with_reasons() -> None:
    result = run(Silent(), timeout=0, sleep=lambda _: None)
    assert not result.ok and "FAILED" in result.lines()[-1]
    assert sum("no record" in p for p in result.problems) == 4
    assert any(p.startswith("settlement: no dead letter") for p in result.problems)
