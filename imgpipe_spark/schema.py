"""The gold table's columns: exactly the fields of ``shared.records.Record``, snake_case, nested ones as JSON.

Derived from the dataclass, so a field added to the record is a column here
without a second list to keep in step; ``lineage`` and ``predictions`` are
JSON strings (what ``imgpipe records --json`` prints, compactly encoded).
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import pyarrow as pa

from shared.records import Record

JSON_FIELDS = ("lineage", "predictions")
# Annotation text (``from __future__ import annotations``) -> Arrow type and Spark SQL type.
_TYPES = {"str": (pa.string(), "STRING"), "int": (pa.int64(), "BIGINT"), "float": (pa.float64(), "DOUBLE")}


def _kind(annotation: str, name: str) -> str:
    if name in JSON_FIELDS:
        return "str"
    base = annotation.replace(" | None", "").strip()
    if base not in _TYPES:
        raise TypeError(f"Record.{name}: no gold column type for {annotation!r}")
    return base


COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (f.name, _kind(str(f.type), f.name)) for f in fields(Record) if f.name != "etag")
NAMES = tuple(name for name, _ in COLUMNS)
ARROW_SCHEMA = pa.schema([pa.field(name, _TYPES[kind][0]) for name, kind in COLUMNS])
SQL_SCHEMA = ", ".join(f"{name} {_TYPES[kind][1]}" for name, kind in COLUMNS)


def to_row(record: Record) -> dict[str, Any]:
    row = record.to_dict()
    for name in JSON_FIELDS:
        row[name] = json.dumps(row[name], ensure_ascii=False, separators=(",", ":"))
    return row


def from_row(row: dict[str, Any]) -> Record:
    data = {name: row.get(name) for name in NAMES}
    for name in JSON_FIELDS:
        data[name] = json.loads(data[name]) if data[name] else []
    return Record.from_dict(data)


def batch(rows: list[dict[str, Any]], extra: pa.Schema | None = None) -> pa.RecordBatch:
    schema = ARROW_SCHEMA if extra is None else pa.unify_schemas([ARROW_SCHEMA, extra])
    return pa.RecordBatch.from_pylist(rows, schema=schema)
