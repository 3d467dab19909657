"""``imgpipe reconcile``: the sweep for what no event or message will finish (``shared.reconcile``)."""

from __future__ import annotations

from dataclasses import replace

import click

from imgpipe.cli import Context, backend_option, cli
from imgpipe.output import emit_json
from shared.reconcile import ReconcileReport, reconcile


@cli.command("reconcile")
@click.option("--from-token", "token", help="Continue listing uploads/ after this name (a previous run's "
              "next_token).")
@click.option("--limit", type=click.IntRange(1, 100_000), help="Uploads examined per pass [env RECONCILE_LIMIT, "
              "default 500].")
@click.option("--grace", "grace_minutes", type=click.FloatRange(0), help="Leave uploads younger than this many "
              "minutes to their own event [env RECONCILE_GRACE_MINUTES, default 15].")
@click.option("--until-done", is_flag=True, help="Repeat passes until the end of uploads/ (bounded passes).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@backend_option
@click.pass_obj
def reconcile_command(obj: Context, token: str | None, limit: int | None, grace_minutes: float | None,
                      until_done: bool, as_json: bool, backend: str) -> None:
    """Find uploads with no record, records stuck past a deadline, and dead letters whose record is not failed.

    Uploads without a record are ingested, stuck records are sent to their queue
    again, records whose message is in a dead-letter queue are marked failed. In
    Azure the Functions app's timer runs the same sweep; locally `imgpipe run`
    then processes what it queued.

    \b
    Example:
      imgpipe reconcile --backend azure --json
      imgpipe reconcile --until-done --grace 0 && imgpipe run
    """
    policy = obj.settings.reconcile
    policy = replace(policy, limit=limit or policy.limit,
                     grace_minutes=policy.grace_minutes if grace_minutes is None else grace_minutes)
    reports: list[ReconcileReport] = []
    with obj.operations(backend, classifier=None, sends=True) as ops:
        while True:
            reports.append(reconcile(ops.services, ops.dead_letters, policy, token))
            token = reports[-1].next_token
            if not until_done or token is None:
                break
    if as_json:
        emit_json([r.to_dict() for r in reports] if until_done else reports[0].to_dict())
        return
    for report in reports:
        click.echo(f"examined {report.examined} upload(s) ({report.too_young} too young): "
                   f"{len(report.ingested)} ingested, {len(report.redriven)} re-driven, "
                   f"{len(report.marked_failed)} marked failed")
        for line in report.ingested:
            click.echo(f"  ingested       {line}")
        for line in report.redriven:
            click.echo(f"  re-driven      {line}")
        for line in report.marked_failed:
            click.echo(f"  marked failed  {line}")
    if reports[-1].next_token:
        click.echo(f"more uploads to examine: --from-token {reports[-1].next_token!r}")
