"""How every Cosmos DB call is made: request charge accounted, throttling waited out.

Cosmos DB bills and throttles in request units (RU). Each response carries
its charge in ``x-ms-request-charge``; summing it per operation kind is what
lets us state the RU cost of one image and size the account (serverless
burst, provisioned RU/s). A 429 means "too many RU per second right now":
the SDK already retries it a few times honouring ``x-ms-retry-after-ms``;
when it gives up we wait the advertised time ourselves a bounded number of
times, then raise ``TransientError`` so the message goes back to its queue
(and the broker's backoff) instead of holding a worker hostage.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.cosmos.exceptions import CosmosHttpResponseError

from shared import errors
from shared.adapters.azure_errors import unreachable
from shared.ports import StoreUnavailable

T = TypeVar("T")
THROTTLED = 429
REFUSED = frozenset({401, 403})  # the credentials, not one request: the pipeline cannot work
# Worth another try a moment later: throttled, timed out, service unavailable, write conflict (449).
RETRYABLE = frozenset({THROTTLED, 408, 449, 503})
CHARGE_HEADER = "x-ms-request-charge"
RETRY_AFTER_HEADER = "x-ms-retry-after-ms"


@dataclass
class RequestCharges:
    """Request units and request counts per operation kind (``read``, ``upsert``, ``query:find``…)."""

    ru: Counter = field(default_factory=Counter)
    calls: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, op: str, headers: Mapping[str, Any] | None) -> None:
        raw = (headers or {}).get(CHARGE_HEADER)
        with self._lock:
            self.calls[op] += 1
            self.ru[op] += float(raw) if raw not in (None, "") else 0.0

    @property
    def total(self) -> float:
        return float(sum(self.ru.values()))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"total_ru": round(self.total, 2), "ru": dict(self.ru), "calls": dict(self.calls)}

    def reset(self) -> None:
        with self._lock:
            self.ru.clear()
            self.calls.clear()


@dataclass
class Requester:
    """Runs one Cosmos call with accounting and bounded throttle retries."""

    charges: RequestCharges = field(default_factory=RequestCharges)
    service: str = "Cosmos DB"  # named in the one-line error when it cannot be reached
    max_attempts: int = 5
    max_wait: float = 10.0
    sleep: Callable[[float], None] = time.sleep

    def __call__(self, op: str, call: Callable[[Callable[..., None]], T]) -> T:
        """``call(hook)`` performs the request, passing ``response_hook=hook`` to the SDK."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return call(lambda headers, *_: self.charges.add(op, headers))
            except (ServiceRequestError, ServiceResponseError) as exc:
                raise unreachable(self.service, exc) from None
            except CosmosHttpResponseError as exc:
                self.charges.add(op, exc.headers)  # failed requests are billed too (404, 409, 412)
                if exc.status_code in REFUSED:
                    raise StoreUnavailable(f"{self.service} refused the request (HTTP {exc.status_code}): check "
                                           "COSMOS_KEY or the identity's Cosmos DB data role") from None
                if exc.status_code not in RETRYABLE:
                    raise
                if attempt == self.max_attempts:
                    raise errors.TransientError(f"cosmos {op}: HTTP {exc.status_code} after {attempt} tries") from exc
                self.sleep(self._wait(exc, attempt))
        raise AssertionError("unreachable")

    def _wait(self, exc: CosmosHttpResponseError, attempt: int) -> float:
        advised = (exc.headers or {}).get(RETRY_AFTER_HEADER)
        seconds = float(advised) / 1000.0 if advised not in (None, "") else 0.1 * (2 ** (attempt - 1))
        return min(self.max_wait, seconds)
