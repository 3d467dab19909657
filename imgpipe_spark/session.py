"""Where the job runs: a Databricks cluster (detected, never configured) or open-source Spark in local mode.

On Databricks the runtime sets ``DATABRICKS_RUNTIME_VERSION`` on the driver
and the executors; the job then takes the cluster's session, Auto Loader and
the Unity Catalog table. Anywhere else it starts a local session with the
current interpreter for the Python workers, which needs Java 17 and
``pyspark`` (requirements-spark.txt); their absence is a one-line
``PipelineUnavailable``, not a traceback.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from shared.errors import PipelineUnavailable

DEFAULT_MASTER = "local[2]"


def on_databricks() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def check_spark() -> None:
    """What starting a session needs, checked before a run (Spark itself starts only when there is work)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise PipelineUnavailable("pyspark is not installed: pip install -r requirements-spark.txt") from None
    if not on_databricks() and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise PipelineUnavailable("Spark needs Java 17: no 'java' on PATH and no JAVA_HOME "
                                  "(apt-get install openjdk-17-jre-headless)")


def spark_session(master: str = DEFAULT_MASTER) -> Any:
    """The active Databricks session, or a new local one on ``master``."""
    check_spark()
    from pyspark.sql import SparkSession

    if on_databricks():
        return SparkSession.builder.getOrCreate()
    # The Python workers must be this interpreter: it has Pillow, pyarrow and the project installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback only, and no warning about the host name
    builder = (SparkSession.builder.master(master).appName("imgpipe")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "8")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.driver.host", "127.0.0.1"))
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # pyspark raises PySparkRuntimeError (JAVA_GATEWAY_EXITED) and friends
        raise PipelineUnavailable(f"cannot start Spark ({master}): {str(exc).splitlines()[0]}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session
