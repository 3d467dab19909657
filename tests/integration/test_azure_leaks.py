"""Issue 14 items 6-10 against Azurite and the Cosmos DB stand-in: forged log lines, leaked secrets, the size and
identity rules, endpoint settings, and concurrent copies."""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

from shared import errors
from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.endpoint_classifier import EndpointClassifier
from shared.adapters.memory import RecordingQueue
from shared.azure import connections, handlers
from shared.azure.bootstrap import bootstrap
from shared.azure.settle import Delivery
from shared.layout import IMAGE_CONTAINERS
from shared.records import Record
from shared.settings import Settings
from shared.stages import cleanse
from tests.corpus import jpeg, photo
from tests.hardening import imgpipe
from tests.integration.azure_services import AZURITE_ACCOUNT, AZURITE_KEY, HOST
from tests.integration.triggers import RecordingActions, servicebus_message

PHOTO = jpeg(photo(640, 480, seed=61))
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: ")
ENDPOINT_KEY = "ml-endpoint-key-0123456789abcdef"


@pytest.fixture
def store(azure_env: dict[str, str]) -> AzureBlobStore:
    store = AzureBlobStore(connections.blob_service_client())
    store.ensure_containers(IMAGE_CONTAINERS)
    return store


def run_azure(*args: str, env: dict[str, str] | None = None) -> Any:
    done = imgpipe(*args, "run", "--backend", "azure", "--settle", "0", "--classifier", "none", "--workers", "1",
                   "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    return done


def records() -> list[Record]:
    return [Record.from_dict(r) for r in json.loads(imgpipe("records", "--backend", "azure", "--all", "--json").stdout)]


def test_6_a_newline_in_a_blob_name_cannot_forge_a_log_line(store: AzureBlobStore) -> None:
    forged = "2026-01-01 00:00:00,000 ERROR shared.security: all uploads deleted"
    store.put(f"uploads/u1/evil\n{forged}.jpg", PHOTO)
    done = run_azure("-vv")
    lines = done.stderr.splitlines()
    assert any("evil" in line for line in lines)  # the upload was logged...
    assert not any(line.startswith(forged) for line in lines)  # ...on its own line, escaped
    assert all(LOG_LINE.match(line) or line.startswith("  | ") for line in lines), lines
    (record,) = records()
    assert "\n" not in record.raw_name and record.status == "gold"


def test_7_vv_with_a_sas_connection_string_never_prints_the_signature(azure_env: dict[str, str],
                                                                     store: AzureBlobStore) -> None:
    sas = generate_account_sas(AZURITE_ACCOUNT, AZURITE_KEY, ResourceTypes(service=True, container=True, object=True),
                               AccountSasPermissions(read=True, write=True, delete=True, list=True, add=True,
                                                     create=True, update=True),
                               expiry=datetime.now(UTC) + timedelta(hours=1))
    signature = parse_qs(sas)["sig"][0]
    port = azure_env["IMAGES_STORAGE"].rsplit(":", 1)[1].split("/")[0]
    env = {"IMAGES_STORAGE": f"BlobEndpoint=http://{HOST}:{port}/{AZURITE_ACCOUNT};SharedAccessSignature={sas}"}
    store.put("uploads/u1/p.jpg", PHOTO)
    quiet = run_azure("-vv", env=env)
    assert signature not in quiet.stderr and "urllib3" not in quiet.stderr and "INFO shared." in quiet.stderr
    named = imgpipe("-vv", "--debug-log", "urllib3", "--debug-log", "azure", "run", "--backend", "azure",
                    "--settle", "0", "--classifier", "none", env=env)
    assert named.returncode == 0 and "urllib3" in named.stderr and "sig=REDACTED" in named.stderr
    assert signature not in named.stderr and AZURITE_KEY not in named.stderr


class Echo(BaseHTTPRequestHandler):
    """A scoring endpoint that answers 500 with the request's headers, Authorization included."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = "upstream failed; request was:\n" + "".join(f"{k}: {v}\n" for k, v in self.headers.items())
        data = body.encode()
        self.send_response(500)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_8_an_endpoint_echoing_its_key_never_puts_it_in_a_record_a_dead_letter_or_an_error(
        azure_env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    server = ThreadingHTTPServer((HOST, 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://{HOST}:{server.server_address[1]}/score"
        classifier = EndpointClassifier(url, key=ENDPOINT_KEY, timeout=5, max_attempts=1)
        app = bootstrap(Settings.from_env(), queue=RecordingQueue(), create_missing=True,
                        classifier_factory_override=lambda: classifier)
        svc = app.services
        app.store.put("uploads/u1/p.jpg", PHOTO)
        record = handlers.ingest(svc, "uploads/u1/p.jpg")
        cleanse(svc, {"upload_id": record.upload_id})
        actions, raised = RecordingActions(), []
        with caplog.at_level(logging.DEBUG):
            for attempt in range(1, svc.settings.retry.max_attempts + 1):
                body = {"upload_id": record.upload_id}
                message = servicebus_message(body, record.upload_id, attempt)
                delivery = Delivery(message, json.dumps(body).encode(), record.upload_id, attempt)
                try:
                    handlers.classify(svc, [delivery], actions)
                except errors.TransientError as exc:
                    raised.append(str(exc) + repr(exc.__cause__))
    finally:
        server.shutdown()
        server.server_close()
    failed = svc.meta.get(record.upload_id)
    assert failed.status == "failed" and "upstream failed" in failed.reason_detail
    assert "Bearer REDACTED" in failed.reason_detail
    (_, _, description), = actions.dead_lettered
    for text in (failed.reason_detail, description, *raised, caplog.text):
        assert ENDPOINT_KEY not in text
    assert "\n" not in failed.reason_detail


def test_9_user_ids_and_size_first_hold_on_azure(store: AzureBlobStore) -> None:
    for name in ("bob-smith-7e50351d/a.jpg", "bob smith/a.jpg", "anonymous/a.jpg", "root.jpg"):
        store.put(f"uploads/{name}", jpeg(photo(64, 48, seed=len(name))))
    store.put("uploads/u/big.jpg", b"\xff\xd8\xff" + bytes(30_000))
    run_azure(env={"IMGPIPE_MAX_BYTES": "20000"})
    found = {r.upload_path: r for r in records()}
    users = {path: r.user_id for path, r in found.items() if "big" not in path}
    assert len(set(users.values())) == 4 and users["uploads/root.jpg"] == "anonymous"
    assert users["uploads/anonymous/a.jpg"] == "~anonymous" and users["uploads/bob smith/a.jpg"] == "~bob%20smith"
    big = found["uploads/u/big.jpg"]
    assert (big.status, big.reason, big.raw_path) == ("rejected", "file_too_large", "")
    bronze = [i.path for i in store.list("bronze")]
    assert len(bronze) == 4 and {p.split("/")[4] for p in bronze} == set(users.values())


def test_10_a_batch_that_could_outlast_its_lease_is_refused_at_start_up(azure_env: dict[str, str]) -> None:
    done = imgpipe("run", "--backend", "azure", "--classifier", f"http://{HOST}:9/score",
                   env={"ML_ENDPOINT_TIMEOUT": "120"})
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "ML_ENDPOINT_TIMEOUT=120" in done.stderr and "300 s job lease" in done.stderr


def test_10_concurrent_runs_do_not_copy_the_same_upload_twice(store: AzureBlobStore) -> None:
    store.put("uploads/u1/p.jpg", PHOTO)
    info = store.info("uploads/u1/p.jpg")
    first = store.copy(info.path, "bronze/x/p.jpg", expect=info)
    etag = store.service.get_blob_client("bronze", "x/p.jpg").get_blob_properties().etag
    second = store.copy(info.path, "bronze/x/p.jpg", expect=info)  # another run, same upload version
    store._copied = lambda path: None  # and one that raced past the existence check: the commit decides
    third = store.copy(info.path, "bronze/x/p.jpg", expect=info)
    assert first == second == third
    assert store.service.get_blob_client("bronze", "x/p.jpg").get_blob_properties().etag == etag  # written once
