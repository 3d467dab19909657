"""The web tier: the app over a real data dir (real model, real pipeline runs), served by `imgpipe serve`.

Browser tests drive Debian's chromium through Playwright (`make test` installs it with apt-get when it is
missing); where it cannot be installed they skip and say so. Screenshots go to `test-artifacts/web/` and,
with IMGPIPE_SCREENSHOTS_DIR set (`make screenshots`), also to the README's `docs/screenshots/`.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from imgpipe.cli import cli
from imgpipe.samples import seed
from tests.integration.azure_services import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("IMGPIPE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("IMGPIPE_TEST_ARTIFACTS") or ROOT / "test-artifacts") / "web"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# The real model is unsure of most sample photos above 0.9: a deterministic review queue.
THRESHOLD = {"CLASSIFY_CONFIDENCE_THRESHOLD": "0.9"}
XSS_NAME = "<img src=x onerror=alert(1)>.jpg"
REVIEWER = "rita"
README_SHOTS = {"review", "records", "report"}  # the pages the README shows


def imgpipe(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=env or {})
    assert result.exit_code == 0, result.output
    return result.stdout  # logs go to stderr


def records(data_dir: Path, *args: str) -> dict[str, dict]:
    return {r["upload_id"]: r for r in json.loads(imgpipe(data_dir, "records", "--json", *args))}


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=90)
    return out.getvalue()


def pipeline_data(root: Path) -> Path:
    """Sample photos, a file whose name is markup, and a pass of the pipeline with the real model."""
    seed(root / "uploads")
    (root / "uploads" / "mallory").mkdir(parents=True)
    (root / "uploads" / "mallory" / XSS_NAME).write_bytes(jpeg((200, 30, 30)))
    imgpipe(root, "run", "--settle", "0", "--workers", "1", "--quiet", env=THRESHOLD)
    return root


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pipeline_data(tmp_path_factory.mktemp("web-data"))


class Server:
    def __init__(self, data_dir: Path, user: str = REVIEWER) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "imgpipe", "--data-dir", str(data_dir), "serve", "--port", str(self.port),
             "--user", user], stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, **THRESHOLD})
        self._wait()

    def _wait(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"imgpipe serve exited {self.proc.returncode}: {self.log.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"imgpipe serve did not answer on {self.url} within {timeout:.0f}s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[Server]:
    running = Server(data_dir)
    try:
        yield running
    finally:
        running.stop()


def chromium_missing() -> str | None:
    if not CHROMIUM.exists():
        return (f"{CHROMIUM} is not installed and could not be installed here "
                "(`make test` runs `apt-get install -y chromium` as root)")
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """A fresh Chromium profile per module, headless, no network but loopback traffic of its own."""
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860})
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser):
    """A page that fails the test on any JavaScript dialog (an injected alert) or page error."""
    tab = browser.new_page()
    problems: list[str] = []
    tab.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield tab
    tab.close()
    assert problems == []


def screenshot(page, name: str) -> Path:
    """Each page's screenshot is a test artefact; `make screenshots` also refreshes the README's."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    docs = os.environ.get("IMGPIPE_SCREENSHOTS_DIR")
    if docs and name in README_SHOTS:
        Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(docs) / f"{name}.png")
    return path
