"""The local runtime's SQLite database: one file, WAL mode, shared by processes.

WAL lets readers (``imgpipe status``) run while a worker writes, and the busy
timeout makes concurrent writers wait for each other instead of failing; past
the timeout the pipeline reports the database as locked and exits non-zero.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    upload_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    upload_ts TEXT NOT NULL,
    updated_ts TEXT,
    version INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_status ON records(status, upload_ts);
CREATE TABLE IF NOT EXISTS checksums (
    sha256 TEXT PRIMARY KEY,
    upload_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS names (
    path_key TEXT PRIMARY KEY,
    upload_id TEXT NOT NULL,
    previous TEXT,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    available_at REAL NOT NULL,
    lease_until REAL,
    last_error TEXT,
    dead_reason TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (queue, message_id)
);
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs(state, available_at);
"""

BUSY_TIMEOUT_S = 30.0


def connect(path: Path, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """Open (and create) the database; autocommit mode, transactions are explicit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.executescript(SCHEMA)
    _migrate(conn)
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    """Columns added since the first release, for data dirs made by it."""
    columns = {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}
    if "dead_reason" not in columns:
        conn.execute("ALTER TABLE jobs ADD COLUMN dead_reason TEXT")
