"""checkov over infra/: no failed check unless suppressed in place, with a written reason.

checkov lives in its own virtualenv (.venv-infra, `make infra-tools`): its pins
(packaging<24) conflict with pytest's, so it runs as a subprocess. A missing
checkov fails these tests instead of skipping them: a security scan that
quietly did not run must not look like one that passed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.infra import bicep_model

CHECKOV = Path(os.environ.get("CHECKOV_BIN") or bicep_model.REPO / ".venv-infra" / "bin" / "checkov")
SKIP_COMMENT = re.compile(r"checkov:skip=(CKV2?_[A-Z]+_\d+)(?::(.*))?")
MIN_REASON = 30  # characters: a reason, not a placeholder


def run_checkov(directory: Path) -> tuple[dict, str]:
    if not CHECKOV.exists():
        pytest.fail(f"checkov not found at {CHECKOV}: run `make infra-tools` (or set CHECKOV_BIN)")
    proc = subprocess.run(
        # --skip-download: no policy/guideline download (no network needed, nothing fetched).
        [str(CHECKOV), "-d", str(directory), "--framework", "bicep", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    assert proc.returncode in (0, 1), f"checkov crashed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout)
    if isinstance(report, list):  # one entry per framework; only bicep runs here
        (report,) = [r for r in report if r["check_type"] == "bicep"]
    return report, proc.stderr


@pytest.fixture(scope="module")
def scan():
    return run_checkov(bicep_model.INFRA)


def _results(report: dict, kind: str) -> list[dict]:
    return report.get("results", {}).get(kind, [])


def test_checkov_scanned_every_resource_without_parse_errors(scan):
    report, _ = scan
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, summary
    assert summary["resource_count"] >= 60, summary  # all modules, not an empty directory
    assert summary["passed"] >= 30, summary


def test_no_failed_check(scan):
    report, _ = scan
    failed = [
        f"{r['check_id']} {r['check_name']} at {r['file_path']}:{r['file_line_range']} ({r['resource']})"
        for r in _results(report, "failed_checks")
    ]
    assert not failed, "checkov failures (fix them or suppress in place with a reason):\n" + "\n".join(failed)


def test_no_check_crashed(scan):
    """A check that raises is counted neither passed nor failed: a silent hole in the scan."""
    _, stderr = scan
    crashed = sorted(set(re.findall(r"Failed to run check (\S+) on (\S+)", stderr)))
    assert not crashed, f"checks that crashed on the templates: {crashed}"


def test_every_suppression_has_a_reason(scan):
    report, _ = scan
    for r in _results(report, "skipped_checks"):
        reason = (r["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) >= MIN_REASON, f"{r['check_id']} in {r['file_path']} suppressed without a reason"


def test_every_suppression_comment_is_used(scan):
    """A stale skip comment would silently cover a future, different problem."""
    report, _ = scan
    used = {(r["check_id"], Path(r["file_path"]).name) for r in _results(report, "skipped_checks")}
    for path in bicep_model.bicep_files():
        for check_id, reason in SKIP_COMMENT.findall(path.read_text()):
            assert len(reason.strip()) >= MIN_REASON, f"{path.name}: {check_id} has no written reason"
            assert (check_id, path.name) in used, f"{path.name}: suppression of {check_id} matches no finding"


def test_scan_detects_a_violation(tmp_path):
    """The harness itself can fail: an HTTP-allowing, open-firewall, TLS 1.0 account is reported."""
    (tmp_path / "bad.bicep").write_text(
        "resource bad 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n"
        "  name: 'badaccount'\n"
        "  location: 'westeurope'\n"
        "  kind: 'StorageV2'\n"
        "  sku: {\n    name: 'Standard_LRS'\n  }\n"
        "  properties: {\n"
        "    allowBlobPublicAccess: true\n"
        "    minimumTlsVersion: 'TLS1_0'\n"
        "    supportsHttpsTrafficOnly: false\n"
        "  }\n"
        "}\n"
    )
    report, _ = run_checkov(tmp_path)
    failed = {r["check_id"] for r in _results(report, "failed_checks")}
    assert {"CKV_AZURE_3", "CKV_AZURE_35", "CKV_AZURE_44"} <= failed, failed
