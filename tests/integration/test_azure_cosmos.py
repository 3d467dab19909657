"""CosmosMetadataStore against the Cosmos DB stand-in, held to the same contract as SqliteMetadataStore."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.adapters.cosmos_metadata import CosmosMetadataStore, provision
from shared.adapters.sqlite_db import connect
from shared.adapters.sqlite_metadata import SqliteMetadataStore
from shared.azure import connections
from shared.ports import ConcurrencyError, MetadataStore
from shared.records import Record


def make_record(upload_id: str, status: str = "bronze", ts: str = "2026-11-30T10:00:00.000000Z") -> Record:
    return Record(upload_id=upload_id, user_id="seller1", status=status, upload_ts=ts, ingest_ts=ts,
                  raw_name="ünïcødé 商品 ✓.jpg", raw_path=f"bronze/2026/11/30/seller1/{upload_id}.jpg",
                  raw_size=123, sha256="ab" * 32, lineage=[{"stage": "bronze", "path": "bronze/x", "ts": ts}],
                  predictions=[{"model_version": "m1", "label": "espresso", "confidence": 0.9}])


@pytest.fixture
def cosmos(azure_env: dict[str, str]) -> CosmosMetadataStore:
    client = connections.cosmos_client()
    database = client.create_database_if_not_exists(azure_env["COSMOS_DATABASE"])
    provision(database)
    return CosmosMetadataStore(database)


@pytest.fixture(params=["sqlite", "cosmos"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetadataStore]:
    if request.param == "cosmos":
        yield request.getfixturevalue("cosmos")
        return
    conn = connect(tmp_path / "meta.db")
    yield SqliteMetadataStore(conn)
    conn.close()


def test_get_of_an_unknown_id_is_none(store: MetadataStore) -> None:
    assert store.get("0" * 32) is None


def test_put_then_get_round_trips_every_field(store: MetadataStore) -> None:
    record = make_record("a" * 32)
    store.put(record)
    assert record.etag is not None
    assert store.get("a" * 32) == record


def test_stale_etag_is_a_concurrency_error(store: MetadataStore) -> None:
    store.put(make_record("b" * 32))
    first, second = store.get("b" * 32), store.get("b" * 32)
    assert first is not None and second is not None
    first.status = "silver"
    store.put(first)
    second.status = "rejected"
    with pytest.raises(ConcurrencyError):
        store.put(second)
    assert store.get("b" * 32).status == "silver"  # type: ignore[union-attr]


def test_create_is_insert_only(store: MetadataStore) -> None:
    assert store.create(make_record("c" * 32)) is True
    assert store.create(make_record("c" * 32, status="gold")) is False
    assert store.get("c" * 32).status == "bronze"  # type: ignore[union-attr]


def test_checksum_claim_has_one_owner_under_a_race(store: MetadataStore) -> None:
    owners: list[str] = []
    threads = [threading.Thread(target=lambda i=i: owners.append(store.claim_checksum("cd" * 32, f"{i:032x}")))
               for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(owners)) == 1 and len(owners) == 6
    assert store.claim_checksum("cd" * 32, "f" * 32) == owners[0]


def test_find_filters_orders_and_limits_and_counts_count(store: MetadataStore) -> None:
    rows = [("gold", "03"), ("rejected", "01"), ("gold", "02"), ("gold", "02")]
    for i, (status, second) in enumerate(rows):
        store.put(make_record(f"{i + 1:032x}", status=status, ts=f"2026-11-30T10:00:{second}.000000Z"))
    gold = store.find(status="gold")
    assert [r.upload_id[-1] for r in gold] == ["3", "4", "1"]
    assert len(store.find(limit=2)) == 2 and len(store.find()) == 4
    assert store.counts() == {"gold": 3, "rejected": 1}


def test_request_charge_is_accounted_per_operation(cosmos: CosmosMetadataStore) -> None:
    cosmos.charges.reset()
    cosmos.get("e" * 32)  # a 404 is billed too
    cosmos.put(make_record("e" * 32))
    cosmos.claim_checksum("ef" * 32, "e" * 32)
    cosmos.claim_checksum("ef" * 32, "f" * 32)
    snap = cosmos.charges.snapshot()
    assert snap["calls"] == {"read": 1, "upsert": 1, "claim": 2, "read_claim": 1}
    assert snap["total_ru"] > 0 and set(snap["ru"]) == set(snap["calls"])


def test_items_are_the_record_plus_id(cosmos: CosmosMetadataStore) -> None:
    cosmos.put(make_record("d" * 32))
    item = cosmos.records.read_item("d" * 32, partition_key="d" * 32)
    assert item["id"] == item["upload_id"] == "d" * 32 and item["raw_name"] == "ünïcødé 商品 ✓.jpg"
    assert "etag" not in item
