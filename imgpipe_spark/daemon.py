"""The Python daemon of a local session: import what every task needs once, before it forks the workers.

Spark starts ``python -m pyspark.daemon``, which forks one worker per task
slot; each worker then imports pyarrow, pandas (pyspark's Arrow serializers
need it), Pillow and the core on its first task. Imported here first, the
forked workers share them, and the first job of a run does not pay for the
imports once per core (``spark.python.daemon.module``).
"""

import pandas  # noqa: F401
import pyarrow  # noqa: F401
import pyspark.sql.pandas.serializers
import pyspark.worker  # noqa: F401
from pyspark.daemon import manager

import imgpipe_spark.executors  # noqa: F401

if __name__ == "__main__":
    manager()
