"""The report's numbers, and `imgpipe report --out`: one self-contained HTML file."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from click.testing import CliRunner

from imgpipe.cli import cli
from imgpipe.web_commands import is_loopback
from shared.local.operations import operations
from shared.settings import Settings
from tests.web.conftest import XSS_NAME, imgpipe, records
from web import report


def test_percentiles_are_nearest_rank_values_that_were_measured():
    values = sorted([0.5, 0.1, 0.3, 0.2, 0.4])
    assert [report.percentile(values, p) for p in (50, 90, 99, 100)] == [0.3, 0.5, 0.5, 0.5]
    assert report.percentile([], 50) is None and report.percentile([7.0], 1) == 7.0
    assert report.format_seconds(0.25) == "250 ms" and report.format_seconds(90) == "90.0 s"


def test_report_counts_match_the_records(data_dir):
    with operations(Settings.from_env().with_(data_dir=data_dir)) as ops:
        built = report.build(ops, latest=3)
    every = list(records(data_dir, "--all").values())
    status = json.loads(imgpipe(data_dir, "status", "--json"))
    assert {k: v for k, v in built.counts.items() if v} == {k: v for k, v in status["counts"].items() if v}
    assert built.rejects == dict(Counter(r["reason"] for r in every if r["status"] == "rejected"))
    assert sum(u for _, u, _ in built.daily) == len(every)
    gold = built.latency["upload_to_gold"]
    assert gold["count"] == sum(r["status"] in ("classified", "needs_review", "duplicate", "gold") for r in every)
    assert 0 <= gold["p50"] <= gold["p90"] <= gold["p99"]
    newest = sorted((r for r in every if r["cleansed_path"]), key=lambda r: (r["upload_ts"], r["upload_id"]))
    assert [r.upload_id for r in built.latest] == [r["upload_id"] for r in reversed(newest)][:3]


def test_report_file_is_self_contained_and_escapes_names(data_dir, tmp_path):
    out = tmp_path / "report.html"
    assert "wrote" in imgpipe(data_dir, "report", "--out", str(out), "--latest", "50")
    html = out.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//|/)""", html), "everything must be inline"
    assert "<script" not in html and "default-src 'none'" in html
    with_silver = [r for r in records(data_dir).values() if r["cleansed_path"]]
    assert html.count('src="data:image/jpeg;base64,') == len(with_silver)
    assert html.count('src="data:image/svg+xml;base64,') == 3
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in html and XSS_NAME not in html


@pytest.mark.parametrize("host, ok", [("127.0.0.1", True), ("::1", True), ("localhost", True), ("127.8.0.1", True),
                                      ("0.0.0.0", False), ("192.168.1.5", False), ("example.org", False)])
def test_loopback_hosts(host, ok):
    assert is_loopback(host) is ok


def test_serve_refuses_a_public_address_without_allow_remote(tmp_path):
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "no sign-in" in result.output and "--allow-remote" in result.output


@pytest.mark.parametrize("command", [["serve"], ["report"], ["review", "undo"]])
def test_web_commands_have_help_with_an_example(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output and "imgpipe" in result.output


def test_make_demo_ends_by_pointing_at_the_review_page():
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    dry = subprocess.run(["make", "--no-print-directory", "-n", "demo", "DATA_DIR=/tmp/imgpipe-dry-run"], cwd=root,
                         capture_output=True, text=True, timeout=60, check=True).stdout.strip().splitlines()
    tail = " ".join(line for line in dry if line.startswith("echo"))[-400:]
    assert "serve" in tail and "http://127.0.0.1:8080/review" in tail
