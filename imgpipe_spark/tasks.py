"""The job's tasks as one wheel entry point: ``imgpipe-spark {ingest|cleanse|classify|all} --root ... --table ...``.

The bundle (``databricks/``) runs each phase as its own ``python_wheel_task``
so Databricks retries and reports them separately; all logic is in
``imgpipe_spark.pipeline``. Outside Databricks ``--delta-path`` names a
delta-rs table instead of ``--table``, which is how the tests and a laptop run it.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
from pathlib import Path

from imgpipe_spark.pipeline import PHASES, JobConfig, run
from imgpipe_spark.session import DEFAULT_MASTER, check_spark, spark_session
from imgpipe_spark.tables import CatalogTable, DeltaRsTable, GoldTable
from shared.runner import RUN_SETTLE
from shared.settings import Settings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="imgpipe-spark", description=__doc__)
    p.add_argument("phase", choices=(*PHASES, "all"))
    p.add_argument("--root", required=True, help="folder with uploads/, bronze/, silver/ (a /Volumes/... path)")
    table = p.add_mutually_exclusive_group(required=True)
    table.add_argument("--table", help="Unity Catalog gold table, catalog.schema.table")
    table.add_argument("--delta-path", help="gold as a delta-rs table in this folder (open-source Spark)")
    p.add_argument("--settle", type=float, default=RUN_SETTLE,
                   help="ingest: leave uploads changed in the last N seconds for the next run (as imgpipe run)")
    p.add_argument("--verify", action="store_true", help="ingest: hash every upload again (as imgpipe run --verify)")
    p.add_argument("--classifier", default="local", help="'local', 'none' or an Azure ML scoring URL")
    p.add_argument("--reprocess", action="store_true",
                   help="also cleanse again records made by older cleansing rules (new resize rules)")
    p.add_argument("--master", default=DEFAULT_MASTER, help="Spark master outside Databricks")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    check_spark()
    session = functools.cache(lambda: spark_session(args.master))
    table: GoldTable = CatalogTable(args.table, session) if args.table else DeltaRsTable(Path(args.delta_path))
    config = JobConfig(root=args.root, settings=settings, classifier=args.classifier, reprocess=args.reprocess,
                       settle=args.settle, verify=args.verify)
    phases = PHASES if args.phase == "all" else (args.phase,)
    report = run(session, table, config, phases)
    print(json.dumps(report.to_dict(), indent=2))
    if args.phase in ("classify", "all") and report.unfinished(config.classify_enabled):
        sys.exit(f"{report.unfinished(config.classify_enabled)} record(s) did not reach a terminal state")


if __name__ == "__main__":
    main()
