"""Metadata store on Cosmos DB for NoSQL, with the semantics of ``SqliteMetadataStore``.

Two containers, both partitioned on ``/id`` so that every lookup the
pipeline makes is a point read (1 RU for a small item) rather than a query:

- ``records``: one item per upload, ``id = upload_id``, the record's fields
  as they are (snake_case); ``_etag`` is the optimistic-concurrency token;
- ``checksums``: one item per sha256, ``id = sha256``, naming the upload
  that owns those bytes. Claiming is a conditional create: exactly one
  writer gets 201, every other gets 409 and point-reads the owner.

Only ``find`` and ``counts`` (CLI and operators, never the hot path) query
across partitions.
"""

from __future__ import annotations

from typing import Any

from azure.core import MatchConditions
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)

from shared.adapters.cosmos_requests import RequestCharges, Requester
from shared.ports import ConcurrencyError, MetadataStore
from shared.records import STATUSES, Record
from shared.settings import CHECKSUMS_CONTAINER, RECORDS_CONTAINER

# Cosmos adds these to every item; they are not record fields.
_SYSTEM = ("_rid", "_self", "_etag", "_attachments", "_ts", "id")


class CosmosMetadataStore(MetadataStore):
    def __init__(self, database: Any, requester: Requester | None = None) -> None:
        """``database`` is a ``DatabaseProxy``; containers are expected to exist (``infra/`` or ``provision``)."""
        self.records = database.get_container_client(RECORDS_CONTAINER)
        self.checksums = database.get_container_client(CHECKSUMS_CONTAINER)
        self.request = requester or Requester()

    @property
    def charges(self) -> RequestCharges:
        """RU spent so far by this store, per operation kind: the figure to size Cosmos DB with."""
        return self.request.charges

    def get(self, upload_id: str) -> Record | None:
        try:
            item = self.request("read", lambda hook: self.records.read_item(
                upload_id, partition_key=upload_id, response_hook=hook))
        except CosmosResourceNotFoundError:
            return None
        return _record(item)

    def create(self, record: Record) -> bool:
        try:
            item = self.request("create", lambda hook: self.records.create_item(_item(record), response_hook=hook))
        except CosmosResourceExistsError:
            return False
        record.etag = item["_etag"]
        return True

    def put(self, record: Record) -> None:
        body = _item(record)
        try:
            if record.etag is None:
                item = self.request("upsert", lambda hook: self.records.upsert_item(body, response_hook=hook))
            else:
                item = self.request("replace", lambda hook: self.records.replace_item(
                    record.upload_id, body, etag=record.etag, match_condition=MatchConditions.IfNotModified,
                    response_hook=hook))
        except (CosmosAccessConditionFailedError, CosmosResourceNotFoundError) as exc:
            raise ConcurrencyError(record.upload_id) from exc
        record.etag = item["_etag"]

    def claim_checksum(self, sha256: str, upload_id: str) -> str:
        try:
            self.request("claim", lambda hook: self.checksums.create_item(
                {"id": sha256, "upload_id": upload_id}, response_hook=hook))
            return upload_id
        except CosmosResourceExistsError:
            owner = self.request("read_claim", lambda hook: self.checksums.read_item(
                sha256, partition_key=sha256, response_hook=hook))
            return str(owner["upload_id"])

    def find(self, status: str | None = None, limit: int | None = None) -> list[Record]:
        where, params = ("WHERE c.status = @status", [{"name": "@status", "value": status}]) if status else ("", [])
        top = f"TOP {int(limit)} " if limit else ""
        query = f"SELECT {top}* FROM c {where} ORDER BY c.upload_ts"
        items = self._query("query:find", query, params)
        # Ties on upload_ts are ordered by id here: a two-field ORDER BY would need a composite index.
        return sorted((_record(i) for i in items), key=lambda r: (r.upload_ts, r.upload_id))

    def counts(self) -> dict[str, int]:
        query = "SELECT VALUE COUNT(1) FROM c WHERE c.status = @status"
        counts = {}
        for status in STATUSES:
            (n,) = self._query("query:count", query, [{"name": "@status", "value": status}])
            if n:
                counts[status] = int(n)
        return counts

    def _query(self, op: str, query: str, params: list[dict[str, Any]]) -> list[Any]:
        return self.request(op, lambda hook: list(self.records.query_items(
            query, parameters=params, enable_cross_partition_query=True, response_hook=hook)))


def provision(database: Any) -> None:
    """Create the two containers if missing: for emulators and tests; in Azure ``infra/`` declares them."""
    from azure.cosmos import PartitionKey

    for name in (RECORDS_CONTAINER, CHECKSUMS_CONTAINER):
        database.create_container_if_not_exists(name, partition_key=PartitionKey(path="/id"))


def _item(record: Record) -> dict[str, Any]:
    return {"id": record.upload_id, **record.to_dict()}


def _record(item: dict[str, Any]) -> Record:
    return Record.from_dict({k: v for k, v in item.items() if k not in _SYSTEM}, etag=item["_etag"])
