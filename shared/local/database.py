"""The local runtime's database file: never started over on top of data, corruption said in one line, backups.

The records are the pipeline's memory: human review verdicts, archive paths,
which upload owns which checksum. A missing or empty ``gold/imgpipe.db``
beside a bronze folder full of files means that memory was lost (a bad
restore, a ``truncate``, a wrong mount), not that this is a first run, so it
is refused with what to do instead of silently starting a new database.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from shared.adapters.sqlite_db import connect
from shared.errors import PipelineUnavailable
from shared.layout import Zone

GOLD_DIR = "gold"
DB_NAME = "imgpipe.db"
DATA_ZONES = (Zone.BRONZE, Zone.SILVER, Zone.ARCHIVE)
RESTORE_HINT = "restore it from a backup ('imgpipe db backup' makes one) or move bronze/, silver/ and archive/ aside"


class DatabaseUnusable(PipelineUnavailable):
    """The database is missing over existing data, or corrupt: exit 2 with what to do.

    Nothing here opens the database file other than through SQLite: closing any other descriptor of it
    would drop the POSIX locks SQLite holds on it in this process (``imgpipe serve`` opens one connection
    per thread), and another process would then take itself for the last user and delete the WAL.
    """


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / GOLD_DIR / DB_NAME


def open_database(data_dir: Path) -> sqlite3.Connection:
    """Open (or, on a data dir without data, create) the database; refuse to start over on top of data."""
    path = db_path(data_dir)
    size = path.stat().st_size if path.exists() else None
    if not size:
        found = _first_data_file(Path(data_dir), path)
        if found is not None:
            state = "missing" if size is None else "empty (0 bytes)"
            raise DatabaseUnusable(f"{path} is {state} but {found} exists: imgpipe will not start a new database "
                                   f"over existing data; {RESTORE_HINT} to start over")
    try:
        return connect(path)
    except sqlite3.OperationalError as exc:  # locked past the busy timeout, no permission, disk I/O
        raise DatabaseUnusable(f"metadata database {path} unavailable: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise corrupt(path, exc) from None


def open_read_only(data_dir: Path) -> sqlite3.Connection:
    """For commands that only read, on a data dir they may not write (a read-only mount, another user's files).

    SQLite needs to create ``imgpipe.db-shm`` to read a WAL database normally; where it cannot, the file is
    opened read-only, and immutable when no ``-wal`` file holds changes the main file does not have yet.
    """
    path = db_path(data_dir)
    if not path.is_file() or path.stat().st_size == 0:
        raise DatabaseUnusable(f"no database at {path} (and the data dir is not writable to create one)")
    wal = path.with_name(DB_NAME + "-wal")
    uris = [f"file:{path}?mode=ro"]
    if not wal.exists() or wal.stat().st_size == 0:
        uris.append(f"file:{path}?mode=ro&immutable=1")
    for uri in uris:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            conn.close()
            continue
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise corrupt(path, exc) from None
        conn.row_factory = sqlite3.Row
        return conn
    raise DatabaseUnusable(f"cannot read {path} without write access: {wal.name} holds changes not yet in the "
                           "database; run any imgpipe command once with write access to fold them in")


def corrupt(path: Path, exc: sqlite3.Error) -> DatabaseUnusable:
    return DatabaseUnusable(f"{path} is corrupt ({exc}): {RESTORE_HINT}; 'imgpipe db check' says more")


def quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """``PRAGMA quick_check`` (a few milliseconds per thousand records): a run never writes into a broken file."""
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:
        raise corrupt(path, exc) from None
    if rows != ["ok"]:
        raise corrupt(path, sqlite3.DatabaseError("; ".join(map(str, rows))))


def integrity(conn: sqlite3.Connection) -> list[str]:
    """Every problem ``PRAGMA integrity_check`` finds (empty when the database is sound)."""
    try:
        rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check(100)")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows


def backup(conn: sqlite3.Connection, target: Path, into_folder: bool = False) -> Path:
    """A consistent copy through SQLite's online backup API, safe while a run writes; written whole or not at all.

    With ``into_folder`` (or when ``target`` is an existing folder) the copy is ``imgpipe-<UTC time>.db`` in it.
    """
    target = Path(target)
    if into_folder or target.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        target = target / f"imgpipe-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.db"
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    out = sqlite3.connect(tmp)
    try:
        conn.backup(out)  # one step: the snapshot of a single read transaction
        out.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        problems = integrity(out)
    finally:
        out.close()
    if problems:
        tmp.unlink(missing_ok=True)
        raise DatabaseUnusable(f"the backup failed its integrity check: {problems[0]}")
    os.replace(tmp, target)
    return target


def _first_data_file(data_dir: Path, db: Path) -> Path | None:
    """Any file that only a database could account for: in bronze/, silver/, archive/, or a WAL beside the db."""
    wal = db.with_name(DB_NAME + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        return wal
    for zone in DATA_ZONES:
        for found in _files(data_dir / zone):
            return found
    return None


def _files(folder: Path) -> Iterator[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.is_file(follow_symlinks=False) and not entry.name.endswith(".tmp"):
            yield Path(entry.path)
        elif entry.is_dir(follow_symlinks=False):
            yield from _files(Path(entry.path))
