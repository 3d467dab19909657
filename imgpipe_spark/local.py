"""The job without a workspace: ``imgpipe spark run`` on a data dir, open-source Spark in local mode.

The data dir has the local runtime's layout (uploads/, bronze/, silver/) and
the gold table is Delta at ``gold/images``. One run at a time per data dir:
an advisory lock beside the table, released when the process dies.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imgpipe_spark.pipeline import JobConfig, JobReport, run
from imgpipe_spark.session import DEFAULT_MASTER, check_spark, spark_session
from imgpipe_spark.tables import DeltaRsTable
from shared.errors import PipelineUnavailable
from shared.layout import Zone
from shared.runner import RUN_SETTLE
from shared.runtime import AlreadyRunning
from shared.settings import Settings

GOLD_TABLE = Path("gold") / "images"
LOCK = Path("gold") / "spark.lock"


def prepare(data_dir: Path) -> None:
    try:
        for name in (Zone.UPLOADS, Zone.BRONZE, Zone.SILVER, "gold"):
            (data_dir / name).mkdir(parents=True, exist_ok=True)
        probe = data_dir / "gold" / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise PipelineUnavailable(f"data dir {data_dir} is not writable: {exc.strerror or exc}") from exc


@contextmanager
def run_lock(data_dir: Path) -> Iterator[None]:
    fd = os.open(data_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(f"another imgpipe spark run holds {data_dir / LOCK}") from None
        yield
    finally:
        os.close(fd)


def run_local(settings: Settings, master: str = DEFAULT_MASTER, classifier: str = "local",
              reprocess: bool = False, settle: float = RUN_SETTLE, verify: bool = False) -> JobReport:
    """One run over the data dir; Spark starts only if a phase has work for the executors."""
    check_spark()
    data_dir = Path(settings.data_dir).resolve()
    prepare(data_dir)
    with run_lock(data_dir):
        config = JobConfig(root=str(data_dir), settings=settings, classifier=classifier, reprocess=reprocess,
                           settle=settle, verify=verify)
        return run(lambda: spark_session(master), DeltaRsTable(data_dir / GOLD_TABLE), config)
