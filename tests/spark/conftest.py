"""The Spark tier: open-source Spark in local mode (Java 17, pyspark from requirements-spark.txt).

One Spark session serves the whole pytest process (``getOrCreate``): starting
a JVM costs seconds, and the CLI under test reuses the session it finds.
``make test`` installs Java when it is missing; only where it cannot be
installed are these tests skipped, and they say why.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imgpipe.cli import cli
from shared.records import Record

if shutil.which("java") is None:
    pytest.skip("no Java runtime: 'make test' installs openjdk-17-jre-headless with apt-get; "
                "this machine could not", allow_module_level=True)
pytest.importorskip("pyspark", reason="pyspark missing: 'make test' installs requirements-spark.txt")


def spark_run(data_dir: Path, *args: str, code: int = 0) -> dict:
    """``imgpipe spark run --json``; ``--settle 0`` unless given: the tests write files and run at once."""
    settle = () if "--settle" in args else ("--settle", "0")
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "spark", "run", "--json", *settle, *args],
                                catch_exceptions=False)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout[result.stdout.index("{"):])


def gold_records(data_dir: Path) -> list[Record]:
    from deltalake import DeltaTable

    from imgpipe_spark.schema import from_row

    return [from_row(row) for row in DeltaTable(str(data_dir / "gold" / "images")).to_pyarrow_table().to_pylist()]


def gold_version(data_dir: Path) -> int:
    from deltalake import DeltaTable

    return DeltaTable(str(data_dir / "gold" / "images")).version()


def files(data_dir: Path) -> dict[str, int]:
    """Every file under the data dir with its mtime (ns): a rewrite shows up even with the same bytes."""
    return {p.relative_to(data_dir).as_posix(): p.stat().st_mtime_ns for p in data_dir.rglob("*")
            if p.is_file() and not p.name.endswith(".lock")}


def copy_uploads(src: Path, dst: Path) -> None:
    shutil.copytree(src / "uploads", dst / "uploads")  # copy2: mtimes kept, so upload ids are the same
