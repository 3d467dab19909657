"""Finding uploads: Spark's ``binaryFile`` source, as a batch read or through Auto Loader on Databricks.

Only the file list is used (the ``content`` column is pruned, so no bytes
cross the JVM): executors copy each new upload through the core's store,
streaming and hashing it like ``imgpipe run`` does, and a second run skips
known uploads by an anti-join on ``upload_id`` before touching a byte.

Spark's file sources do not report every file: names that begin with ``.``
or ``_`` are hidden by Hadoop's convention, and empty files are dropped from
the scan; there is no option to keep either. Both are uploads all the same
(an empty one must end ``rejected``/``empty_file``), so the job adds them from
a listing with the core's own rule (``FsObjectStore.list``): nothing in
``uploads/`` is left without a terminal state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.adapters.fs_store import FsObjectStore
from shared.layout import Zone

BINARY_FILE_SQL = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"


def uploads_dir(root: str) -> str:
    return str(Path(root) / Zone.UPLOADS)


def listed(spark: Any, root: str) -> Any:
    """Every file under ``uploads/`` as a batch read of ``binaryFile`` with its explicit schema; column ``path``."""
    return (spark.read.format("binaryFile").schema(BINARY_FILE_SQL).option("recursiveFileLookup", "true")
            .load(uploads_dir(root)).select("path"))


def unseen(spark: Any, root: str) -> Any | None:
    """The uploads Spark's file sources leave out (empty, or a segment starting with ``.`` or ``_``); None: none."""
    names = [str(Path(root) / info.path) for info in FsObjectStore(Path(root)).list(Zone.UPLOADS)
             if info.size == 0 or any(part.startswith((".", "_")) for part in info.path.split("/")[1:])]
    return spark.createDataFrame([(name,) for name in names], "path STRING") if names else None


def auto_loader(spark: Any, root: str, checkpoint: str, handle: Callable[[Any], None]) -> None:
    """Databricks: new files since the checkpoint (``cloudFiles``, format binaryFile), each micro-batch to
    ``handle``, until caught up (``availableNow``). The checkpoint makes discovery incremental; the
    anti-join on upload_id makes a replayed micro-batch harmless."""
    stream = (spark.readStream.format("cloudFiles").option("cloudFiles.format", "binaryFile")
              .option("cloudFiles.includeExistingFiles", "true").schema(BINARY_FILE_SQL)
              .load(uploads_dir(root)).select("path"))
    query = (stream.writeStream.foreachBatch(lambda batch, _batch_id: handle(batch))
             .option("checkpointLocation", checkpoint).trigger(availableNow=True).start())
    query.awaitTermination()
