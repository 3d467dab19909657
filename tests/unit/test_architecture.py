"""The architecture, checked: import-linter's contracts (pyproject.toml) hold, and they would catch a break."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # the tree under test first, before the editable install
    return subprocess.run([str(LINT), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_runtime_importing_another_breaks_the_contract(tmp_path):
    tree = tmp_path / "tree"
    for name in ("shared", "imgpipe", "functions", "ml", "web"):
        shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.onnx"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    victim = tree / "shared" / "azure" / "lock.py"
    victim.write_text(victim.read_text() + "\nimport shared.local.lock  # noqa: E402, F401\n")
    result = lint(tree)
    assert result.returncode != 0 and "Runtimes stand side by side BROKEN" in result.stdout, result.stdout


def test_shared_never_imports_azure_functions():
    """import-linter cannot name a subpackage of an external package (azure.functions): checked here."""
    offenders = []
    for path in (ROOT / "shared").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith("azure.functions")]
    assert offenders == []
