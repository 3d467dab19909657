"""Commands that look at the pipeline: status, records, and the dead-letter queue."""

from __future__ import annotations

import click

from imgpipe.cli import Context, backend_option, cli, fail
from imgpipe.output import emit_json, status_table
from shared.records import FAILED, REJECTED, STATUSES


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--errors", "error_count", type=int, default=10, show_default=True, help="Recent errors to show.")
@backend_option
@click.pass_obj
def status(obj: Context, as_json: bool, error_count: int, backend: str) -> None:
    """Counts per status, queued and dead-lettered jobs, and the most recent errors.

    \b
    Example:
      imgpipe status --json | jq .counts
      imgpipe status --backend azure
    """
    rt = obj.runtime(backend=backend)
    try:
        counts, jobs = rt.services.meta.counts(), rt.jobs.counts()
        problems = rt.services.meta.find(status=REJECTED) + rt.services.meta.find(status=FAILED)
    finally:
        rt.close()
    recent = sorted(problems, key=lambda r: r.updated_ts or "", reverse=True)[:error_count]
    errors = [{"upload_id": r.upload_id, "status": r.status, "reason": r.reason, "detail": r.reason_detail,
               "raw_name": r.raw_name} for r in recent]
    if as_json:
        emit_json({"counts": counts, "jobs": jobs, "recent_errors": errors})
        return
    click.echo(status_table(counts, jobs))
    if errors:
        click.echo("\nrecent errors:")
        for e in errors:
            click.echo(f"  {e['upload_id'][:12]}  {e['status']:<9} {e['reason']:<18} {e['raw_name']!r}")


@cli.command()
@click.option("--status", "status_filter", type=click.Choice(STATUSES), help="Only records in this status.")
@click.option("--limit", type=int, default=None, help="At most this many records.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of whole records (snake_case keys).")
@backend_option
@click.pass_obj
def records(obj: Context, status_filter: str | None, limit: int | None, as_json: bool, backend: str) -> None:
    """List gold records.

    \b
    Example:
      imgpipe records --status needs_review --json
      imgpipe records --backend azure --status rejected
    """
    rt = obj.runtime(backend=backend)
    try:
        found = rt.services.meta.find(status=status_filter, limit=limit)
    finally:
        rt.close()
    if as_json:
        emit_json([r.to_dict() for r in found])
        return
    for r in found:
        what = r.label or r.reason or r.duplicate_of or ""
        click.echo(f"{r.upload_id[:12]}  {r.status:<12} {r.user_id:<16} {r.raw_name[:40]!r:<44} {what}")


@cli.group()
def dlq() -> None:
    """The dead-letter queue: jobs whose retries ran out, or bad messages."""


@dlq.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@backend_option
@click.pass_obj
def dlq_list(obj: Context, as_json: bool, backend: str) -> None:
    """List dead-lettered jobs with their last error.

    \b
    Example:
      imgpipe dlq list
      imgpipe dlq list --backend azure   # the Functions app's Service Bus DLQs (ingest, classify)
    """
    rt = obj.runtime(backend=backend)
    try:
        dead = rt.jobs.dead()
    finally:
        rt.close()
    rows = [{"queue": j.queue, "message_id": j.message_id, "attempts": j.attempts, "error": j.last_error}
            for j in dead]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no dead letters")
    for row in rows:
        click.echo(f"{row['queue']:<9} {row['message_id']}  attempts={row['attempts']}  {row['error']}")


@dlq.command("replay")
@click.option("--id", "message_id", help="Replay one message (its message_id, the upload id).")
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter.")
@backend_option
@click.pass_obj
def dlq_replay(obj: Context, message_id: str | None, replay_all: bool, backend: str) -> None:
    """Send dead-lettered jobs again; the next `imgpipe run` processes them.

    \b
    Example:
      imgpipe dlq replay --all && imgpipe run
      imgpipe dlq replay --backend azure --id 3f2a...   # resubmit to its Service Bus queue
    """
    if bool(message_id) == replay_all:
        fail("give exactly one of --id ID or --all")
    rt = obj.runtime(backend=backend)
    try:
        count = rt.jobs.replay(None if replay_all else message_id)
    finally:
        rt.close()
    click.echo(f"replayed {count} message(s)")
