"""The Spark runtime from the CLI: ``imgpipe spark run``, the Databricks job in local mode on a data dir."""

from __future__ import annotations

import click

from imgpipe.backends import local_only
from imgpipe.cli import Context, backend_option, cli, fail
from imgpipe.output import emit_json, status_table
from imgpipe.run_options import show_intake
from shared.runner import RUN_SETTLE

# Where the job runs against the Azure side: on Databricks, over the Unity Catalog volume, not from this CLI.
ON_DATABRICKS = ("the job runs on Databricks over the Unity Catalog volume: "
                 "cd databricks && databricks bundle deploy -t prod && databricks bundle run -t prod imgpipe_bulk")
CLASSIFIER_HELP = "'local' (in-process model on the executors, default), an Azure ML scoring URL, or 'none'."


@cli.group()
def spark() -> None:
    """The bulk runtime: the Databricks job's pipeline on Spark (deploy it with 'databricks bundle deploy').

    \b
    Example:
      imgpipe --data-dir data spark run --classifier none
      cd databricks && databricks bundle deploy -t dev    # the same job on a workspace
    """


@spark.command("run")
@click.option("--master", default="local[2]", show_default=True, help="Spark master for a local session.")
@click.option("--classifier", default="local", show_default=True, help=CLASSIFIER_HELP)
@click.option("--settle", type=click.FloatRange(0), default=RUN_SETTLE, show_default=True,
              help="Leave uploads modified (or renamed, touched) in the last N seconds for the next run, as "
              "'imgpipe run' does: a writer may still be appending to them. 0 takes everything.")
@click.option("--verify", is_flag=True, help="Hash every upload again and take in changed bytes as new versions, "
              "as 'imgpipe run --verify' does (on the driver, one file at a time).")
@click.option("--reprocess", is_flag=True,
              help="Also cleanse again records made by older cleansing rules (after changing IMGPIPE_MAX_SIDE...).")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@backend_option
@click.pass_obj
def spark_run(obj: Context, master: str, classifier: str, settle: float, verify: bool, reprocess: bool,
              as_json: bool, backend: str) -> None:
    """Run ingest -> cleanse -> classify once on Spark over the data dir; gold is Delta at gold/images.

    Reads uploads/{user_id}/{file} with the same rules as 'imgpipe run'
    (skipped inputs, --settle, change detection, size first, failed and lost
    records), writes bronze/ and silver/ with the same names, and merges one
    row per upload into the Delta table on upload_id. A second run over the
    same inputs changes nothing and starts no Spark. Exit code 0 when every
    input reached a terminal state; 2 when Spark or Java is missing, the data
    dir is unusable, or an input did not finish. The job's Azure side is the
    bundle on Databricks: '--backend azure' is refused and says how to run it.

    \b
    Example:
      imgpipe --data-dir data spark run --master 'local[2]' --classifier none
      imgpipe spark run --settle 0 --json                  # take files written a moment ago too
      IMGPIPE_MAX_SIDE=384 imgpipe spark run --reprocess     # new resize rule: recompute silver
      python -c "import deltalake; print(deltalake.DeltaTable('data/gold/images').to_pyarrow_table())"
    """
    local_only(backend, "spark run", ON_DATABRICKS)
    try:
        from imgpipe_spark.local import run_local
    except ImportError as exc:
        fail(f"the Spark runtime needs its packages ({exc.name} is missing): pip install -r requirements-spark.txt")
    report = run_local(obj.settings, master=master, classifier=classifier, reprocess=reprocess, settle=settle,
                       verify=verify)
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(f"ingested {report.ingested} new upload(s), cleansed {report.cleansed}, linked {report.linked} "
                   f"duplicate(s), classified {report.classified} in {report.seconds:.1f}s; gold is Delta at "
                   f"{obj.settings.data_dir}/gold/images, version {report.version_after}")
        show_intake(report)
        click.echo(status_table(report.counts, {}))
    unfinished = report.unfinished(classifier != "none")
    if unfinished:
        fail(f"{unfinished} record(s) did not reach a terminal state; run again")
