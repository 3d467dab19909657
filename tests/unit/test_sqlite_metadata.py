"""The SQLite metadata store's etag: it names the version this writer wrote, never a later one."""

from __future__ import annotations

import pytest

from shared.adapters.sqlite_db import connect
from shared.adapters.sqlite_metadata import SqliteMetadataStore
from shared.ports import ConcurrencyError
from shared.records import Record


class WriterSneaksIn:
    """A connection on which another process writes the record right after our first update."""

    def __init__(self, conn, other) -> None:
        self.conn, self.other, self.armed, self.fired = conn, other, False, False

    def execute(self, sql, *args):
        if self.armed and not self.fired:
            self.fired = True
            self.other.execute("UPDATE records SET version = version + 1 WHERE upload_id = 'a'")
        cursor = self.conn.execute(sql, *args)
        self.armed = self.armed or sql.startswith("UPDATE records")
        return cursor


def test_a_write_right_after_ours_is_not_mistaken_for_ours(tmp_path):
    conn, other = connect(tmp_path / "db.sqlite"), connect(tmp_path / "db.sqlite")
    try:
        store = SqliteMetadataStore(WriterSneaksIn(conn, other))
        store.create(Record("a", "u", "bronze", "t", "t", "n", "bronze/a", 1, "s"))
        record = store.get("a")
        record.status = "silver"
        store.put(record)
        record.status = "gold"
        with pytest.raises(ConcurrencyError):  # the other writer's change must not be overwritten blindly
            store.put(record)
    finally:
        conn.close()
        other.close()
