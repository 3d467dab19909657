"""The gold table: Delta, updated with MERGE on ``upload_id``, on Databricks and in open-source Spark alike.

Two adapters with one shape. On Databricks the table is a Unity Catalog
table and MERGE runs in Spark (``delta.tables``). Open-source Spark has no
Delta jars here, so the table is written by delta-rs (``deltalake``): Spark
reads the files of its current snapshot as Parquet, and the rows a phase
changed are merged from Arrow on the driver. Either way a phase with nothing
to change commits nothing, so a run over unchanged inputs leaves the table at
the same version and rewrites no file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from imgpipe_spark import schema

MERGE_KEY = "t.upload_id = s.upload_id"


class GoldTable(Protocol):
    name: str

    def ensure(self, spark: Any) -> None:
        """Create the table if it does not exist (an empty table is one commit, made once)."""

    def read(self, spark: Any) -> Any:
        """The current rows as a Spark DataFrame with the gold columns."""

    def merge(self, spark: Any, rows: Any) -> int:
        """Upsert ``rows`` (a DataFrame with the gold columns) by upload_id; returns how many (0: no commit)."""

    def version(self, spark: Any) -> int | None: ...


class DeltaRsTable:
    """A Delta table in a folder, written by delta-rs (open-source Spark, and the local entry point)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.name = str(self.path)

    def ensure(self, spark: Any) -> None:
        from deltalake import DeltaTable, write_deltalake

        if not DeltaTable.is_deltatable(str(self.path)):
            self.path.mkdir(parents=True, exist_ok=True)
            write_deltalake(str(self.path), schema.ARROW_SCHEMA.empty_table(), mode="error", name="images",
                            description="imgpipe gold: one record per upload")

    def _table(self) -> Any:
        from deltalake import DeltaTable

        return DeltaTable(str(self.path))

    def read(self, spark: Any) -> Any:
        files = self._table().file_uris()
        if not files:
            return spark.createDataFrame([], schema.SQL_SCHEMA)
        return spark.read.schema(schema.SQL_SCHEMA).parquet(*files)

    def merge(self, spark: Any, rows: Any) -> int:
        table = rows.select(*schema.NAMES).toArrow()
        if table.num_rows == 0:
            return 0
        source = pa.Table.from_batches(table.to_batches(), schema=table.schema).cast(schema.ARROW_SCHEMA)
        (self._table().merge(source=source, predicate=MERGE_KEY, source_alias="s", target_alias="t")
         .when_matched_update_all().when_not_matched_insert_all().execute())
        return source.num_rows

    def version(self, spark: Any) -> int | None:
        from deltalake import DeltaTable

        return self._table().version() if DeltaTable.is_deltatable(str(self.path)) else None


class CatalogTable:
    """A Unity Catalog Delta table (``catalog.schema.table``) on Databricks, merged in Spark."""

    def __init__(self, name: str) -> None:
        self.name = name

    def ensure(self, spark: Any) -> None:
        spark.sql(f"CREATE TABLE IF NOT EXISTS {self.name} ({schema.SQL_SCHEMA}) USING DELTA "
                  "COMMENT 'imgpipe gold: one record per upload'")

    def read(self, spark: Any) -> Any:
        return spark.table(self.name).select(*schema.NAMES)

    def merge(self, spark: Any, rows: Any) -> int:
        from delta.tables import DeltaTable

        count = rows.count()
        if count == 0:
            return 0
        (DeltaTable.forName(spark, self.name).alias("t").merge(rows.select(*schema.NAMES).alias("s"), MERGE_KEY)
         .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
        return count

    def version(self, spark: Any) -> int | None:
        return int(spark.sql(f"DESCRIBE HISTORY {self.name} LIMIT 1").first()["version"])
