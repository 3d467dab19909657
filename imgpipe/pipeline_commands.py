"""Commands that move images through the pipeline: run, watch, archive."""

from __future__ import annotations

import click

from imgpipe.backends import local_only
from imgpipe.cli import Context, backend_option, cli, fail, parse_age
from imgpipe.output import ProgressPrinter
from imgpipe.run_options import MAX_WORKERS, classifier_option, show_report, workers_option
from shared.runner import RUN_SETTLE, RunOptions, run_once
from shared.runtime import AlreadyRunning

WATCH_SETTLE = 2.0


@cli.command()
@workers_option
@classifier_option
@click.option("--settle", type=click.FloatRange(0), default=RUN_SETTLE, show_default=True,
              help="Leave uploads modified (or renamed, touched) in the last N seconds for the next run: a writer "
              "may still be appending to them. 0 takes everything.")
@click.option("--verify", is_flag=True, help="Hash every upload again and take in changed bytes as new versions "
              "(also those whose size and mtime were kept).")
@click.option("--wait", "lock_timeout", type=float, default=10.0, show_default=True,
              help="Seconds to wait for another run (same data dir, or same Azure account) before stepping aside.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@backend_option
@click.pass_obj
def run(obj: Context, workers: int, classifier: str, settle: float, verify: bool, lock_timeout: float,
        as_json: bool, quiet: bool, backend: str) -> None:
    """Process everything pending once: new uploads to bronze, silver, gold, classified.

    Also finishes what the records say is unfinished (a killed run, records
    left at gold by '--classifier none'). Safe to run from cron and to start
    twice: the second run waits, then steps aside. Exit code 0 when every
    input reached a terminal state (rejected and failed ones included: their
    records say why); 2 when the pipeline itself cannot work.

    \b
    Example:
      imgpipe --data-dir data run --workers 2
      imgpipe run --quiet                              # from cron; files written in the last 10 s wait
      imgpipe run --verify                             # hash every upload again
      imgpipe run --backend azure --classifier none   # Blob Storage + Cosmos DB, in-process queue
    """
    options = RunOptions(workers=workers, settle=settle, wait=lock_timeout, verify=verify)
    try:
        with obj.runtime(backend, classifier) as rt:
            report = run_once(rt, options, progress=None if quiet or as_json else ProgressPrinter())
    except AlreadyRunning as exc:
        click.echo(f"imgpipe: {exc}; stepping aside", err=True)
        return
    show_report(obj, backend, report, as_json)


@cli.command()
@click.option("--interval", type=click.FloatRange(0.05), default=1.0, show_default=True,
              help="With --poll: seconds between scans of uploads/. Always: how often the jobs table is looked at.")
@click.option("--settle", type=click.FloatRange(0), default=WATCH_SETTLE, show_default=True,
              help="A file is taken once its size, mtime and ctime are unchanged this long.")
@click.option("--poll", is_flag=True, help="Scan instead of inotify (network shares: inotify misses remote writes).")
@click.option("--rescan", type=click.FloatRange(1), default=300.0, show_default=True,
              help="Seconds between full scans that catch anything the events missed.")
@click.option("--workers", type=click.IntRange(1, MAX_WORKERS), default=1, show_default=True)
@classifier_option
@backend_option
@click.pass_obj
def watch(obj: Context, interval: float, settle: float, poll: bool, rescan: float, workers: int, classifier: str,
          backend: str) -> None:
    """Process uploads as they arrive (inotify; --poll to scan), until Ctrl-C.

    \b
    Example:
      imgpipe watch &
      cp ~/photos/shoe.jpg data/uploads/seller42/
      imgpipe watch --poll --interval 5                # uploads/ on an NFS or SMB share
    """
    from shared.local.watch import watch as watch_uploads

    local_only(backend, "watch", "the Functions app's blob trigger processes each upload as it arrives; "
               "or schedule 'imgpipe run --backend azure'")
    try:
        ingested = watch_uploads(obj.settings, interval=interval, settle=settle, workers=workers,
                                 classifier=classifier, progress=ProgressPrinter(), poll=poll, rescan=rescan)
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
