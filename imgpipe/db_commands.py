"""``imgpipe db``: back up and check the local runtime's database (gold/imgpipe.db)."""

from __future__ import annotations

from pathlib import Path

import click

from imgpipe.backends import local_only
from imgpipe.cli import Context, backend_option, cli, fail
from imgpipe.output import emit_json

COSMOS_BACKUP = ("Cosmos DB keeps continuous backups (point-in-time restore, infra/modules/cosmos.bicep); "
                 "'imgpipe export' writes the records to a file")


@cli.group("db")
def db() -> None:
    """The local runtime's database: backups and integrity checks."""


@db.command("backup")
@click.argument("target")
@backend_option
@click.pass_obj
def db_backup(obj: Context, target: str, backend: str) -> None:
    """Copy the database to TARGET (a file; a folder, or a path ending in /, gets a time-stamped name in it).

    Safe while a run writes.

    Uses SQLite's online backup API; the copy is checked and written whole or
    not at all. To restore: stop runs and watch, then copy it to gold/imgpipe.db.

    \\b
    Example:
      imgpipe db backup backups/                       # backups/imgpipe-20261204T030000Z.db
      0 3 * * * cd /srv/imgpipe && .venv/bin/imgpipe db backup /backups/imgpipe/   # cron, nightly
    """
    from shared.local.bootstrap import bootstrap
    from shared.local.database import backup

    local_only(backend, "db backup", COSMOS_BACKUP)
    with bootstrap(obj.settings, classifier="none", read_only=True) as rt:
        written = backup(rt.conn, Path(target), into_folder=target.endswith("/"))
    click.echo(f"backed up {written.stat().st_size} bytes to {written}")


@db.command("check")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@backend_option
@click.pass_obj
def db_check(obj: Context, as_json: bool, backend: str) -> None:
    """Check the database's integrity (PRAGMA integrity_check) and count its rows; exit 2 when it is damaged.

    \\b
    Example:
      imgpipe db check && echo sound
    """
    from shared.local.bootstrap import bootstrap
    from shared.local.database import integrity

    local_only(backend, "db check", "Cosmos DB checks its own storage")
    with bootstrap(obj.settings, classifier="none", read_only=True) as rt:
        problems = integrity(rt.conn)
        counts = {} if problems else {table: rt.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                                      for table in ("records", "checksums", "names", "jobs")}
    if as_json:
        emit_json({"ok": not problems, "problems": problems, "rows": counts})
    elif not problems:
        click.echo("ok: " + ", ".join(f"{n} {table}" for table, n in counts.items()))
    if problems:
        fail(f"the database is damaged ({len(problems)} problem(s)): {problems[0]}; restore it from a backup")
