"""``imgpipe run`` end to end over the generated corpus, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from imgpipe.cli import cli
from shared.adapters.fs_store import FsObjectStore
from shared.local.bootstrap import bootstrap
from shared.records import Record
from shared.settings import Settings
from tests import corpus as corpus_mod
from tests.invariants import check_run, referenced


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout  # logs go to stderr


def records_of(data_dir: Path) -> list[Record]:
    out = invoke("--data-dir", str(data_dir), "records", "--json")
    return [Record.from_dict(d) for d in json.loads(out)]


def snapshot(data_dir: Path) -> tuple[list[dict], dict[str, int]]:
    files = {p.relative_to(data_dir).as_posix(): p.stat().st_mtime_ns for p in data_dir.rglob("*")
             if p.is_file() and "gold" not in p.parts}
    return [r.to_dict() for r in records_of(data_dir)], files


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, full_corpus):
    data_dir = tmp_path_factory.mktemp("data")
    corpus_mod.write(data_dir / "uploads", full_corpus)
    invoke("--data-dir", str(data_dir), "run", "--settle", "0", "--workers", "2", "--classifier", "none", "--quiet")
    return data_dir


def test_every_input_reaches_one_terminal_state_with_the_invariants(finished_run, full_corpus):
    store = FsObjectStore(finished_run)
    check_run(records_of(finished_run), full_corpus, store.get)


def test_nothing_in_bronze_or_silver_is_unreferenced(finished_run):
    files = {p.relative_to(finished_run).as_posix() for sub in ("bronze", "silver")
             for p in (finished_run / sub).rglob("*") if p.is_file()}
    assert files == referenced(records_of(finished_run))


def test_second_run_changes_nothing(finished_run):
    before = snapshot(finished_run)
    out = invoke("--data-dir", str(finished_run), "run", "--settle", "0", "--classifier", "none", "--json")
    assert json.loads(out)["ingested"] == 0
    assert snapshot(finished_run) == before


def test_status_json_counts_every_record(finished_run, full_corpus):
    status = json.loads(invoke("--data-dir", str(finished_run), "status", "--json"))
    assert sum(status["counts"].values()) == len(full_corpus)
    assert status["counts"]["rejected"] == 6 and status["counts"]["duplicate"] == 1
    assert {e["reason"] for e in status["recent_errors"]} >= {"empty_file", "too_many_pixels", "corrupt_image"}


def test_user_names_are_data_not_paths(finished_run):
    for record in records_of(finished_run):
        assert record.raw_path.startswith("bronze/") and record.upload_id in record.raw_path
        assert ".." not in record.raw_path and " " not in record.raw_path
    names = {r.raw_name for r in records_of(finished_run)}
    assert "ünïcødé 商品 ✓.jpg" in names and "..jpg" in names


def test_records_are_readable_through_the_library_too(finished_run, full_corpus):
    rt = bootstrap(Settings(data_dir=finished_run), classifier="none")
    try:
        assert sum(rt.services.meta.counts().values()) == len(full_corpus)
    finally:
        rt.close()
