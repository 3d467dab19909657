"""Commands that move images through the pipeline: run, watch, archive, reclassify."""

from __future__ import annotations

import os

import click

from imgpipe.cli import Context, backend_option, cli, fail, parse_age
from imgpipe.output import ProgressPrinter, emit_json, status_table
from shared.local.archive import archive as archive_bronze
from shared.local.lock import AlreadyRunning, run_lock
from shared.local.runner import run_once
from shared.local.watch import watch as watch_uploads
from shared.stages import reclassify as reclassify_records

MAX_WORKERS = 64
CLASSIFIER_HELP = "'local' (in-process model, default), an Azure ML scoring URL, or 'none' to stop at gold."


@cli.command()
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), default=lambda: min(os.cpu_count() or 1, MAX_WORKERS),
              show_default="CPU count", help="Worker processes for cleansing and classifying.")
@click.option("--classifier", default="local", show_default=True, help=CLASSIFIER_HELP)
@click.option("--settle", type=float, default=0.0, show_default=True,
              help="Skip files modified in the last N seconds (writers that upload straight into uploads/).")
@click.option("--wait", "lock_timeout", type=float, default=10.0, show_default=True,
              help="Seconds to wait for another run on the same data dir before stepping aside.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@backend_option
@click.pass_obj
def run(obj: Context, workers: int, classifier: str, settle: float, lock_timeout: float, as_json: bool,
        quiet: bool, backend: str) -> None:
    """Process everything pending once: new uploads to bronze, silver, gold, classified.

    Safe to run from cron and to start twice: the second run waits, then steps
    aside. Exit code 0 when every input reached a terminal state (rejected
    ones included); 2 when the pipeline itself cannot work.

    \b
    Example:
      imgpipe --data-dir data run --workers 2
      imgpipe run --quiet --settle 5                   # from cron, while sellers upload over SFTP
      imgpipe run --backend azure --classifier none   # Blob Storage + Cosmos DB, in-process queue
    """
    try:
        if backend == "azure":
            from shared.azure.runner import run_once as run_azure

            report = run_azure(obj.settings, workers=workers, classifier=classifier,
                               progress=None if quiet or as_json else ProgressPrinter())
        else:
            report = run_once(obj.settings, workers=workers, classifier=classifier, lock_timeout=lock_timeout,
                              settle=settle, progress=None if quiet or as_json else ProgressPrinter())
    except AlreadyRunning as exc:
        click.echo(f"imgpipe: {exc}; stepping aside", err=True)
        return
    unreadable = report.unreadable
    if as_json:
        emit_json({"ingested": report.ingested, "handled": report.handled, "seconds": round(report.seconds, 3),
                   "counts": report.counts, "unreadable": unreadable})
        _fail_on_unreadable(unreadable)
        return
    click.echo(f"ingested {report.ingested} upload(s), handled {report.handled} job(s) in {report.seconds:.1f}s")
    rt = obj.runtime(backend=backend)
    try:
        click.echo(status_table(report.counts, rt.jobs.counts()))
    finally:
        rt.close()
    _fail_on_unreadable(unreadable)


def _fail_on_unreadable(unreadable: list[str]) -> None:
    """Everything else was processed; inputs that never reached a terminal state make the exit non-zero."""
    if unreadable:
        fail(f"{len(unreadable)} upload(s) could not be read and have no record yet: " + "; ".join(unreadable[:5]))


@cli.command()
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between scans of uploads/.")
@click.option("--settle", type=float, default=1.0, show_default=True,
              help="A file is taken once its size and mtime are unchanged this long.")
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), default=1, show_default=True)
@click.option("--classifier", default="local", show_default=True, help=CLASSIFIER_HELP)
@click.pass_obj
def watch(obj: Context, interval: float, settle: float, workers: int, classifier: str) -> None:
    """Process uploads as they arrive, until Ctrl-C.

    \b
    Example:
      imgpipe watch --interval 2 &
      cp ~/photos/shoe.jpg data/uploads/seller42/
    """
    try:
        ingested = watch_uploads(obj.settings, interval=interval, settle=settle, workers=workers,
                                 classifier=classifier, progress=ProgressPrinter())
    except AlreadyRunning as exc:
        fail(f"{exc}; stop it first")
    click.echo(f"watched and ingested {ingested} upload(s)")


@cli.command()
@click.option("--older-than", "age", default="30d", show_default=True, help="Age of the bronze copy, e.g. 30d, 12h.")
@click.option("--dry-run", is_flag=True, help="Only list what would move.")
@click.pass_obj
def archive(obj: Context, age: str, dry_run: bool) -> None:
    """Move bronze copies older than N days to archive/ (records follow).

    \b
    Example:
      imgpipe archive --older-than 30d --dry-run
    """
    older_than = parse_age(age)
    rt = obj.runtime()
    try:
        with run_lock(obj.settings.data_dir, timeout=30):
            moved = archive_bronze(rt, older_than, dry_run=dry_run)
    except AlreadyRunning as exc:
        fail(str(exc))
    finally:
        rt.close()
    click.echo(f"{'would archive' if dry_run else 'archived'} {len(moved)} bronze object(s)")


@cli.command()
@click.option("--model-version", required=True, help="Re-score records scored by any other model version.")
@click.option("--classifier", default="local", show_default=True, help=CLASSIFIER_HELP)
@click.pass_obj
def reclassify(obj: Context, model_version: str, classifier: str) -> None:
    """Re-score classified records with the current model; their prediction history is kept.

    \b
    Example:
      imgpipe reclassify --model-version efficientnet-lite0-int8-1a2b3c4d5e6f
    """
    rt = obj.runtime(classifier=classifier)
    try:
        with run_lock(obj.settings.data_dir, timeout=30):
            count = reclassify_records(rt.services, model_version)
    except (AlreadyRunning, ValueError) as exc:
        fail(str(exc))
    finally:
        rt.close()
    click.echo(f"re-scored {count} record(s) with {model_version}")
