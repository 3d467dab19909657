"""``imgpipe reconcile`` on the local runtime: the same sweep the Functions app's timer runs."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from imgpipe.cli import cli
from shared.records import Status
from tests import corpus


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout  # logs go to stderr


def test_reconcile_ingests_an_upload_nothing_processed_and_run_finishes_it(tmp_path: Path) -> None:
    upload = tmp_path / "uploads" / "u1" / "p.jpg"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(corpus.jpeg(corpus.photo(320, 240, seed=5)))
    base = ("--data-dir", str(tmp_path))
    young = json.loads(invoke(*base, "reconcile", "--json"))
    assert young["too_young"] == 1 and young["ingested"] == []  # inside the grace period: left to its event
    report = json.loads(invoke(*base, "reconcile", "--grace", "0", "--json"))
    assert len(report["ingested"]) == 1 and report["next_token"] is None
    (record,) = json.loads(invoke(*base, "records", "--json"))
    assert record["status"] == Status.BRONZE and record["upload_id"] == report["ingested"][0]
    invoke(*base, "run", "--settle", "0", "--classifier", "none", "--quiet", "--workers", "1")
    (record,) = json.loads(invoke(*base, "records", "--json"))
    assert record["status"] == Status.GOLD
    assert "0 ingested, 0 re-driven, 0 marked failed" in invoke(*base, "reconcile", "--grace", "0")


def test_until_done_walks_every_page(tmp_path: Path) -> None:
    for i in range(3):
        path = tmp_path / "uploads" / f"u{i}" / "p.jpg"
        path.parent.mkdir(parents=True)
        path.write_bytes(corpus.jpeg(corpus.photo(64, 48, seed=i)))
    reports = json.loads(invoke("--data-dir", str(tmp_path), "reconcile", "--grace", "0", "--limit", "2",
                                "--until-done", "--json"))
    assert [len(r["ingested"]) for r in reports] == [2, 1] and reports[-1]["next_token"] is None
