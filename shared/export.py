"""Gold export: the current records as Parquet, CSV or JSON Lines, the hand-off to analytics.

Power BI, Synapse, Fabric and Spark read Parquet directly; CSV is for
spreadsheets; JSON Lines keeps the nested fields as they are. One row per
upload with the record's own snake_case fields; ``lineage`` and
``predictions`` are JSON text in Parquet and CSV (they are lists of
objects whose keys differ per entry). Rows are written in batches, so memory
stays flat, and the file appears under its name only once complete.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

from shared.ports import MetadataStore, RecordQuery
from shared.records import Record

FORMATS = ("parquet", "csv", "jsonl")
NESTED = ("lineage", "predictions")
COLUMNS = tuple(f.name for f in fields(Record) if f.name != "etag")
_INTS = {f.name for f in fields(Record) if f.type in ("int", "int | None")}
_FLOATS = {f.name for f in fields(Record) if f.type in ("float", "float | None")}
BATCH = 1000


def rows(records: Iterable[Record], nested_as_text: bool) -> Iterator[dict[str, Any]]:
    for record in records:
        row = record.to_dict()
        if nested_as_text:
            for name in NESTED:
                row[name] = json.dumps(row[name], ensure_ascii=False)
        yield row


def export(meta: MetadataStore, fmt: str, out: Path, query: RecordQuery | None = None) -> int:
    """Write the records ``query`` selects (default: every current record) to ``out``; returns the row count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    records = meta.scan(query or RecordQuery(current_only=True))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        count = _WRITERS[fmt](records, Path(tmp))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def _jsonl(records: Iterable[Record], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8", errors="surrogateescape") as fh:
        for row in rows(records, nested_as_text=False):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def _csv(records: Iterable[Record], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8", errors="surrogateescape", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows(records, nested_as_text=True):
            writer.writerow(row)
            count += 1
    return count


def _parquet(records: Iterable[Record], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, pa.int64() if name in _INTS else pa.float64() if name in _FLOATS else pa.string())
                        for name in COLUMNS])
    count, batch = 0, []
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for row in rows(records, nested_as_text=True):
            batch.append(row)
            if len(batch) == BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema))
                count, batch = count + len(batch), []
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema))
            count += len(batch)
    return count


_WRITERS = {"jsonl": _jsonl, "csv": _csv, "parquet": _parquet}
