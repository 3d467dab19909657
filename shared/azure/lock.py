"""The run lock of ``imgpipe run --backend azure``: a lease on one blob, the Azure way to hold a mutex.

The lease lasts 60 s and a thread renews it while the run goes on, so a
killed run frees it within a minute without anyone cleaning up. Overlapping
runs would still converge (every stage is idempotent); the lock keeps them
from copying the same uploads twice, and makes ``--wait`` mean the same as
it does locally.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ServiceRequestError, ServiceResponseError

from shared.adapters.azure_errors import reachable
from shared.layout import Zone
from shared.ports import StoreUnavailable
from shared.runtime import AlreadyRunning

LOCK_BLOB = ".imgpipe/run.lock"  # in the silver container, which no lifecycle rule moves to the Archive tier
LEASE_SECONDS = 60
RENEW_EVERY = 15.0


@contextlib.contextmanager
def run_lease(service: Any, timeout: float = 0.0) -> Iterator[None]:
    """Hold the lease on ``silver/.imgpipe/run.lock``; wait up to ``timeout`` seconds for another run."""
    with reachable(f"Blob Storage ({service.primary_hostname})"):
        lease = _acquire(service.get_blob_client(Zone.SILVER, LOCK_BLOB), timeout)
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(lease, stop), daemon=True, name="imgpipe-lease")
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        with contextlib.suppress(HttpResponseError, ServiceRequestError, ServiceResponseError):
            lease.release()


def _acquire(blob: Any, timeout: float) -> Any:
    try:
        with contextlib.suppress(ResourceExistsError):
            blob.upload_blob(b"", overwrite=False)
    except HttpResponseError as exc:
        if exc.status_code in (401, 403):
            raise StoreUnavailable(f"Blob Storage refused to write the run lock {Zone.SILVER}/{LOCK_BLOB} "
                                   f"(HTTP {exc.status_code}): check the credentials") from None
        raise
    deadline = time.monotonic() + timeout
    while True:
        try:
            return blob.acquire_lease(lease_duration=LEASE_SECONDS)
        except HttpResponseError as exc:
            if exc.status_code != 409:
                raise
            if time.monotonic() >= deadline:
                raise AlreadyRunning(f"another imgpipe run holds the lease on {Zone.SILVER}/{LOCK_BLOB} "
                                     f"(it lapses {LEASE_SECONDS} s after its holder stops)") from None
            time.sleep(1.0)


def _renew(lease: Any, stop: threading.Event) -> None:
    while not stop.wait(RENEW_EVERY):
        with contextlib.suppress(HttpResponseError, ServiceRequestError, ServiceResponseError):
            lease.renew()
