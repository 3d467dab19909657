"""The Azure runtime's one bootstrap: Blob Storage + Cosmos DB + Service Bus + the classifier.

Like ``shared.local.bootstrap``: everything is built on call, never at
import, and every part can be overridden (tests pass a recording queue or a
fake classifier; ``imgpipe run --backend azure`` passes its in-process job
queue). ``services()`` is the Functions app's entry: built on the first
invocation and then shared by every invocation in the worker process, so
connections and token caches are reused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared import logs
from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.azure_errors import reachable
from shared.adapters.cosmos_metadata import CosmosMetadataStore, provision
from shared.azure import connections
from shared.classifiers import classifier_factory as factory_for
from shared.layout import IMAGE_CONTAINERS
from shared.ports import Classifier, JobQueue
from shared.services import Services
from shared.settings import Settings


@dataclass
class AzureApp:
    """The Azure adapters wired into ``Services``; what the Functions app and the operator commands use."""

    settings: Settings
    services: Services
    store: AzureBlobStore
    meta: CosmosMetadataStore


def ml_endpoint_key() -> str | None:
    """``ML_ENDPOINT_KEY`` as resolved by the platform, or its Key Vault reference fetched here; None = Entra auth."""
    from shared.adapters.keyvault_secrets import KeyVaultSecrets

    return KeyVaultSecrets(connections.credential()).resolve(connections.setting("ML_ENDPOINT_KEY"))


def classifier_factory(spec: str | None, fallback: str | None = "local",
                       settings: Settings | None = None) -> Callable[[], Classifier] | None:
    """``spec`` as the CLI's ``--classifier``: 'local', 'none' or a scoring URL (default: ``ML_ENDPOINT_URL``).

    With no spec, no setting and no ``fallback`` (the Functions app, whose package carries no model),
    classifying fails with a message naming the missing setting instead of an ImportError.
    """
    spec = spec or connections.setting("ML_ENDPOINT_URL") or fallback
    if spec is None:
        def missing() -> Classifier:
            raise connections.MissingSetting(
                "ML_ENDPOINT_URL is not set: the Functions app classifies through the Azure ML endpoint "
                "(set its scoring URI, 'local' for the in-process model, or 'none' to stop at gold)")
        return missing
    return factory_for(spec, key=ml_endpoint_key, settings=(settings or Settings.from_env()).endpoint)


def bootstrap(
    settings: Settings | None = None,
    *,
    queue: JobQueue | None = None,
    classifier: str | None = None,
    classifier_factory_override: Callable[[], Classifier] | None = None,
    create_missing: bool = False,
    classifier_fallback: str | None = "local",
) -> AzureApp:
    """Wire the adapters from the settings; ``create_missing`` creates containers (emulators and tests only)."""
    settings = settings or Settings.from_env()
    timeout = settings.connect_timeout
    store = AzureBlobStore(connections.once("blob", lambda: connections.blob_service_client(timeout=timeout)))
    cosmos = connections.once("cosmos", lambda: connections.cosmos_client(timeout=timeout))
    database = cosmos.get_database_client(settings.cosmos_database)
    if create_missing:
        store.ensure_containers(IMAGE_CONTAINERS)
        with reachable("Cosmos DB"):
            cosmos.create_database_if_not_exists(settings.cosmos_database)
            provision(database)
    meta = CosmosMetadataStore(database)
    if queue is None:
        from shared.adapters.servicebus_queue import ServiceBusJobQueue

        queue = connections.once("servicebus-queue", lambda: ServiceBusJobQueue(connections.servicebus_client()))
    factory = classifier_factory_override or classifier_factory(classifier, classifier_fallback, settings)
    services = Services(store=store, meta=meta, queue=queue, settings=settings, classifier_factory=factory,
                        classify_enabled=factory is not None)
    return AzureApp(settings, services, store, meta)


def services() -> Services:
    """The Functions app's services: one per worker process, built on first use.

    The worker's log handlers get the escaping and redacting filter here, on the first invocation,
    when the worker has installed them.
    """
    return connections.once("services", _functions_services)


def _functions_services() -> Services:
    logs.install()
    return bootstrap(classifier_fallback=None).services
