"""Where the job runs: a Databricks cluster (detected, never configured) or open-source Spark in local mode.

On Databricks the runtime sets ``DATABRICKS_RUNTIME_VERSION`` on the driver
and the executors; the job then takes the cluster's session and the Unity
Catalog table. Anywhere else it starts a local session with the current
interpreter for the Python workers, which needs Java 17 and ``pyspark``
(requirements-spark.txt); their absence is a one-line ``PipelineUnavailable``,
not a traceback.

A local session lives for one run, so its JVM's start-up is most of a small
run's cost. Two JVM options cut it without changing what runs: the C1
compiler alone (the JVM only moves Arrow batches between Python workers, so
C2's optimizations never pay back their warm-up), and, when
``python -m imgpipe_spark.warm`` has recorded one, a class-data archive of the
classes a run loads (``class_archive``), which the JVM maps instead of loading
and verifying thousands of classes from Spark's jars. An archive made for
another JDK or another pyspark is ignored by the JVM.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from shared.errors import PipelineUnavailable

DEFAULT_MASTER = "local[2]"
JIT = "-XX:TieredStopAtLevel=1"
QUIET_ARCHIVE = "-Xlog:cds=off -Xlog:cds+dynamic=off"  # a mismatched archive is skipped without a warning


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


def class_archive() -> Path:
    """The JVM class-data archive for this environment's pyspark (written by ``imgpipe_spark.warm``)."""
    import pyspark

    return Path(sys.prefix) / "share" / "imgpipe" / f"spark-{pyspark.__version__}.jsa"


def _java_path(option: str, path: Path) -> str:
    return f'{option}="{path}"' if " " in str(path) else f"{option}={path}"


def java_options(record_to: Path | None = None) -> str:
    """The driver JVM's options: C1 only, and the class-data archive (used, or recorded to ``record_to``)."""
    if record_to is not None:
        # Recording warns once per class it cannot archive (hundreds of lines); the archive is fine without them.
        return f"{JIT} {_java_path('-XX:ArchiveClassesAtExit', record_to)} {QUIET_ARCHIVE}"
    archive = class_archive()
    return f"{JIT} {_java_path('-XX:SharedArchiveFile', archive)} {QUIET_ARCHIVE}" if archive.is_file() else JIT


def spark_session(master: str = DEFAULT_MASTER, record_to: Path | None = None) -> Any:
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
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.python.daemon.module", "imgpipe_spark.daemon")
               .config("spark.driver.extraJavaOptions", java_options(record_to)))
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # pyspark raises PySparkRuntimeError (JAVA_GATEWAY_EXITED) and friends
        raise PipelineUnavailable(f"cannot start Spark ({master}): {str(exc).splitlines()[0]}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session
