"""One settings object, read from the environment.

Azure app settings, ``local.settings.json`` (``func start``) and CLI flags all
end up as environment variables, so every runtime reads configuration the
same way. The names below are also what ``infra/`` sets and what the tests
check for drift, so they live in exactly one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

# App setting names shared by code, bindings, local.settings.sample.json and infra.
APP_SETTINGS = {
    "PYTHON_ISOLATE_WORKER_DEPENDENCIES": "1, read by the Functions Python worker, not by the code: the worker "
    "otherwise loads its own protobuf 4.x first and the SDK-type bindings fail to import (no function indexes)",
    "IMAGES_STORAGE": "Blob Storage of uploads/bronze/silver: a connection string "
    "(Azurite) or, in Azure, IMAGES_STORAGE__serviceUri/__blobServiceUri for a managed identity",
    "SERVICEBUS": "Service Bus: a connection string (emulator) or, in Azure, "
    "SERVICEBUS__fullyQualifiedNamespace for a managed identity",
    "COSMOS_ENDPOINT": "Cosmos DB account endpoint, e.g. https://<account>.documents.azure.com:443/",
    "COSMOS_KEY": "Cosmos DB key: emulators only; in Azure leave unset to use the managed identity",
    "COSMOS_DATABASE": "Cosmos DB database name (default imgpipe)",
    "UPLOADS_TRIGGER_SOURCE": "blob trigger source: EventGrid in Azure, LogsAndContainerScan for Azurite",
    "ML_ENDPOINT_URL": "Azure ML online endpoint scoring URI; unset = in-process model",
    "ML_ENDPOINT_KEY": "endpoint key (a Key Vault reference in Azure); unset = Entra token auth",
    "CLASSIFY_CONFIDENCE_THRESHOLD": "below this confidence a prediction goes to needs_review (default 0.5)",
    "CLASSIFY_BATCH_BUDGET_SECONDS": "a classify batch starts no model call after this many seconds (default 100): "
    "the host does not renew a batch's lock, so budget + one call's worst case must stay inside it (PT5M)",
    "RECONCILE_SCHEDULE": "NCRONTAB schedule of the reconciliation sweep (timer function reconcile), "
    "e.g. 0 */10 * * * * (every 10 minutes)",
    "RECONCILE_GRACE_MINUTES": "an upload younger than this is left to its own event (default 15)",
    "RECONCILE_STUCK_MINUTES": "a record not finished and untouched for this long is driven again (default 60)",
    "RECONCILE_LOOKBACK_HOURS": "uploads older than this are not looked at any more (default 72: Event Grid retries "
    "for 24 h, and earlier sweeps saw them)",
    "RECONCILE_LIMIT": "uploads examined, and records re-driven or marked, per sweep (default 500)",
    "IMGPIPE_MAX_ATTEMPTS": "deliveries of a message before it is dead-lettered (default 5, 1-100); infra sets the "
    "queues' maxDeliveryCount from the same parameter",
    "ML_ENDPOINT_TIMEOUT": "seconds to wait for the scoring endpoint to connect and to answer each read (default 30)",
    "ML_ENDPOINT_MAX_RETRY_AFTER": "longest Retry-After the classifier waits between its attempts, in seconds "
    "(default 20); a longer one is capped, with a warning",
}


class SettingsError(ValueError):
    """A setting holds a value that cannot be used; the message names the setting."""


def _number(name: str, default: float, kind: type) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r} must not be negative")
    return value


def _int(name: str, default: int, maximum: int | None = None, minimum: int = 0) -> int:
    value = int(_number(name, default, int))
    if value < minimum or (maximum is not None and value > maximum):
        raise SettingsError(f"{name}={value} must be between {minimum} and {maximum}")
    return value


def _float(name: str, default: float) -> float:
    return float(_number(name, default, float))


@dataclass(frozen=True)
class Limits:
    """Caps checked before any pixel is decoded (untrusted input).

    50 MiB holds any real camera JPEG; 64 MP admits a 50 MP photo while a
    decompression bomb (a tiny PNG declaring 20000x20000) is refused from its
    header. 64 MP of 16-bit RGBA is 512 MB decoded, a third of a Consumption
    instance, and JPEGs never get there because they are shrunk while decoding.
    """

    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 64_000_000
    # Pillow decodes WebP at full size into RGBA plus copies (~16 bytes per pixel measured: 800 MB for
    # 50 MP); WebP is a web delivery format, so a lower cap costs real uploads nothing.
    max_pixels_webp: int = 24_000_000
    max_side: int = 512
    jpeg_quality: int = 85

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_bytes=_int("IMGPIPE_MAX_BYTES", cls.max_bytes),
            max_pixels=_int("IMGPIPE_MAX_PIXELS", cls.max_pixels),
            max_pixels_webp=_int("IMGPIPE_MAX_PIXELS_WEBP", cls.max_pixels_webp),
            max_side=_int("IMGPIPE_MAX_SIDE", cls.max_side),
            jpeg_quality=_int("IMGPIPE_JPEG_QUALITY", cls.jpeg_quality),
        )


# Service Bus allows more, but a message delivered a hundred times is a bug, not bad luck.
MAX_ATTEMPTS_LIMIT = 100


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for transient errors; after max_attempts the job is dead-lettered.

    ``max_attempts`` is one setting for every runtime: the local job queue reads
    it, the Functions app reads it to know a message's last delivery, and
    ``infra/`` sets the Service Bus queues' ``maxDeliveryCount`` and this app
    setting from one parameter (the drift test checks it).
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the given (1-based) failed attempt."""
        return min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))

    @classmethod
    def from_env(cls) -> RetryPolicy:
        return cls(
            max_attempts=_int("IMGPIPE_MAX_ATTEMPTS", cls.max_attempts, maximum=MAX_ATTEMPTS_LIMIT, minimum=1),
            base_delay=_float("IMGPIPE_RETRY_BASE_DELAY", cls.base_delay),
            max_delay=_float("IMGPIPE_RETRY_MAX_DELAY", cls.max_delay),
        )


@dataclass(frozen=True)
class ReconcilePolicy:
    """How far the reconciliation sweep looks (``shared.reconcile``); the schedule is the timer's binding."""

    grace_minutes: float = 15.0
    stuck_minutes: float = 60.0
    lookback_hours: float = 72.0
    limit: int = 500

    @classmethod
    def from_env(cls) -> ReconcilePolicy:
        return cls(
            grace_minutes=_float("RECONCILE_GRACE_MINUTES", cls.grace_minutes),
            stuck_minutes=_float("RECONCILE_STUCK_MINUTES", cls.stuck_minutes),
            lookback_hours=_float("RECONCILE_LOOKBACK_HOURS", cls.lookback_hours),
            limit=_int("RECONCILE_LIMIT", cls.limit, maximum=100_000, minimum=1),
        )


@dataclass(frozen=True)
class EndpointSettings:
    """How long one scoring request may take: per attempt ``timeout`` (connect, and each read), ``attempts``
    tries, and between them at most ``max_retry_after`` seconds, whatever ``Retry-After`` asks for."""

    timeout: float = 30.0
    max_retry_after: float = 20.0
    attempts: int = 4

    def worst_case(self) -> float:
        """Seconds one request can take against an endpoint that hangs every time (the check at start-up)."""
        return self.attempts * self.timeout + (self.attempts - 1) * self.max_retry_after

    @classmethod
    def from_env(cls) -> EndpointSettings:
        return cls(timeout=_positive("ML_ENDPOINT_TIMEOUT", cls.timeout),
                   max_retry_after=_float("ML_ENDPOINT_MAX_RETRY_AFTER", cls.max_retry_after))


def _positive(name: str, default: float) -> float:
    value = _float(name, default)
    if value <= 0:
        raise SettingsError(f"{name}={value} must be more than 0")
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    limits: Limits = field(default_factory=Limits)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    confidence_threshold: float = 0.5
    cosmos_database: str = "imgpipe"
    reconcile: ReconcilePolicy = field(default_factory=ReconcilePolicy)
    classify_budget_seconds: float = 100.0
    endpoint: EndpointSettings = field(default_factory=EndpointSettings)
    # Seconds to connect to Blob Storage or Cosmos DB before the service counts as unreachable (exit 2).
    connect_timeout: float = 5.0

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            data_dir=Path(os.environ.get("IMGPIPE_DATA_DIR") or "data"),
            limits=Limits.from_env(),
            retry=RetryPolicy.from_env(),
            confidence_threshold=_float("CLASSIFY_CONFIDENCE_THRESHOLD", 0.5),
            cosmos_database=os.environ.get("COSMOS_DATABASE") or "imgpipe",
            reconcile=ReconcilePolicy.from_env(),
            classify_budget_seconds=_float("CLASSIFY_BATCH_BUDGET_SECONDS", 100.0),
            endpoint=EndpointSettings.from_env(),
            connect_timeout=_positive("IMGPIPE_CONNECT_TIMEOUT", 5.0),
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
