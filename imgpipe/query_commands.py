"""Commands that look at the pipeline: status, records, and the dead-letter queue."""

from __future__ import annotations

import logging
from collections import Counter

import click

from imgpipe.cli import Context, backend_option, cli, fail
from imgpipe.output import emit_json, emit_json_lines, status_table
from shared.layout import Zone
from shared.ports import RecordQuery
from shared.records import STATUSES, Status

log = logging.getLogger(__name__)
PROBLEMS = (Status.REJECTED, Status.FAILED, Status.LOST)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--errors", "error_count", type=int, default=10, show_default=True, help="Recent errors to show.")
@backend_option
@click.pass_obj
def status(obj: Context, as_json: bool, error_count: int, backend: str) -> None:
    """Counts per status and reason, dead letters per queue, skipped inputs, and the most recent errors.

    Only reads: works on a data dir it cannot write. -v lists the skipped inputs.

    \b
    Example:
      imgpipe status --json | jq .counts
      imgpipe status --backend azure
    """
    skipped: Counter[str] = Counter()

    def skip(path: str, reason: str) -> None:
        skipped[reason] += 1
        log.info("skipped %r: %s", path, reason)

    with obj.operations(backend, read_only=True) as ops:
        counts, dead = ops.services.meta.counts(), ops.dead_letters.counts()
        problems = list(ops.services.meta.scan(RecordQuery(statuses=PROBLEMS)))
        for _ in ops.services.store.list(Zone.UPLOADS, skip):
            pass
    reasons: dict[str, Counter[str]] = {}
    for r in problems:
        reasons.setdefault(r.status, Counter())[r.reason or "?"] += 1
    recent = sorted(problems, key=lambda r: r.updated_ts or "", reverse=True)[:error_count]
    errors = [{"upload_id": r.upload_id, "status": r.status, "reason": r.reason, "detail": r.reason_detail,
               "raw_name": r.raw_name} for r in recent]
    if as_json:
        emit_json({"counts": counts, "reasons": reasons, "skipped": dict(skipped), "dead_letters": dead,
                   "recent_errors": errors})
        return
    click.echo(status_table(counts, dead))
    for status_name, by_reason in sorted(reasons.items()):
        click.echo(f"{status_name}: " + ", ".join(f"{k} {n}" for k, n in sorted(by_reason.items())))
    if skipped:
        click.echo("skipped inputs (-v lists them): " + ", ".join(f"{k} {n}" for k, n in sorted(skipped.items())))
    if errors:
        click.echo("\nrecent errors:")
        for e in errors:
            click.echo(f"  {e['upload_id'][:12]}  {e['status']:<9} {e['reason'] or '':<18} {e['raw_name']!r}")


@cli.command()
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only records in this status (repeatable).")
@click.option("--user", help="Only this user's records.")
@click.option("--limit", type=int, default=None, help="At most this many records.")
@click.option("--all", "include_superseded", is_flag=True,
              help="Include records superseded by a newer upload of the same name (history).")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of whole records (snake_case keys).")
@backend_option
@click.pass_obj
def records(obj: Context, statuses: tuple[str, ...], user: str | None, limit: int | None,
            include_superseded: bool, as_json: bool, backend: str) -> None:
    """List gold records (the current version of each upload unless --all).

    \b
    Example:
      imgpipe records --status needs_review --json
      imgpipe records --backend azure --status rejected
      imgpipe records --all --user seller42      # with the versions a re-upload replaced
    """
    query = RecordQuery(statuses=statuses, user_id=user, limit=limit, current_only=not include_superseded)
    with obj.operations(backend, read_only=True) as ops:
        found = ops.services.meta.scan(query)
        if as_json:
            emit_json_lines(r.to_dict() for r in found)
            return
        for r in found:
            what = r.label or r.reason or r.duplicate_of or ""
            click.echo(f"{r.upload_id[:12]}  {r.status:<12} {r.user_id:<16} {r.raw_name[:40]!r:<44} {what}")


@cli.group()
def dlq() -> None:
    """The dead-letter queue: messages whose retries ran out, or that could not be understood."""


@dlq.command("list")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many dead letters.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@backend_option
@click.pass_obj
def dlq_list(obj: Context, limit: int, as_json: bool, backend: str) -> None:
    """List dead letters with their reason and last error.

    \b
    Example:
      imgpipe dlq list
      imgpipe dlq list --backend azure   # the Functions app's Service Bus DLQs (cleanse, classify)
    """
    with obj.operations(backend, read_only=True) as ops:
        rows = [d.to_dict() for d in ops.dead_letters.list(limit)]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no dead letters")
    for row in rows:
        click.echo(f"{row['queue']:<9} {row['message_id']}  attempts={row['attempts']}  "
                   f"{row['reason'] or ''}: {row['detail'] or ''}")


@dlq.command("replay")
@click.option("--id", "message_id", help="Replay one message (its message_id, the upload id).")
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter.")
@backend_option
@click.pass_obj
def dlq_replay(obj: Context, message_id: str | None, replay_all: bool, backend: str) -> None:
    """Send dead letters again: locally the next `imgpipe run` processes them, in Azure the Functions app.

    \b
    Example:
      imgpipe dlq replay --all && imgpipe run
      imgpipe dlq replay --backend azure --id 3f2a...   # resubmit to its Service Bus queue
    """
    if bool(message_id) == replay_all:
        fail("give exactly one of --id ID or --all")
    with obj.operations(backend) as ops:
        count = ops.dead_letters.replay(None if replay_all else message_id)
    click.echo(f"replayed {count} message(s)")
