"""Unwrap the SDK-type Service Bus binding into the settlement policy's ``Delivery``."""

from __future__ import annotations

from typing import Any

from shared.azure.settle import Delivery


def delivery_of(message: Any) -> Delivery:
    """``message`` is an ``azure.servicebus.ServiceBusReceivedMessage`` (from the SDK-type binding)."""
    return Delivery(message=message, body=_body(message.body), message_id=str(message.message_id),
                    attempt=attempt_of(message.delivery_count))


def attempt_of(delivery_count: Any) -> int | None:
    """The host's AMQP header count is already 1-based (its converter adds one); a missing count is unknown.

    Never guess "first" for a missing count: the record would then never be
    marked failed before the broker dead-letters the message.
    """
    if isinstance(delivery_count, int) and not isinstance(delivery_count, bool) and delivery_count >= 1:
        return delivery_count
    return None


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
