"""``function_app`` on the real worker's dependency layout (issue 9, item 1).

The worker loads its own protobuf ~4.25 and grpcio ~1.59 first; the SDK-type
Service Bus binding's generated code needs protobuf >= 6.31
(``from google.protobuf import runtime_version``). Each case starts a fresh
interpreter that lays out ``sys.path`` and walks the worker's start-up as
``worker_start.py`` describes, with the worker's pinned packages in a folder
of their own (``requirements-worker.txt``, installed by ``make test``) and the
app's packages from this virtualenv. Without ``PYTHON_ISOLATE_WORKER_DEPENDENCIES``
the app fails to index exactly as on a host; with the value the app ships in
``local.settings.sample.json`` and in Bicep, every function indexes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.infra import bicep_model

ROOT = Path(__file__).resolve().parents[2]
WORKER_DEPS = Path(os.environ.get("IMGPIPE_WORKER_DEPS") or ROOT / ".venv" / "worker-deps")
HARNESS = Path(__file__).with_name("worker_start.py")
SETTING = "PYTHON_ISOLATE_WORKER_DEPENDENCIES"
FUNCTIONS = ["classify", "cleanse", "ingest", "reconcile", "web"]


@pytest.fixture(scope="module")
def worker_deps() -> Path:
    if not (WORKER_DEPS / "google" / "protobuf").is_dir() or not (WORKER_DEPS / "grpc").is_dir():
        message = f"{WORKER_DEPS} lacks the worker's protobuf/grpcio: run `make test` (requirements-worker.txt)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return WORKER_DEPS


def start_worker(scenario: str, worker: Path, tmp: Path, isolate: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AzureWebJobs"))}
    env["UPLOADS_TRIGGER_SOURCE"] = "EventGrid"
    if isolate is not None:
        env[SETTING] = isolate
    app_deps = sysconfig.get_paths()["purelib"]
    proc = subprocess.run([sys.executable, "-I", "-S", str(HARNESS), scenario, str(worker), app_deps, str(ROOT),
                           str(tmp / "wwwroot")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def shipped_value() -> str:
    local = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"][SETTING]
    assert bicep_model.function_app_settings()[SETTING] == local
    return local


@pytest.mark.parametrize("scenario", ["core-tools", "placeholder"])
def test_without_isolation_the_worker_protobuf_breaks_indexing(scenario: str, worker_deps: Path,
                                                               tmp_path: Path) -> None:
    result = start_worker(scenario, worker_deps, tmp_path, None)
    assert "functions" not in result
    assert result["error"].startswith("ImportError: cannot import name 'runtime_version'"), result
    assert result["protobuf"].startswith("4.25.") and result["protobuf_from"].startswith(str(worker_deps))


@pytest.mark.parametrize("scenario", ["core-tools", "placeholder"])
def test_with_the_shipped_setting_every_function_indexes(scenario: str, worker_deps: Path, tmp_path: Path) -> None:
    result = start_worker(scenario, worker_deps, tmp_path, shipped_value())
    assert result.get("functions") == FUNCTIONS, result
    assert not result["protobuf"].startswith("4.")  # the app's protobuf, not the worker's
