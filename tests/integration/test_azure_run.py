"""``imgpipe run --backend azure`` end to end over the generated corpus, against Azurite and the Cosmos DB stand-in.

The same invariants as the local runtime's end-to-end test: one terminal
state per input, byte-identical bronze, clean silver, duplicates linked,
nothing orphaned, and a second run that changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from imgpipe.cli import cli
from shared.adapters.azure_blob import AzureBlobStore
from shared.azure import connections
from shared.layout import IMAGE_CONTAINERS as CONTAINERS
from shared.records import Record
from tests.integration.azure_services import AzureServices
from tests.integration.conftest import fresh_azure_settings
from tests.invariants import check_run, referenced


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout  # logs go to stderr


def records() -> list[Record]:
    return [Record.from_dict(d) for d in json.loads(invoke("records", "--backend", "azure", "--json"))]


def store() -> AzureBlobStore:
    return AzureBlobStore(connections.blob_service_client())


def blobs() -> dict[str, str]:
    """Every object in the medallion containers with its etag (any rewrite changes it); not the run lock's blob."""
    return {info.path: info.version for name in CONTAINERS for info in store().list(name)
            if "/.imgpipe/" not in info.path}


@pytest.fixture(scope="module")
def finished_run(azure_services: AzureServices, full_corpus: dict) -> Iterator[dict]:
    with fresh_azure_settings(azure_services) as env:
        s = store()
        s.ensure_containers(CONTAINERS)
        for rel, (data, _) in full_corpus.items():
            s.put(f"uploads/{rel}", data)
        out = invoke("run", "--settle", "0", "--backend", "azure", "--workers", "2", "--classifier", "none", "--json")
        yield {"env": env, "report": json.loads(out)}


def test_every_input_reaches_one_terminal_state_with_the_invariants(finished_run: dict, full_corpus: dict) -> None:
    assert finished_run["report"]["ingested"] == len(full_corpus)
    check_run(records(), full_corpus, store().get)


def test_nothing_in_bronze_or_silver_is_unreferenced(finished_run: dict) -> None:
    assert {p for p in blobs() if not p.startswith("uploads/")} == referenced(records())


def test_second_run_changes_nothing(finished_run: dict) -> None:
    before = ([r.to_dict() for r in records()], blobs())
    report = json.loads(invoke("run", "--settle", "0", "--backend", "azure", "--workers", "1", "--classifier", "none",
                               "--json"))
    assert report["ingested"] == 0 and report["handled"] == 0
    assert ([r.to_dict() for r in records()], blobs()) == before


def test_status_counts_every_record_and_shows_the_rejections(finished_run: dict, full_corpus: dict) -> None:
    status = json.loads(invoke("status", "--backend", "azure", "--json"))
    assert sum(status["counts"].values()) == len(full_corpus)
    assert status["counts"]["rejected"] == 6 and status["counts"]["duplicate"] == 1
    assert {e["reason"] for e in status["recent_errors"]} >= {"empty_file", "too_many_pixels", "corrupt_image"}
    assert status["dead_letters"] == {}  # no Service Bus configured: no dead letters to show


def test_records_can_be_filtered_by_status(finished_run: dict) -> None:
    rejected = json.loads(invoke("records", "--backend", "azure", "--status", "rejected", "--json"))
    assert len(rejected) == 6 and {r["status"] for r in rejected} == {"rejected"}
