"""Unwrap the SDK-type Service Bus binding into the settlement policy's ``Delivery``."""

from __future__ import annotations

from typing import Any

from shared.azure.delivery import Delivery


def delivery_of(message: Any) -> Delivery:
    """``message`` is an ``azure.servicebus.ServiceBusReceivedMessage`` (from the SDK-type binding)."""
    body = message.body
    data = body if isinstance(body, bytes) else b"".join(body)
    # The AMQP header's delivery-count counts prior deliveries: 0 on the first, so the attempt is one more.
    return Delivery(message=message, body=data, message_id=str(message.message_id),
                    attempt=int(message.delivery_count or 0) + 1)
