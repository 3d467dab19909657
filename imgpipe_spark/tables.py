"""The gold table: Delta, updated with MERGE on ``upload_id``, on Databricks and in open-source Spark alike.

Two adapters with one shape, both exchanging Arrow tables with the driver,
which plans each phase from a snapshot of gold (``imgpipe_spark.snapshot``).
On Databricks the table is a Unity Catalog table, read and merged in Spark
(``delta.tables``). Open-source Spark has no Delta jars here, so the table is
read and written by delta-rs (``deltalake``) on the driver, with no Spark job
at all: a run with nothing to do never starts Spark. Either way a phase with
nothing to change commits nothing, so a run over unchanged inputs leaves the
table at the same version and rewrites no file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from imgpipe_spark import schema

MERGE_KEY = "t.upload_id = s.upload_id"


class GoldTable(Protocol):
    name: str

    def ensure(self) -> None:
        """Create the table if it does not exist (an empty table is one commit, made once)."""

    def rows(self) -> pa.Table:
        """The current rows, with the gold columns, on the driver."""

    def merge(self, rows: pa.Table) -> int:
        """Upsert ``rows`` by upload_id; returns how many (0: no commit)."""

    def version(self) -> int | None: ...


class DeltaRsTable:
    """A Delta table in a folder, read and written by delta-rs (open-source Spark, and the local entry point)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.name = str(self.path)

    def ensure(self) -> None:
        from deltalake import DeltaTable, write_deltalake

        if not DeltaTable.is_deltatable(str(self.path)):
            self.path.mkdir(parents=True, exist_ok=True)
            write_deltalake(str(self.path), schema.ARROW_SCHEMA.empty_table(), mode="error", name="images",
                            description="imgpipe gold: one record per upload")

    def _table(self) -> Any:
        from deltalake import DeltaTable

        return DeltaTable(str(self.path))

    def rows(self) -> pa.Table:
        return self._table().to_pyarrow_table(columns=list(schema.NAMES)).cast(schema.ARROW_SCHEMA)

    def merge(self, rows: pa.Table) -> int:
        if rows.num_rows == 0:
            return 0
        source = rows.select(list(schema.NAMES)).cast(schema.ARROW_SCHEMA)
        (self._table().merge(source=source, predicate=MERGE_KEY, source_alias="s", target_alias="t")
         .when_matched_update_all().when_not_matched_insert_all().execute())
        return source.num_rows

    def version(self) -> int | None:
        from deltalake import DeltaTable

        return self._table().version() if DeltaTable.is_deltatable(str(self.path)) else None


class CatalogTable:
    """A Unity Catalog Delta table (``catalog.schema.table``) on Databricks, read and merged in Spark."""

    def __init__(self, name: str, spark: Callable[[], Any]) -> None:
        self.name = name
        self._spark = spark

    def ensure(self) -> None:
        self._spark().sql(f"CREATE TABLE IF NOT EXISTS {self.name} ({schema.SQL_SCHEMA}) USING DELTA "
                          "COMMENT 'imgpipe gold: one record per upload'")

    def rows(self) -> pa.Table:
        return self._spark().table(self.name).select(*schema.NAMES).toArrow().cast(schema.ARROW_SCHEMA)

    def merge(self, rows: pa.Table) -> int:
        from delta.tables import DeltaTable

        if rows.num_rows == 0:
            return 0
        source = self._spark().createDataFrame(rows.select(list(schema.NAMES)).cast(schema.ARROW_SCHEMA))
        (DeltaTable.forName(self._spark(), self.name).alias("t").merge(source.alias("s"), MERGE_KEY)
         .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
        return rows.num_rows

    def version(self) -> int | None:
        return int(self._spark().sql(f"DESCRIBE HISTORY {self.name} LIMIT 1").first()["version"])
