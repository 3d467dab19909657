"""Commands that move images through the pipeline: run, watch, archive."""

from __future__ import annotations

import os

import click

from imgpipe.backends import local_only
from imgpipe.cli import Context, backend_option, cli, fail, parse_age
from imgpipe.output import ProgressPrinter, emit_json, status_table
from shared.runner import RunOptions, RunReport, run_once
from shared.runtime import AlreadyRunning

MAX_WORKERS = 64
CLASSIFIER_HELP = "'local' (in-process model, default), an Azure ML scoring URL, or 'none' to stop at gold."
workers_option = click.option(
    "--workers", type=click.IntRange(1, MAX_WORKERS), default=lambda: min(os.cpu_count() or 1, MAX_WORKERS),
    show_default="CPU count", help="Worker processes for cleansing and classifying.")
classifier_option = click.option("--classifier", default="local", show_default=True, help=CLASSIFIER_HELP)


@cli.command()
@workers_option
@classifier_option
@click.option("--settle", type=float, default=0.0, show_default=True,
              help="Skip uploads modified in the last N seconds (writers that upload straight into uploads/).")
@click.option("--wait", "lock_timeout", type=float, default=10.0, show_default=True,
              help="Seconds to wait for another run (same data dir, or same Azure account) before stepping aside.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@backend_option
@click.pass_obj
def run(obj: Context, workers: int, classifier: str, settle: float, lock_timeout: float, as_json: bool,
        quiet: bool, backend: str) -> None:
    """Process everything pending once: new uploads to bronze, silver, gold, classified.

    Also finishes what the records say is unfinished (a killed run, records
    left at gold by '--classifier none'). Safe to run from cron and to start
    twice: the second run waits, then steps aside. Exit code 0 when every
    input reached a terminal state (rejected ones included); 2 when the
    pipeline itself cannot work.

    \b
    Example:
      imgpipe --data-dir data run --workers 2
      imgpipe run --quiet --settle 5                   # from cron, while sellers upload over SFTP
      imgpipe run --backend azure --classifier none   # Blob Storage + Cosmos DB, in-process queue
    """
    options = RunOptions(workers=workers, settle=settle, wait=lock_timeout)
    try:
        with obj.runtime(backend, classifier) as rt:
            report = run_once(rt, options, progress=None if quiet or as_json else ProgressPrinter())
    except AlreadyRunning as exc:
        click.echo(f"imgpipe: {exc}; stepping aside", err=True)
        return
    show_report(obj, backend, report, as_json)


def show_report(obj: Context, backend: str, report: RunReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(f"ingested {report.ingested} upload(s), resumed {report.resumed}, handled {report.handled} "
                   f"job(s) in {report.seconds:.1f}s")
        with obj.operations(backend) as ops:
            click.echo(status_table(report.counts, ops.dead_letters.counts()))
    if report.unreadable:
        # Everything else was processed; inputs that never reached a terminal state make the exit non-zero.
        fail(f"{len(report.unreadable)} upload(s) could not be read and have no record yet: "
             + "; ".join(report.unreadable[:5]))


@cli.command()
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between scans of uploads/.")
@click.option("--settle", type=float, default=1.0, show_default=True,
              help="A file is taken once its size and mtime are unchanged this long.")
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), default=1, show_default=True)
@classifier_option
@backend_option
@click.pass_obj
def watch(obj: Context, interval: float, settle: float, workers: int, classifier: str, backend: str) -> None:
    """Process uploads as they arrive, until Ctrl-C.

    \b
    Example:
      imgpipe watch --interval 2 &
      cp ~/photos/shoe.jpg data/uploads/seller42/
    """
    from shared.local.watch import watch as watch_uploads

    local_only(backend, "watch", "the Functions app's blob trigger processes each upload as it arrives; "
               "or schedule 'imgpipe run --backend azure'")
    try:
        ingested = watch_uploads(obj.settings, interval=interval, settle=settle, workers=workers,
                                 classifier=classifier, progress=ProgressPrinter())
    except AlreadyRunning as exc:
        fail(f"{exc}; stop it first")
    click.echo(f"watched and ingested {ingested} upload(s)")


@cli.command()
@click.option("--older-than", "age", default="30d", show_default=True, help="Age of the bronze copy, e.g. 30d, 12h.")
@click.option("--dry-run", is_flag=True, help="Only list what would move.")
@backend_option
@click.pass_obj
def archive(obj: Context, age: str, dry_run: bool, backend: str) -> None:
    """Move bronze copies older than N days to archive/ (records follow).

    \b
    Example:
      imgpipe archive --older-than 30d --dry-run
    """
    from shared.local.archive import archive as archive_bronze
    from shared.local.bootstrap import bootstrap

    local_only(backend, "archive", "a storage lifecycle rule moves bronze blobs to the Archive tier after "
               "BRONZE_ARCHIVE_AFTER_DAYS (infra/modules/storage-images.bicep); nothing to run")
    older_than = parse_age(age)
    with bootstrap(obj.settings, classifier="none") as rt, rt.lock(30):
        moved = archive_bronze(rt, older_than, dry_run=dry_run)
    click.echo(f"{'would archive' if dry_run else 'archived'} {len(moved)} bronze object(s)")
