"""Azure SDK failures that are about a whole service, not one object: one line naming the service.

A refused or timed-out connection surfaces from the SDKs as ``ServiceRequestError``
/ ``ServiceResponseError`` whose text quotes the request URL, SAS query string
included. What the operator needs is which service and why, so that is all
the message keeps, and the pipeline stops with exit 2 instead of failing each
upload in turn.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from azure.core.exceptions import ServiceRequestError, ServiceResponseError

from shared.ports import StoreUnavailable

_REASON = re.compile(r"\[Errno -?\d+\] [^'\")\]]+|Name or service not known|timed out|Connection aborted|"
                     r"Connection reset|Temporary failure in name resolution")


def unreachable(service: str, exc: BaseException) -> StoreUnavailable:
    found = _REASON.search(str(exc))
    return StoreUnavailable(f"{service} is unreachable: {found.group(0).strip() if found else type(exc).__name__}")


@contextlib.contextmanager
def reachable(service: str) -> Iterator[None]:
    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise unreachable(service, exc) from None
