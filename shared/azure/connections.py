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

Timeouts are bounded (``IMGPIPE_CONNECT_TIMEOUT``, default 5 s, and a short
retry backoff): an unreachable account is one line and exit 2 within seconds,
not a traceback after minutes of the SDKs' default backoff (86 s for Blob
Storage). Keys found in the settings are registered with ``shared.logs`` so
no log line or record ever shows them.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import Any
from urllib.parse import urlparse

from shared import logs
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


def _register_secrets(connection_string: str) -> None:
    """The secret parts of a connection string: never to be shown in a log or a record."""
    for part in connection_string.split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() in ("accountkey", "sharedaccesskey", "sharedaccesssignature"):
            logs.register_secret(value.strip())


def connect_timeout() -> float:
    from shared.settings import Settings

    return Settings.from_env().connect_timeout


def blob_options(timeout: float) -> dict[str, Any]:
    """Connect within ``timeout`` seconds, retry a refused connection twice after 1-5 s: seconds, not minutes."""
    return {"connection_timeout": timeout, "retry_total": 3, "retry_connect": 2, "initial_backoff": 1,
            "increment_base": 2}


def blob_service_client(prefix: str = "IMAGES_STORAGE", timeout: float | None = None) -> Any:
    """``IMAGES_STORAGE`` as a connection string, or ``__serviceUri``/``__blobServiceUri``/``__accountName``."""
    from azure.storage.blob import BlobServiceClient

    options = blob_options(connect_timeout() if timeout is None else timeout)
    raw = setting(prefix)
    if raw and is_connection_string(raw):
        _register_secrets(raw)
        return BlobServiceClient.from_connection_string(raw, **options)
    url = _identity_value(prefix, "blobServiceUri", "serviceUri")
    account = _identity_value(prefix, "accountName")
    if not url and account:
        url = f"https://{account}.blob.core.windows.net"
    if not url:
        raise MissingSetting(f"set {prefix} (connection string) or {prefix}__blobServiceUri / {prefix}__serviceUri")
    return BlobServiceClient(url, credential=_credential_for(prefix), **options)


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
        _register_secrets(raw)
        return ServiceBusClient.from_connection_string(raw)
    namespace = _identity_value(prefix, "fullyQualifiedNamespace")
    if not namespace:
        raise MissingSetting(f"set {prefix} (connection string) or {prefix}__fullyQualifiedNamespace")
    return ServiceBusClient(namespace, credential=_credential_for(prefix))


def cosmos_client(timeout: float | None = None) -> Any:
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
    logs.register_secret(key)
    if urlparse(endpoint).hostname in ("localhost", "127.0.0.1"):
        _quiet_unverified_loopback()
    from azure.cosmos.exceptions import CosmosHttpResponseError

    from shared.adapters.azure_errors import reachable

    service = f"Cosmos DB ({urlparse(endpoint).netloc})"
    try:
        with reachable(service):  # the client reads the account when it is created
            return CosmosClient(endpoint, credential=key or _credential_for("COSMOS"),
                                connection_timeout=connect_timeout() if timeout is None else timeout)
    except CosmosHttpResponseError as exc:
        if exc.status_code in (401, 403):
            raise PipelineUnavailable(f"{service} refused the credentials (HTTP {exc.status_code}): check "
                                      "COSMOS_KEY or the identity's Cosmos DB data role") from None
        raise


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
