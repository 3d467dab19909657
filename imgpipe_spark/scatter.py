"""Rows the driver planned -> tasks on the executors -> rows back on the driver: one Spark job per phase.

The driver already knows every row a phase works on, so no Spark job is
spent counting, joining or repartitioning them: the rows are cut into
batches of about ``ROWS_PER_TASK`` (at least two tasks per core, so a
cluster the autoscaler is still growing has tasks to hand out), each batch
becomes one partition of a DataFrame made from Arrow, and ``mapInArrow``
runs the phase's function over each partition in a reused Python worker.
Collecting the result with ``toArrow`` is the phase's only action.

An executor that finds the pipeline itself unusable (``PipelineUnavailable``:
a folder it cannot write) says so in an extra column instead of failing the
task, so the driver stops the run with that one line, as ``imgpipe run`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from shared.errors import PipelineUnavailable

FATAL = pa.field("_fatal", pa.string())
ROWS_PER_TASK = 64  # a few seconds of image work: short enough for the autoscaler to spread and rebalance


def parallelism(spark: Any) -> int:
    return max(1, int(spark.sparkContext.defaultParallelism))


def task_count(rows: int, cores: int) -> int:
    return max(1, min(rows, max(2 * cores, -(-rows // ROWS_PER_TASK))))


def on_executors(spark: Any, rows: pa.Table, fn: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]],
                 out: pa.Schema) -> pa.Table:
    """``fn`` over ``rows`` on the executors, in tasks of about equal size; the rows it yields (schema ``out``)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    full = out.append(FATAL)

    def guarded(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        try:
            for batch in fn(batches):
                yield batch.append_column(FATAL, pa.nulls(batch.num_rows, pa.string()))
        except PipelineUnavailable as exc:
            yield pa.RecordBatch.from_pylist([{FATAL.name: str(exc)}], schema=full)

    per_task = -(-rows.num_rows // task_count(rows.num_rows, parallelism(spark)))
    # createDataFrame turns each Arrow record batch into one partition, unless the rows are small enough to be
    # a local relation, which Spark slices by its default parallelism instead: never here.
    spark.conf.set("spark.sql.execution.arrow.localRelationThreshold", "0")
    sliced = pa.Table.from_batches(rows.combine_chunks().to_batches(max_chunksize=per_task), schema=rows.schema)
    done = spark.createDataFrame(sliced).mapInArrow(guarded, from_arrow_schema(full)).toArrow()
    if fatal := next((m for m in done.column(FATAL.name).to_pylist() if m), None):
        raise PipelineUnavailable(fatal)
    return done.drop_columns([FATAL.name])
