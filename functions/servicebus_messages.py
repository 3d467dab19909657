"""Unwrap the SDK-type Service Bus binding into the settlement policy's ``Delivery``."""

from __future__ import annotations

from typing import Any

from shared.azure.delivery import Delivery


def delivery_of(message: Any) -> Delivery:
    """``message`` is an ``azure.servicebus.ServiceBusReceivedMessage`` (from the SDK-type binding)."""
    body = message.body
    data = body if isinstance(body, bytes) else b"".join(body)
    return Delivery(message=message, body=data, message_id=str(message.message_id),
                    delivery_count=int(message.delivery_count or 1))
