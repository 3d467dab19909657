"""Metadata store on SQLite: the local runtime's Cosmos DB.

The record is stored whole as JSON (the same document Cosmos holds) with the
fields that are queried copied into columns. ``version`` is the etag: an
update names the version it read and fails if someone wrote in between.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

from shared.naming import path_key
from shared.ports import ConcurrencyError, CurrentUpload, MetadataStore, RecordQuery
from shared.records import Record


class SqliteMetadataStore(MetadataStore):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def get(self, upload_id: str) -> Record | None:
        row = self.conn.execute("SELECT data, version FROM records WHERE upload_id = ?", (upload_id,)).fetchone()
        return Record.from_dict(json.loads(row["data"]), etag=str(row["version"])) if row else None

    def create(self, record: Record) -> bool:
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO records (upload_id, status, user_id, sha256, upload_ts, updated_ts, version, data)"
            " VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
            (*self._columns(record), json.dumps(record.to_dict())),
        )
        if cur.rowcount:
            record.etag = "1"
        return bool(cur.rowcount)

    def put(self, record: Record) -> None:
        data = json.dumps(record.to_dict())
        # RETURNING, not a second SELECT: another process may write in between, and its version
        # taken for ours would let our next put overwrite its change unchecked.
        if record.etag is None:
            row = self.conn.execute(
                "INSERT INTO records (upload_id, status, user_id, sha256, upload_ts, updated_ts, version, data)"
                " VALUES (?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT(upload_id) DO UPDATE SET status=excluded.status,"
                " user_id=excluded.user_id, sha256=excluded.sha256, upload_ts=excluded.upload_ts,"
                " updated_ts=excluded.updated_ts, version=records.version + 1, data=excluded.data RETURNING version",
                (*self._columns(record), data),
            ).fetchone()
        else:
            row = self.conn.execute(
                "UPDATE records SET status=?, user_id=?, sha256=?, upload_ts=?, updated_ts=?, version=version + 1,"
                " data=? WHERE upload_id=? AND version=? RETURNING version",
                (*self._columns(record)[1:], data, record.upload_id, int(record.etag)),
            ).fetchone()
            if row is None:
                raise ConcurrencyError(record.upload_id)
        record.etag = str(row["version"])

    @staticmethod
    def _columns(record: Record) -> tuple[str, str, str, str, str, str | None]:
        return (record.upload_id, record.status, record.user_id, record.sha256, record.upload_ts, record.updated_ts)

    def claim_checksum(self, sha256: str, upload_id: str) -> str:
        self.conn.execute("INSERT OR IGNORE INTO checksums (sha256, upload_id) VALUES (?, ?)", (sha256, upload_id))
        row = self.conn.execute("SELECT upload_id FROM checksums WHERE sha256 = ?", (sha256,)).fetchone()
        return str(row["upload_id"])

    def get_current(self, upload_path: str) -> CurrentUpload | None:
        row = self.conn.execute("SELECT upload_id, previous, version FROM names WHERE path_key = ?",
                                (path_key(upload_path),)).fetchone()
        return CurrentUpload(upload_path, row["upload_id"], row["previous"], str(row["version"])) if row else None

    def set_current(self, pointer: CurrentUpload) -> bool:
        if pointer.etag is None:
            cur = self.conn.execute("INSERT OR IGNORE INTO names (path_key, upload_id, previous, version)"
                                    " VALUES (?, ?, ?, 1)", (path_key(pointer.upload_path), pointer.upload_id,
                                                             pointer.previous))
        else:
            cur = self.conn.execute("UPDATE names SET upload_id = ?, previous = ?, version = version + 1"
                                    " WHERE path_key = ? AND version = ?",
                                    (pointer.upload_id, pointer.previous, path_key(pointer.upload_path),
                                     int(pointer.etag)))
        return bool(cur.rowcount)

    def scan(self, query: RecordQuery) -> Iterator[Record]:
        where, args = _where(query)
        sql = f"SELECT data, version FROM records{where} ORDER BY upload_ts, upload_id"
        if query.limit:
            sql += " LIMIT ?"
            args.append(query.limit)
        for row in self.conn.execute(sql, args):
            yield Record.from_dict(json.loads(row["data"]), etag=str(row["version"]))

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, COUNT(*) AS n FROM records GROUP BY status")
        return {r["status"]: r["n"] for r in rows}


def _where(query: RecordQuery) -> tuple[str, list[object]]:
    """The query as SQL; fields not copied into columns are read from the JSON document."""
    clauses: list[str] = []
    args: list[object] = []
    if query.statuses:
        clauses.append(f"status IN ({','.join('?' * len(query.statuses))})")
        args.extend(str(s) for s in query.statuses)
    for column, value in (("user_id", query.user_id), ("json_extract(data, '$.reason')", query.reason),
                          ("json_extract(data, '$.category')", query.category)):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    if query.since is not None:
        clauses.append("upload_ts >= ?")
        args.append(query.since)
    if query.current_only:
        clauses.append("json_extract(data, '$.superseded_by') IS NULL")
    if query.after is not None:
        clauses.append("(upload_ts > ? OR (upload_ts = ? AND upload_id > ?))")
        args.extend((query.after[0], query.after[0], query.after[1]))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args
