"""``python -m imgpipe_spark.warm``: record the JVM classes a local run loads, so later runs start faster.

Runs one local session through what a phase of the job does (a DataFrame
from Arrow, ``mapInArrow`` in a Python worker, ``toArrow``), then lets the
JVM exit, which writes the class-data archive (``-XX:ArchiveClassesAtExit``)
to a temporary name; only a complete archive is renamed to
``session.class_archive()``, because a JVM that maps a truncated one crashes.
``make spark`` runs it once per environment; measured here, a session then
starts in ~2.5 s instead of ~5 s and its first job takes ~1 s instead of ~2.5 s.
Delete the file to go back; an archive of another JDK is ignored by the JVM.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pyarrow as pa

from imgpipe_spark.scatter import on_executors
from imgpipe_spark.session import DEFAULT_MASTER, class_archive, spark_session

EXIT_TIMEOUT = 120


def _same(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield from batches


def main() -> None:
    target = class_archive()
    if target.is_file():
        print(f"{target} exists")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    spark = spark_session(DEFAULT_MASTER, record_to=partial)
    try:
        rows = pa.table({"n": list(range(8))})
        on_executors(spark, rows, _same, rows.schema)
    finally:
        gateway = spark.sparkContext._gateway
        spark.stop()
        gateway.shutdown()
        gateway.proc.stdin.close()  # the JVM exits when its stdin closes, and writes the archive on the way out
        gateway.proc.wait(timeout=EXIT_TIMEOUT)
    if not partial.is_file():
        sys.exit("the JVM wrote no class-data archive")
    partial.replace(target)
    print(f"wrote {target} ({target.stat().st_size // 2**20} MiB)")


if __name__ == "__main__":
    main()
