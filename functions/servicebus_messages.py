"""Unwrap the SDK-type Service Bus binding into the settlement policy's ``Delivery``."""

from __future__ import annotations

from typing import Any

from shared.azure.delivery import Delivery


def delivery_of(message: Any) -> Delivery:
    """``message`` is an ``azure.servicebus.ServiceBusReceivedMessage`` (from the SDK-type binding)."""
    # The AMQP header's delivery-count counts prior deliveries: 0 on the first, so the attempt is one more.
    return Delivery(message=message, body=_body(message.body), message_id=str(message.message_id),
                    attempt=int(message.delivery_count or 0) + 1)


def _body(body: Any) -> bytes:
    """A data body's bytes; any other body (a value or sequence from another producer) is empty: a bad message.

    Raising here instead would fail the whole invocation, so one foreign
    message would keep sending its batch back to the queue.
    """
    if isinstance(body, bytes):
        return body
    try:
        return b"".join(body)
    except TypeError:
        return b""
