"""Fixtures for the Azure integration tests: the stand-ins run once per session, on free loopback ports.

Without ``node_modules`` the tests fail in CI (``CI`` is set) and skip with
the reason elsewhere: CI must never pass by not running them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from shared.azure import connections
from shared.azure.bootstrap import AzureApp, bootstrap
from shared.layout import IMAGE_CONTAINERS as CONTAINERS
from shared.settings import Settings
from tests.integration.azure_services import (
    AzureServices,
    empty_containers,
    node_modules_or_skip,
    running,
    running_queue,
)


@pytest.fixture(scope="session")
def azure_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureServices]:
    node_modules_or_skip()
    with running(workdir=tmp_path_factory.mktemp("azure-services")) as services:
        yield services


@pytest.fixture(scope="session")
def azure_queue_services(azure_services: AzureServices, tmp_path_factory: pytest.TempPathFactory
                         ) -> Iterator[AzureServices]:
    """The same stand-ins plus Azurite's Queue service (started on first use, once per session)."""
    with running_queue(tmp_path_factory.mktemp("azurite-queue")) as port:
        yield AzureServices(azure_services.blob_port, azure_services.cosmos_port, port)


@pytest.fixture
def azure_queue_env(azure_queue_services: AzureServices) -> Iterator[dict[str, str]]:
    with fresh_azure_settings(azure_queue_services) as env:
        yield env


@contextmanager
def fresh_azure_settings(services: AzureServices) -> Iterator[dict[str, str]]:
    """Settings for a fresh Cosmos database and empty containers; cached clients are dropped before and after."""
    env = services.env(database=f"t{uuid.uuid4().hex[:12]}")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        for name in ("SERVICEBUS", "SERVICEBUS__fullyQualifiedNamespace", "ML_ENDPOINT_URL", "ML_ENDPOINT_KEY"):
            patch.delenv(name, raising=False)
        connections.reset()
        empty_containers(connections.blob_service_client(), CONTAINERS)
        try:
            yield env
        finally:
            connections.reset()


@pytest.fixture
def azure_env(azure_services: AzureServices) -> Iterator[dict[str, str]]:
    with fresh_azure_settings(azure_services) as env:
        yield env


@pytest.fixture
def azure_runtime(azure_env: dict[str, str]) -> AzureApp:
    """Blob + Cosmos on the stand-ins, a recording queue instead of Service Bus, no classifier."""
    from shared.adapters.memory import RecordingQueue

    return bootstrap(Settings.from_env(), queue=RecordingQueue(), classifier="none", create_missing=True)


def pytest_configure(config: pytest.Config) -> None:
    # The Cosmos DB stand-in's self-signed certificate on loopback is expected (the SDK skips verification there).
    config.addinivalue_line("filterwarnings", "ignore::urllib3.exceptions.InsecureRequestWarning")
