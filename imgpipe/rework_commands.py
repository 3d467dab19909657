"""Commands that redo work after a rule or model change: reprocess (cleansing rules) and reclassify (model)."""

from __future__ import annotations

import click

from imgpipe.cli import Context, backend_option, cli, fail
from imgpipe.output import ProgressPrinter
from imgpipe.run_options import classifier_option, show_report, workers_option
from shared.ports import RecordQuery
from shared.records import STATUSES, WITH_SILVER, Status
from shared.runner import RunOptions, reworkable, run_once
from shared.stages import reclassify as reclassify_records

REPROCESS_STATUSES = (*WITH_SILVER, Status.FAILED)


def _query(statuses: tuple[str, ...], user: str | None, default: tuple[str, ...]) -> RecordQuery:
    return RecordQuery(statuses=statuses or default, user_id=user, current_only=True)


@cli.command()
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only records in this status (repeatable). Default: every status with a silver image, and failed.")
@click.option("--user", help="Only this user's records.")
@click.option("--dry-run", is_flag=True, help="Only count what would be recomputed.")
@workers_option
@classifier_option
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@backend_option
@click.pass_obj
def reprocess(obj: Context, statuses: tuple[str, ...], user: str | None, dry_run: bool, workers: int,
              classifier: str, as_json: bool, backend: str) -> None:
    """Recompute silver (then classification) for records made by older cleansing rules.

    A record is recomputed only when its cleanse_version differs from the
    current rules' (IMGPIPE_MAX_SIDE, IMGPIPE_JPEG_QUALITY, the rule revision)
    or when it failed; everything else is skipped. A person's review verdict
    is kept. Uploads are not looked at: that is 'imgpipe run'.

    \b
    Example:
      IMGPIPE_MAX_SIDE=768 imgpipe reprocess --dry-run
      imgpipe reprocess --status failed --backend azure
    """
    query = _query(statuses, user, REPROCESS_STATUSES)
    with obj.runtime(backend, classifier) as rt:
        if dry_run:
            click.echo(f"would reprocess {len(reworkable(rt.services, query))} record(s)")
            return
        report = run_once(rt, RunOptions(workers=workers, ingest=False, rework=query),
                          progress=None if as_json else ProgressPrinter())
    show_report(obj, backend, report, as_json)


@cli.command()
@click.option("--model-version", "expected", help="Refuse unless the classifier's current model is this version.")
@click.option("--status", "statuses", multiple=True, type=click.Choice([Status.CLASSIFIED, Status.NEEDS_REVIEW]),
              help="Only records in this status (repeatable). Default: classified and needs_review.")
@click.option("--user", help="Only this user's records.")
@click.option("--dry-run", is_flag=True, help="Only count what would be re-scored (needs a known model version).")
@classifier_option
@backend_option
@click.pass_obj
def reclassify(obj: Context, expected: str | None, statuses: tuple[str, ...], user: str | None, dry_run: bool,
               classifier: str, backend: str) -> None:
    """Re-score exactly the records scored by another model version than the current one.

    Records a person reviewed keep the person's answer and are never
    re-scored; every prediction stays in the record's history.

    \b
    Example:
      imgpipe reclassify                                   # with the in-process model
      imgpipe reclassify --backend azure --classifier "$ML_ENDPOINT_URL"
    """
    if classifier == "none":
        fail("reclassify needs a classifier: --classifier local or a scoring URL")
    with obj.operations(backend, classifier) as ops:
        try:
            count = reclassify_records(ops.services, _query(statuses, user, ()), expected_version=expected,
                                       dry_run=dry_run)
        except ValueError as exc:
            fail(str(exc))
        version = ops.services.classifier.model_version
    click.echo(f"{'would re-score' if dry_run else 're-scored'} {count} record(s) with {version}")
