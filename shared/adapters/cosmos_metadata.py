"""Metadata store on Cosmos DB for NoSQL, with the semantics of ``SqliteMetadataStore``.

Two containers, both partitioned on ``/id`` so that every lookup the
pipeline makes is a point read (1 RU for a small item) rather than a query:

- ``records``: one item per upload, ``id = upload_id``, the record's fields
  as they are (snake_case); ``_etag`` is the optimistic-concurrency token;
- ``checksums``: one item per sha256, ``id = sha256``, naming the upload
  that owns those bytes. Claiming is a conditional create: exactly one
  writer gets 201, every other gets 409 and point-reads the owner.
- ``names``: one item per upload path, ``id`` = a hash of the path (ids may
  not hold ``/``), pointing at the path's current record (re-uploads);
  moved by conditional replace on its ``_etag``.

Only ``find`` and ``counts`` (CLI and operators, never the hot path) query
across partitions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from azure.core import MatchConditions
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)

from shared.adapters.cosmos_requests import RequestCharges, Requester
from shared.layout import CHECKSUMS_CONTAINER, COSMOS_CONTAINERS, NAMES_CONTAINER, RECORDS_CONTAINER
from shared.naming import path_key
from shared.ports import ConcurrencyError, CurrentUpload, MetadataStore, RecordQuery, StoreUnavailable
from shared.records import STATUSES, Record

# Cosmos adds these to every item; they are not record fields.
_SYSTEM = ("_rid", "_self", "_etag", "_attachments", "_ts", "id")


class CosmosMetadataStore(MetadataStore):
    def __init__(self, database: Any, requester: Requester | None = None) -> None:
        """``database`` is a ``DatabaseProxy``; containers are expected to exist (``infra/`` or ``provision``)."""
        self.records = database.get_container_client(RECORDS_CONTAINER)
        self.checksums = database.get_container_client(CHECKSUMS_CONTAINER)
        self.names = database.get_container_client(NAMES_CONTAINER)
        self.request = requester or Requester(service=f"Cosmos DB ({_host(database)})")

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

    def get_current(self, upload_path: str) -> CurrentUpload | None:
        key = path_key(upload_path)
        try:
            item = self.request("read_name", lambda hook: self.names.read_item(key, partition_key=key,
                                                                                response_hook=hook))
        except CosmosResourceNotFoundError:
            return None
        return CurrentUpload(upload_path, str(item["upload_id"]), item.get("previous"), item["_etag"])

    def set_current(self, pointer: CurrentUpload) -> bool:
        body = {"id": path_key(pointer.upload_path), "upload_path": pointer.upload_path,
                "upload_id": pointer.upload_id, "previous": pointer.previous}
        try:
            if pointer.etag is None:
                self.request("create_name", lambda hook: self.names.create_item(body, response_hook=hook))
            else:
                self.request("replace_name", lambda hook: self.names.replace_item(
                    body["id"], body, etag=pointer.etag, match_condition=MatchConditions.IfNotModified,
                    response_hook=hook))
        except (CosmosResourceExistsError, CosmosAccessConditionFailedError, CosmosResourceNotFoundError):
            return False
        return True

    def scan(self, query: RecordQuery) -> Iterator[Record]:
        where, params = _where(query)
        top = f"TOP {int(query.limit)} " if query.limit else ""
        items = self._query("query:find", f"SELECT {top}* FROM c{where} ORDER BY c.upload_ts", params)
        # Ties on upload_ts are ordered by id here: a two-field ORDER BY would need a composite index.
        return iter(sorted((_record(i) for i in items), key=lambda r: (r.upload_ts, r.upload_id)))

    def counts(self) -> dict[str, int]:
        query = "SELECT VALUE COUNT(1) FROM c WHERE c.status = @status"
        counts = {}
        for status in STATUSES:
            (n,) = self._query("query:count", query, [{"name": "@status", "value": status}])
            if n:
                counts[status] = int(n)
        return counts

    def _query(self, op: str, query: str, params: list[dict[str, Any]]) -> list[Any]:
        try:
            return self.request(op, lambda hook: list(self.records.query_items(
                query, parameters=params, enable_cross_partition_query=True, response_hook=hook)))
        except CosmosResourceNotFoundError:
            raise StoreUnavailable(f"{self.request.service}: database or container '{RECORDS_CONTAINER}' not "
                                   "found (deploy infra/, or run 'imgpipe run --backend azure' once on an "
                                   "emulator)") from None


def _host(database: Any) -> str:
    url = str(getattr(getattr(database, "client_connection", None), "url_connection", "") or "")
    return urlparse(url).netloc or "?"


def provision(database: Any) -> None:
    """Create the two containers if missing: for emulators and tests; in Azure ``infra/`` declares them."""
    from azure.cosmos import PartitionKey

    for name in COSMOS_CONTAINERS:
        database.create_container_if_not_exists(name, partition_key=PartitionKey(path="/id"))


def _item(record: Record) -> dict[str, Any]:
    return {"id": record.upload_id, **record.to_dict()}


def _record(item: dict[str, Any]) -> Record:
    return Record.from_dict({k: v for k, v in item.items() if k not in _SYSTEM}, etag=item["_etag"])


def _where(query: RecordQuery) -> tuple[str, list[dict[str, Any]]]:
    """The query as a parameterized Cosmos SQL filter (the same predicate as ``RecordQuery.matches``)."""
    clauses: list[str] = []
    params: list[dict[str, Any]] = []

    def param(value: Any) -> str:
        name = f"@p{len(params)}"
        params.append({"name": name, "value": value})
        return name

    if query.statuses:
        clauses.append(f"c.status IN ({', '.join(param(str(s)) for s in query.statuses)})")
    for field, value in (("user_id", query.user_id), ("reason", query.reason), ("category", query.category)):
        if value is not None:
            clauses.append(f"c.{field} = {param(value)}")
    if query.since is not None:
        clauses.append(f"c.upload_ts >= {param(query.since)}")
    if query.current_only:
        clauses.append("(NOT IS_DEFINED(c.superseded_by) OR IS_NULL(c.superseded_by))")
    if query.after is not None:
        ts, upload_id = param(query.after[0]), param(query.after[1])
        clauses.append(f"(c.upload_ts > {ts} OR (c.upload_ts = {ts} AND c.id > {upload_id}))")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params
