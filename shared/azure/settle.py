"""The Service Bus adapter of the one settlement policy (``shared.settlement``).

The triggers hand over the SDK-type binding's ``ServiceBusMessageActions``
as ``actions``; this module never imports ``azure.functions``. A verdict maps
to a settlement call:

- complete -> ``actions.complete``;
- dead-letter -> the record is marked ``failed`` first when the policy says so
  (retries ran out), then ``actions.deadletter`` with the reason code as the
  DLQ reason and the detail as its description, which Service Bus Explorer shows;
- retry -> raise: the host abandons the message and the broker redelivers it.
  When the delivery count is unknown the broker's ``maxDeliveryCount`` ends
  it (``MaxDeliveryCountExceeded``) and the reconciliation sweep marks the record.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from shared import errors, messages
from shared.services import Services
from shared.settlement import DETAIL_LIMIT, Settlement, Verdict
from shared.stages import mark_failed

log = logging.getLogger(__name__)


class MessageActions(Protocol):
    """The settlement calls used here (``azurefunctions.extensions.bindings.servicebus.ServiceBusMessageActions``)."""

    def complete(self, message: Any) -> None: ...

    def deadletter(self, message: Any, deadletter_reason: str | None = None,
                   deadletter_error_description: str | None = None) -> None: ...


@dataclass(frozen=True)
class Delivery:
    """One received message: the broker's object (handed back to settle it) and what the policy reads."""

    message: Any
    body: bytes
    message_id: str
    attempt: int | None  # 1 on the first delivery; None when the host did not say


class Retry(errors.TransientError):
    """Raised to hand messages back to the host for redelivery (the policy's retry verdict)."""


def apply(svc: Services, queue: str, delivery: Delivery, outcome: Settlement, actions: MessageActions) -> bool:
    """Settle one message; False when it is to be retried (the caller raises after settling the others)."""
    if outcome.verdict == Verdict.COMPLETE:
        actions.complete(delivery.message)
        return True
    if outcome.verdict == Verdict.RETRY:
        log.info("%s/%r attempt %s failed, will be retried: %s", queue, delivery.message_id,
                 delivery.attempt or "?", outcome.detail)
        return False
    if outcome.mark_failed:
        try:
            with contextlib.suppress(errors.PermanentError):  # a malformed body names no record
                mark_failed(svc, messages.upload_id_from(delivery.body), queue, outcome.detail or "")
        except Exception:  # the store may be what is failing; the message still goes to the DLQ
            log.exception("could not mark %r failed", delivery.message_id)
    log.warning("dead-lettering %s/%r: %s %s", queue, delivery.message_id, outcome.reason, outcome.detail)
    actions.deadletter(delivery.message, deadletter_reason=outcome.reason,
                       deadletter_error_description=(outcome.detail or "")[:DETAIL_LIMIT]
                       or errors.REASONS.get(outcome.reason or ""))
    return True
