"""``imgpipe export``: gold for downstream users (analytics, ML), as Parquet, CSV or JSON Lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from imgpipe.cli import Context, backend_option, cli
from shared.export import FORMATS, export
from shared.ports import RecordQuery
from shared.records import STATUSES, iso


def _since(text: str | None) -> str | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("use a date or an ISO 8601 time, e.g. 2026-12-01 or 2026-12-01T06:00") from None
    return iso(when if when.tzinfo else when.replace(tzinfo=UTC))


@cli.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="parquet", show_default=True)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="File to write.")
@click.option("--since", help="Only uploads at or after this date/time (UTC unless it says otherwise).")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES), help="Only this status (repeatable).")
@click.option("--all", "include_superseded", is_flag=True, help="Include records superseded by a re-upload.")
@backend_option
@click.pass_obj
def export_command(obj: Context, fmt: str, out: Path, since: str | None, statuses: tuple[str, ...],
                   include_superseded: bool, backend: str) -> None:
    """Write the current gold records to a file: one row per upload, the record's snake_case fields.

    Parquet is what Power BI, Synapse, Fabric and Spark read; lineage and
    predictions are JSON text in Parquet and CSV.

    \b
    Example:
      imgpipe export --out gold.parquet
      imgpipe export --format csv --out new.csv --since 2026-12-01 --backend azure
    """
    query = RecordQuery(statuses=statuses, since=_since(since), current_only=not include_superseded)
    with obj.operations(backend, read_only=True) as ops:
        count = export(ops.services.meta, fmt, out, query)
    click.echo(f"wrote {count} record(s) to {out} ({fmt})")
