"""What happens to a Service Bus message after its stage ran: the settlement policy of the Functions app.

- success: complete;
- bad input (the stage returned a ``rejected`` record) or a malformed body
  (``PermanentError``): dead-letter now, with the reason code as the DLQ
  reason and the detail as its description, so retries are never burnt on
  it and an operator sees why in Service Bus Explorer;
- anything else: raise. The host abandons the message and the broker
  redelivers it; on the delivery that is the queue's last
  (``attempt >= SERVICEBUS_MAX_DELIVERY_COUNT``) the record is first
  marked ``failed`` with the error, because the broker is about to
  dead-letter it and the record must not stay ``bronze`` forever.

The triggers pass ``ServiceBusMessageActions`` from the SDK-type binding as
``actions``; this module never imports ``azure.functions``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shared import errors, messages
from shared.records import REJECTED, Record
from shared.services import Services
from shared.settings import CLASSIFY_QUEUE, INGEST_QUEUE
from shared.stages import classify, cleanse, mark_failed

log = logging.getLogger(__name__)
# Service Bus' default; infra sets the queues' maxDeliveryCount and this setting from one parameter.
DEFAULT_MAX_DELIVERY_COUNT = 10
DESCRIPTION_LIMIT = 1024


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
    attempt: int  # 1 on the first delivery (the SDK's ``delivery_count`` counts *prior* deliveries: 0 on the first)


def max_delivery_count() -> int:
    raw = os.environ.get("SERVICEBUS_MAX_DELIVERY_COUNT")
    return int(raw) if raw else DEFAULT_MAX_DELIVERY_COUNT


def process_ingest(svc: Services, delivery: Delivery, actions: MessageActions) -> Record | None:
    """The ``ingest`` queue: bronze -> silver + gold record, settled by the policy above."""
    try:
        record = cleanse(svc, delivery.body)
    except errors.PermanentError as exc:
        _dead_letter(actions, delivery, exc.reason, str(exc))
        return None
    except Exception as exc:
        _before_retry(svc, delivery, INGEST_QUEUE, exc)
        raise
    if record.status == REJECTED:
        _dead_letter(actions, delivery, record.reason or errors.CORRUPT_IMAGE, record.reason_detail or "")
    else:
        actions.complete(delivery.message)
    return record


def classify_batch(svc: Services, deliveries: Sequence[Delivery], actions: MessageActions) -> list[Record]:
    """The ``classify`` queue, a batch per model call; on failure each message is tried alone.

    Trying alone isolates the one message that fails (a record not yet
    written, a silver blob missing) so it does not take the others'
    delivery attempts with it.
    """
    valid = [d for d in deliveries if _well_formed(d, actions)]
    if len(valid) <= 1:
        return _one_by_one(svc, valid, actions)
    try:
        records = classify(svc, [d.body for d in valid])
    except Exception as exc:
        log.warning("classify batch of %d failed (%s); trying each message alone", len(valid), exc)
        return _one_by_one(svc, valid, actions)
    _settle_scored(actions, valid, records)
    return records


def _one_by_one(svc: Services, deliveries: Sequence[Delivery], actions: MessageActions) -> list[Record]:
    if len(deliveries) == 1:
        return _classify_alone(svc, deliveries[0], actions)  # its own error propagates unchanged
    records, failures = [], []
    for delivery in deliveries:
        try:
            records.extend(_classify_alone(svc, delivery, actions))
        except Exception as exc:
            failures.append(f"{delivery.message_id}: {exc}")
    if failures:
        # Raising leaves the failed (unsettled) messages to the host: abandoned, redelivered, dead-lettered at last.
        raise errors.TransientError(f"{len(failures)} of {len(deliveries)} classify messages failed: {failures}")
    return records


def _classify_alone(svc: Services, delivery: Delivery, actions: MessageActions) -> list[Record]:
    """One message; an image the model refuses (``PermanentError``) is dead-lettered now, never retried.

    The record is marked ``failed`` with the reason, as the local worker does
    with a permanent error, so it does not stay ``gold`` forever.
    """
    try:
        records = classify(svc, [delivery.body])
    except errors.PermanentError as exc:
        mark_failed(svc, messages.upload_id_from(delivery.body), CLASSIFY_QUEUE, f"{type(exc).__name__}: {exc}")
        _dead_letter(actions, delivery, exc.reason, str(exc))
        return []
    except Exception as exc:
        _before_retry(svc, delivery, CLASSIFY_QUEUE, exc)
        raise
    _settle_scored(actions, [delivery], records)
    return records


def _settle_scored(actions: MessageActions, deliveries: Sequence[Delivery], records: Sequence[Record]) -> None:
    """Complete each message, except one whose record the stage rejected: that is dead-lettered with the reason."""
    for delivery, record in zip(deliveries, records, strict=True):
        if record.status == REJECTED:
            _dead_letter(actions, delivery, record.reason or errors.CORRUPT_IMAGE, record.reason_detail or "")
        else:
            actions.complete(delivery.message)


def _well_formed(delivery: Delivery, actions: MessageActions) -> bool:
    try:
        messages.upload_id_from(delivery.body)
    except errors.PermanentError as exc:
        _dead_letter(actions, delivery, exc.reason, str(exc))
        return False
    return True


def _dead_letter(actions: MessageActions, delivery: Delivery, reason: str, description: str) -> None:
    log.warning("dead-lettering %s: %s %s", delivery.message_id, reason, description)
    actions.deadletter(delivery.message, deadletter_reason=reason,
                       deadletter_error_description=description[:DESCRIPTION_LIMIT] or errors.REASONS.get(reason))


def _before_retry(svc: Services, delivery: Delivery, queue: str, exc: BaseException) -> None:
    """On the last delivery, make the record say ``failed`` before the broker dead-letters the message."""
    if delivery.attempt < max_delivery_count():
        log.info("%s/%s attempt %d failed, will be retried: %s", queue, delivery.message_id, delivery.attempt, exc)
        return
    text = f"{type(exc).__name__}: {exc}"
    try:
        mark_failed(svc, messages.upload_id_from(delivery.body), queue, text)
    except Exception:  # the store may be what is failing; the broker still dead-letters the message
        log.exception("could not mark %s failed", delivery.message_id)
    log.error("%s/%s failed on its last delivery (%d): %s", queue, delivery.message_id, delivery.attempt, text)
