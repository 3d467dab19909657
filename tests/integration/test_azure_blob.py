"""AzureBlobStore against Azurite: the ObjectStore port's contract on real Blob Storage calls."""

from __future__ import annotations

import hashlib
import os

import pytest

from shared.adapters.azure_blob import AzureBlobStore
from shared.azure import connections
from shared.layout import IMAGE_CONTAINERS as CONTAINERS
from shared.ports import MissingObject


@pytest.fixture
def store(azure_env: dict[str, str]) -> AzureBlobStore:
    store = AzureBlobStore(connections.blob_service_client())
    store.ensure_containers(CONTAINERS)
    return store


def test_put_get_head_exists_delete(store: AzureBlobStore) -> None:
    store.put("silver/2026/11/30/abc.jpg", b"\xff\xd8\xffhello")
    assert store.get("silver/2026/11/30/abc.jpg") == b"\xff\xd8\xffhello"
    assert store.head("silver/2026/11/30/abc.jpg", 3) == b"\xff\xd8\xff"
    assert store.exists("silver/2026/11/30/abc.jpg")
    store.delete("silver/2026/11/30/abc.jpg")
    store.delete("silver/2026/11/30/abc.jpg")  # deleting what is gone is fine
    assert not store.exists("silver/2026/11/30/abc.jpg")


def test_missing_objects_raise_missing_object(store: AzureBlobStore) -> None:
    for call in (lambda: store.get("uploads/nope"), lambda: store.head("uploads/nope", 8),
                 lambda: store.info("uploads/nope"), lambda: store.copy("uploads/nope", "bronze/x")):
        with pytest.raises(MissingObject):
            call()


def test_copy_is_byte_identical_and_hashes_what_it_wrote(store: AzureBlobStore) -> None:
    data = os.urandom(9 * 1024 * 1024 + 7)  # more than two download chunks
    store.put("uploads/u1/big.jpg", data)
    copied = store.copy("uploads/u1/big.jpg", "bronze/2026/11/30/u1/id.jpg")
    assert (copied.size, copied.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert store.get("bronze/2026/11/30/u1/id.jpg") == data


def test_empty_blob_copies_and_heads_as_empty(store: AzureBlobStore) -> None:
    store.put("uploads/u1/zero.jpg", b"")
    assert store.head("uploads/u1/zero.jpg", 64) == b""
    assert store.copy("uploads/u1/zero.jpg", "bronze/zero.bin").sha256 == hashlib.sha256(b"").hexdigest()


def test_info_version_is_the_etag_and_changes_with_the_bytes(store: AzureBlobStore) -> None:
    store.put("uploads/u1/a.jpg", b"one")
    first = store.info("uploads/u1/a.jpg")
    store.put("uploads/u1/a.jpg", b"two!")
    second = store.info("uploads/u1/a.jpg")
    assert first.version != second.version and second.size == 4 and second.modified.tzinfo is not None
    etag = connections.blob_service_client().get_blob_client("uploads", "u1/a.jpg").get_blob_properties().etag
    assert second.version == etag.strip('"')


def test_list_gives_full_paths_with_versions_and_odd_names(store: AzureBlobStore) -> None:
    names = ["uploads/u1/a.jpg", "uploads/u2/ünïcødé 商品 ✓.jpg", "uploads/u2/..jpg", "uploads/top.png"]
    for name in names:
        store.put(name, name.encode())
    store.put("bronze/elsewhere.jpg", b"x")
    listed = {info.path: info for info in store.list("uploads")}
    assert set(listed) == set(names)
    assert all(listed[n].version == store.info(n).version for n in names)
    assert {i.path for i in store.list("uploads/u2/")} == {"uploads/u2/ünïcødé 商品 ✓.jpg", "uploads/u2/..jpg"}


def test_paths_without_a_container_are_refused(store: AzureBlobStore) -> None:
    with pytest.raises(ValueError):
        store.get("no-container-separator")
