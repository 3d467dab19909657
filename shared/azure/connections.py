"""Clients for Blob Storage, Service Bus and Cosmos DB, from the same settings the Functions host reads.

A binding's ``connection`` names a setting prefix. The host accepts either a
connection string under that name (emulators, Azurite) or identity-based
settings under ``<NAME>__...`` (``__serviceUri``/``__blobServiceUri``,
``__fullyQualifiedNamespace``, ``__accountEndpoint``, plus ``__clientId`` for a
user-assigned identity). The code accepts exactly the same forms, so one set
of app settings drives both the triggers and the SDK clients. Clients are
created on first use and cached per process: never at import time, because
the Functions worker imports every module while indexing, before it may
have settings or a network.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import Any
from urllib.parse import urlparse

from shared.errors import PipelineUnavailable

_lock = threading.RLock()  # re-entrant: one cached client may be built from another


class MissingSetting(PipelineUnavailable):
    """A connection's settings are absent: say which names would have worked (the CLI prints it, exit 2)."""


def setting(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def _identity_value(prefix: str, *suffixes: str) -> str | None:
    for suffix in suffixes:
        value = setting(f"{prefix}__{suffix}")
        if value:
            return value
    return None


@cache
def credential(client_id: str | None = None) -> Any:
    """One ``DefaultAzureCredential`` per identity: token caches are per credential object."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=client_id) if client_id else DefaultAzureCredential()


def _credential_for(prefix: str) -> Any:
    return credential(_identity_value(prefix, "clientId"))


def is_connection_string(value: str) -> bool:
    return ("=" in value and ";" in value) or value.lower().startswith("usedevelopmentstorage=")


def blob_service_client(prefix: str = "IMAGES_STORAGE") -> Any:
    """``IMAGES_STORAGE`` as a connection string, or ``__serviceUri``/``__blobServiceUri``/``__accountName``."""
    from azure.storage.blob import BlobServiceClient

    raw = setting(prefix)
    if raw and is_connection_string(raw):
        return BlobServiceClient.from_connection_string(raw)
    url = _identity_value(prefix, "blobServiceUri", "serviceUri")
    account = _identity_value(prefix, "accountName")
    if not url and account:
        url = f"https://{account}.blob.core.windows.net"
    if not url:
        raise MissingSetting(f"set {prefix} (connection string) or {prefix}__blobServiceUri / {prefix}__serviceUri")
    return BlobServiceClient(url, credential=_credential_for(prefix))


def queue_service_client(prefix: str = "IMAGES_STORAGE") -> Any:
    """The Queue service of the same account: a connection string, or ``__queueServiceUri``/``__accountName``.

    The blob trigger keeps its poison queue there (infra sets ``IMAGES_STORAGE__queueServiceUri`` for it).
    """
    from azure.storage.queue import QueueServiceClient

    raw = setting(prefix)
    if raw and is_connection_string(raw):
        if "blobendpoint=" in raw.lower() and "queueendpoint=" not in raw.lower():
            raise MissingSetting(f"{prefix} names a BlobEndpoint but no QueueEndpoint")  # the SDK would guess one
        return QueueServiceClient.from_connection_string(raw)
    url = _identity_value(prefix, "queueServiceUri")
    account = _identity_value(prefix, "accountName")
    if not url and account:
        url = f"https://{account}.queue.core.windows.net"
    if not url:
        raise MissingSetting(f"set {prefix} (connection string) or {prefix}__queueServiceUri")
    return QueueServiceClient(url, credential=_credential_for(prefix))


def servicebus_client(prefix: str = "SERVICEBUS") -> Any:
    """``SERVICEBUS`` as a connection string (emulator) or ``SERVICEBUS__fullyQualifiedNamespace``."""
    from azure.servicebus import ServiceBusClient

    raw = setting(prefix)
    if raw and is_connection_string(raw):
        return ServiceBusClient.from_connection_string(raw)
    namespace = _identity_value(prefix, "fullyQualifiedNamespace")
    if not namespace:
        raise MissingSetting(f"set {prefix} (connection string) or {prefix}__fullyQualifiedNamespace")
    return ServiceBusClient(namespace, credential=_credential_for(prefix))


def cosmos_client() -> Any:
    """``COSMOS_ENDPOINT`` (or ``COSMOS__accountEndpoint``) with ``COSMOS_KEY`` for emulators, else the identity.

    Loopback endpoints are emulators with self-signed certificates; azure-cosmos
    skips verification for localhost/127.0.0.1 by itself, and only for them. A key is only ever used when it
    is set: in Azure it is left unset and the managed identity signs in.
    """
    from azure.cosmos import CosmosClient

    endpoint = setting("COSMOS_ENDPOINT") or _identity_value("COSMOS", "accountEndpoint")
    if not endpoint:
        raise MissingSetting("set COSMOS_ENDPOINT (or COSMOS__accountEndpoint)")
    key = setting("COSMOS_KEY")
    if urlparse(endpoint).hostname in ("localhost", "127.0.0.1"):
        _quiet_unverified_loopback()
    return CosmosClient(endpoint, credential=key or _credential_for("COSMOS"))


def _quiet_unverified_loopback() -> None:
    """An emulator's self-signed certificate is expected on loopback: no warning per request."""
    import warnings

    from urllib3.exceptions import InsecureRequestWarning

    warnings.filterwarnings("ignore", category=InsecureRequestWarning)


def once(name: str, factory: Any) -> Any:
    """A process-wide singleton per name, built on first use (thread-safe)."""
    with _lock:
        if name not in _instances:
            _instances[name] = factory()
        return _instances[name]


def reset() -> None:
    """Forget cached clients (tests that change settings between cases)."""
    with _lock:
        _instances.clear()
    credential.cache_clear()


_instances: dict[str, Any] = {}
