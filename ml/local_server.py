"""Run azmlinfsrv (Microsoft's Azure ML inference server) on loopback, for tests, benchmarks and ``make serve-model``.

azureml-inference-server-http 1.5.x has no ``--host`` option: ``azmlinfsrv``
always binds gunicorn to ``0.0.0.0`` (``constants.DEFAULT_HOST``), which would
expose the scoring route to the whole network. ``main`` runs the very same
entry point (``amlserver.run``, what the ``azmlinfsrv`` console script calls)
with that one constant set to 127.0.0.1; every argument is passed on
unchanged. gunicorn's control socket is switched off: its default path is one
per user, so two local servers (a test run beside ``make serve-model``) would
otherwise fight over it. E.g.::

    python -m ml.local_server --entry_script ml/score.py --port 5001

``running`` starts such a server as a child process on a free port, waits
until it answers, and stops it again: what the tests and the benchmark use.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    from azureml_inference_server_http import amlserver

    amlserver.DEFAULT_HOST = LOOPBACK
    os.environ["GUNICORN_CMD_ARGS"] = f"{os.environ.get('GUNICORN_CMD_ARGS', '')} --no-control-socket".strip()
    sys.argv = ["azmlinfsrv", *(sys.argv[1:] if argv is None else argv)]
    amlserver.run()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def running(startup_timeout: float = 90.0, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start azmlinfsrv with ``ml/score.py`` on a free loopback port; yield its base URL; stop it on exit."""
    with serving(startup_timeout, env) as (base, _):
        yield base


@contextlib.contextmanager
def serving(startup_timeout: float = 90.0,
            env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``running``, also yielding the server process (the benchmark reads its CPU time)."""
    port = free_port()
    base = f"http://{LOOPBACK}:{port}"
    cmd = [sys.executable, "-m", "ml.local_server", "--entry_script", "ml/score.py", "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "AML_APP_ROOT": str(REPO_ROOT), **(env or {})})
        try:
            deadline = time.monotonic() + startup_timeout
            while not _ready(base):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"azmlinfsrv did not start:\n{log.read()[-4000:].decode(errors='replace')}")
                time.sleep(0.2)
            yield base, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
