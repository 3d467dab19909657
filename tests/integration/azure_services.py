"""Start Azurite (Blob) and the Cosmos DB stand-in on loopback, wait until they answer, stop them.

Used by the test session (free ports, a temporary Azurite folder) and by
``make azure-local`` (``python -m tests.integration.azure_services`` on the
ports ``local.settings.sample.json`` names). Both come from ``node_modules``,
pinned in ``package-lock.json``; ``make test`` runs ``npm ci`` first.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = ROOT / "node_modules" / ".bin"
COSMOS_LAUNCHER = Path(__file__).with_name("cosmosdb_server.js")
HOST = "127.0.0.1"
# Azurite's and the Cosmos DB emulator's published development keys: not secrets.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
COSMOS_EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
READY_TIMEOUT = 60.0


class ServicesUnavailable(RuntimeError):
    """The stand-ins are not installed or did not start: say how to fix it."""


@dataclass(frozen=True)
class AzureServices:
    blob_port: int
    cosmos_port: int
    queue_port: int | None = None  # Azurite's Queue service, started only for the tests that need it

    @property
    def storage_connection_string(self) -> str:
        queue = f"QueueEndpoint=http://{HOST}:{self.queue_port}/{AZURITE_ACCOUNT};" if self.queue_port else ""
        return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                f"BlobEndpoint=http://{HOST}:{self.blob_port}/{AZURITE_ACCOUNT};{queue}")

    @property
    def cosmos_endpoint(self) -> str:
        return f"https://localhost:{self.cosmos_port}/"

    def env(self, database: str = "imgpipe") -> dict[str, str]:
        """App settings pointing the Azure runtime at these stand-ins."""
        return {"IMAGES_STORAGE": self.storage_connection_string, "COSMOS_ENDPOINT": self.cosmos_endpoint,
                "COSMOS_KEY": COSMOS_EMULATOR_KEY, "COSMOS_DATABASE": database}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def empty_containers(service: Any, names: Iterable[str]) -> None:
    """Delete every blob in the named containers of a ``BlobServiceClient`` (the containers stay)."""
    for name in names:
        container = service.get_container_client(name)
        if container.exists():
            for blob in container.list_blobs():
                container.delete_blob(blob.name)


def require_node_modules() -> None:
    missing = [p for p in (NODE_BIN / "azurite-blob", ROOT / "node_modules" / "@vercel" / "cosmosdb-server")
               if not p.exists()]
    if missing:
        raise ServicesUnavailable(f"missing {', '.join(map(str, missing))}: run `npm ci` (or `make test`)")


def node_modules_or_skip() -> None:
    """Skip a test that needs the stand-ins when they are not installed; under CI that is a failure,
    because ``make test`` installs them and a silent skip would hide a broken install."""
    import pytest  # here, not at the top: this module is also the stand-ins' command line

    try:
        require_node_modules()
    except ServicesUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def _wait_for_port(proc: subprocess.Popen, port: int, name: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServicesUnavailable(f"{name} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise ServicesUnavailable(f"{name} did not listen on {HOST}:{port} within {READY_TIMEOUT:.0f}s")


def _start(cmd: list[str], port: int, name: str, workdir: Path) -> subprocess.Popen:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    try:
        _wait_for_port(proc, port, name, log)
    except BaseException:
        _stop(proc)
        raise
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _azurite_cmd(port: int, location: Path, host_storage: bool) -> list[str]:
    """Blob only for tests; ``host_storage`` adds Queue (10001) and Table (10002) for ``func start``.

    The Functions host keeps its own state in ``AzureWebJobsStorage``, and the
    polling blob trigger dispatches through a queue there, so ``func start``
    needs all three services while the tests need only Blob.
    """
    common = ["--skipApiVersionCheck", "--disableTelemetry", "--silent", "--location", str(location)]
    if not host_storage:
        return [str(NODE_BIN / "azurite-blob"), "--blobHost", HOST, "--blobPort", str(port), *common]
    return [str(NODE_BIN / "azurite"), "--blobHost", HOST, "--blobPort", str(port), "--queueHost", HOST,
            "--queuePort", str(port + 1), "--tableHost", HOST, "--tablePort", str(port + 2), *common]


@contextmanager
def running(blob_port: int | None = None, cosmos_port: int | None = None,
            workdir: Path | None = None, host_storage: bool = False) -> Iterator[AzureServices]:
    """Azurite and the Cosmos DB stand-in on loopback for the duration of the block."""
    require_node_modules()
    blob_port = blob_port or free_port()
    cosmos_port = cosmos_port or free_port()
    while cosmos_port == blob_port:  # two free ports picked in a row can be the same one
        cosmos_port = free_port()
    services = AzureServices(blob_port, cosmos_port)
    with tempfile.TemporaryDirectory(prefix="imgpipe-azure-services-") as tmp:
        work = Path(workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        azurite = _start(_azurite_cmd(services.blob_port, work / "azurite", host_storage), services.blob_port,
                         "azurite", work)
        try:
            cosmos = _start(["node", str(COSMOS_LAUNCHER), "--host", HOST, "--port", str(services.cosmos_port)],
                            services.cosmos_port, "cosmosdb-server", work)
            try:
                yield services
            finally:
                _stop(cosmos)
        finally:
            _stop(azurite)


@contextmanager
def running_queue(workdir: Path) -> Iterator[int]:
    """Azurite's Queue service alone on a free loopback port (the blob trigger's poison queue); yields the port."""
    port = free_port()
    cmd = [str(NODE_BIN / "azurite-queue"), "--queueHost", HOST, "--queuePort", str(port), "--skipApiVersionCheck",
           "--disableTelemetry", "--silent", "--location", str(workdir / "azurite-queue")]
    proc = _start(cmd, port, "azurite-queue", workdir)
    try:
        yield port
    finally:
        _stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description="Azurite + Cosmos DB stand-in on loopback until Ctrl-C.")
    parser.add_argument("--blob-port", type=int, default=10000)
    parser.add_argument("--cosmos-port", type=int, default=8081)
    parser.add_argument("--location", type=Path, default=ROOT / ".azurite")
    args = parser.parse_args()
    with running(args.blob_port, args.cosmos_port, args.location, host_storage=True) as services:
        print(f"Azurite blob/queue/table: http://{HOST}:{services.blob_port}/+1/+2  "
              f"Cosmos DB: {services.cosmos_endpoint}", flush=True)
        print("Data is kept in", args.location, "(Azurite) and in memory (Cosmos DB). Ctrl-C stops both.", flush=True)
        signal.signal(signal.SIGTERM, _exit_on_signal)  # `kill` stops the stand-ins too, not only Ctrl-C
        with suppress(KeyboardInterrupt, SystemExit):
            signal.pause()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
