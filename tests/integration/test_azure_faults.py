"""Issue 14 items 1-5 against Azurite and the Cosmos DB stand-in: bad blobs, races, stuck and lost records, outages."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from shared import naming
from shared.adapters.azure_blob import AzureBlobStore
from shared.azure import connections, handlers
from shared.azure.runtime import open_runtime
from shared.jobhost.pool import drain
from shared.layout import IMAGE_CONTAINERS
from shared.records import Record
from shared.runner import ingest_all, pending_uploads
from shared.settings import RetryPolicy, Settings
from tests.corpus import jpeg, photo
from tests.hardening import imgpipe
from tests.integration.azure_services import AzureServices, free_port

PHOTO_A, PHOTO_B = jpeg(photo(640, 480, seed=51)), jpeg(photo(640, 480, seed=52))


@pytest.fixture
def store(azure_env: dict[str, str]) -> AzureBlobStore:
    store = AzureBlobStore(connections.blob_service_client())
    store.ensure_containers(IMAGE_CONTAINERS)
    return store


def run_azure(*extra: str) -> dict[str, Any]:
    done = imgpipe("run", "--backend", "azure", "--settle", "0", "--classifier", "none", "--workers", "1", "--json",
                   *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def records() -> dict[str, Record]:
    done = imgpipe("records", "--backend", "azure", "--all", "--json")
    assert done.returncode == 0, done.stderr
    return {r["upload_path"]: Record.from_dict(r) for r in json.loads(done.stdout)}


def runtime() -> Any:
    return open_runtime(Settings.from_env(), classifier="none", create_missing=True)


def test_1_an_unreadable_or_archived_blob_fails_alone_and_the_run_goes_on(store: AzureBlobStore) -> None:
    try:
        _unreadable_and_archived(store)
    finally:  # a blob nobody may read or delete would break every later test's cleanup
        store.service.delete_container("uploads")


def _unreadable_and_archived(store: AzureBlobStore) -> None:
    store.put("uploads/u1/good.jpg", PHOTO_A)
    uploads = store.service.get_container_client("uploads")
    uploads.upload_blob("alice\\..\\bob\\x.jpg", PHOTO_B)  # lists, then answers 403 to every read
    store.put("uploads/u2/cold.jpg", PHOTO_B)
    uploads.get_blob_client("u2/cold.jpg").set_standard_blob_tier("Archive")
    report = run_azure()
    assert report["failed"] == {"forbidden": 1, "archived": 1} and report["counts"]["gold"] == 1
    found = records()
    assert found["uploads/u1/good.jpg"].status == "gold"
    assert (found["uploads/u2/cold.jpg"].status, found["uploads/u2/cold.jpg"].reason) == ("failed", "archived")
    (forbidden,) = [r for r in found.values() if r.reason == "forbidden"]
    assert forbidden.status == "failed" and "403" in (forbidden.reason_detail or "")
    status = json.loads(imgpipe("status", "--backend", "azure", "--json").stdout)
    assert status["reasons"]["failed"] == {"archived": 1, "forbidden": 1}
    assert run_azure()["counts"] == report["counts"]  # tried again, still failed, the run still fine
    svc = runtime()
    try:  # the Functions blob trigger on the same blob: a record, no exception for the host to retry forever
        record = handlers.ingest(svc.services, "uploads/" + forbidden.upload_path.split("/", 1)[1])
        assert record is not None and record.reason == "forbidden"
    finally:
        svc.close()


def test_2_a_blob_overwritten_between_listing_and_copy_is_taken_as_the_version_it_is(store: AzureBlobStore) -> None:
    store.put("uploads/u1/p.jpg", PHOTO_A)
    rt = runtime()
    try:
        listed = pending_uploads(rt)
        store.put("uploads/u1/p.jpg", PHOTO_B)  # the seller replaces it while the run is between list and copy
        ingest_all(rt, listed)
        drain(rt, 1)
    finally:
        rt.close()
    (record,) = records().values()
    current = store.info("uploads/u1/p.jpg")
    assert record.upload_id == naming.upload_id_for("uploads/u1/p.jpg", current.version)
    bronze = store.get(record.raw_path)
    assert record.sha256 == hashlib.sha256(PHOTO_B).hexdigest() == hashlib.sha256(bronze).hexdigest()
    assert record.status == "gold"


def test_3_a_run_killed_after_ingest_is_finished_from_bronze_after_its_upload_changed(store: AzureBlobStore) -> None:
    store.put("uploads/u1/deleted.jpg", PHOTO_A)
    store.put("uploads/u1/replaced.jpg", PHOTO_B)
    rt = runtime()
    try:
        ingest_all(rt, pending_uploads(rt))  # then the run is killed: its job queue dies with it
    finally:
        rt.close()
    store.delete("uploads/u1/deleted.jpg")
    newer = jpeg(photo(320, 240, seed=53))
    store.put("uploads/u1/replaced.jpg", newer)
    run_azure()
    done = imgpipe("records", "--backend", "azure", "--all", "--json")
    found = [Record.from_dict(r) for r in json.loads(done.stdout)]
    by_sha = {r.sha256: r for r in found}
    assert {r.status for r in found} == {"gold"} and len(found) == 3
    old, new = by_sha[hashlib.sha256(PHOTO_B).hexdigest()], by_sha[hashlib.sha256(newer).hexdigest()]
    # Linked as two versions of one upload: exactly one supersedes the other (within the same second of
    # last_modified, which one is "newer" is a tie the upload id breaks)
    assert (old.superseded_by == new.upload_id) != (new.superseded_by == old.upload_id)
    assert by_sha[hashlib.sha256(PHOTO_A).hexdigest()].upload_path == "uploads/u1/deleted.jpg"


def test_4_a_failed_record_without_bronze_is_copied_again_or_marked_lost(store: AzureBlobStore) -> None:
    store.put("uploads/u1/kept.jpg", PHOTO_A)
    store.put("uploads/u1/gone.jpg", PHOTO_B)
    settings = Settings.from_env().with_(retry=RetryPolicy(max_attempts=1))
    rt = open_runtime(settings, classifier="none", create_missing=True)
    try:
        ingest_all(rt, pending_uploads(rt))
        for record in rt.services.meta.find():
            store.delete(record.raw_path)  # bronze lost (a wrong lifecycle rule, an operator)
        drain(rt, 1)  # cleanse finds no bronze: retries run out, records failed
    finally:
        rt.close()
    assert {r.status for r in records().values()} == {"failed"}
    store.delete("uploads/u1/gone.jpg")
    report = run_azure()
    assert report["recovered"] == 1 and report["lost"] == 1
    found = records()
    assert found["uploads/u1/kept.jpg"].status == "gold"
    assert (found["uploads/u1/gone.jpg"].status, found["uploads/u1/gone.jpg"].reason) == ("lost", "bronze_missing")
    assert run_azure()["lost"] == 0  # lost is terminal: nothing is tried again


@pytest.mark.parametrize("service", ["storage", "cosmos"])
def test_5_an_unreachable_service_is_one_line_naming_it_and_exit_2(azure_env: dict[str, str], service: str) -> None:
    run_azure()  # the database and containers exist; then the service goes away
    closed = AzureServices(free_port(), free_port())  # nothing listens on these ports
    env = dict(azure_env)
    if service == "storage":
        env["IMAGES_STORAGE"] = closed.storage_connection_string
    else:
        env["COSMOS_ENDPOINT"] = closed.cosmos_endpoint
    for command in (["run", "--settle", "0", "--classifier", "none", "--workers", "2"], ["status"]):
        done = imgpipe(*command, "--backend", "azure", env=env, timeout=120)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert ("Blob Storage" if service == "storage" else "Cosmos DB") in done.stderr
        assert "unreachable" in done.stderr and "Connection refused" in done.stderr


def test_5_connections_are_bounded_to_seconds(azure_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's default backoff (15 s + 3^n) made an unreachable account take 86 s to report."""
    monkeypatch.setenv("IMGPIPE_CONNECT_TIMEOUT", "3")
    pipeline = connections.blob_service_client()._pipeline
    (retry,) = [p for p in pipeline._impl_policies if type(p).__name__ == "ExponentialRetry"]
    assert pipeline._transport.connection_config.timeout == 3
    assert (retry.connect_retries, retry.total_retries, retry.initial_backoff, retry.increment_base) == (2, 3, 1, 2)
