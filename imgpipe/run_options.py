"""What the commands that run the pipeline share: the --workers and --classifier options, and the run report.

Its own module so that ``run``, ``reprocess`` and ``spark run`` use one
definition without importing each other's command modules.
"""

from __future__ import annotations

import os

import click

from imgpipe.cli import Context
from imgpipe.output import emit_json, status_table
from shared.runner import RunReport

MAX_WORKERS = 64
CLASSIFIER_HELP = "'local' (in-process model, default), an Azure ML scoring URL, or 'none' to stop at gold."
workers_option = click.option(
    "--workers", type=click.IntRange(1, MAX_WORKERS), default=lambda: min(os.cpu_count() or 1, MAX_WORKERS),
    show_default="CPU count", help="Worker processes for cleansing and classifying.")
classifier_option = click.option("--classifier", default="local", show_default=True, help=CLASSIFIER_HELP)


def show_intake(report: RunReport) -> None:
    """What happened to the inputs: the same lines for 'imgpipe run' and 'imgpipe spark run'."""
    for what, counts in (("not taken in (records say failed; tried again next run)", report.failed),
                         ("skipped (-v lists them)", report.skipped)):
        if counts:
            click.echo(f"{what}: " + ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items())))
    if report.verified:
        click.echo(f"content checked: {report.verified}, new bytes taken in: {report.changed}")
    if report.recovered or report.lost:
        click.echo(f"bronze copied again: {report.recovered}, lost: {report.lost}")


def show_report(obj: Context, backend: str, report: RunReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_dict())
        return
    click.echo(f"ingested {report.ingested} new upload(s), resumed {report.resumed}, handled {report.handled} "
               f"job(s) in {report.seconds:.1f}s")
    show_intake(report)
    with obj.operations(backend, read_only=True) as ops:
        click.echo(status_table(report.counts, ops.dead_letters.counts()))
