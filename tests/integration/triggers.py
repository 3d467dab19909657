"""Real trigger objects, built the way the Functions worker builds them, and a recording message-actions double.

The Service Bus message goes through the SDK-type binding's own converter
(``ServiceBusConverter.decode``) from the bytes the host sends: a lock token
followed by the AMQP message. What the handler receives is therefore the
same ``azure.servicebus.ServiceBusReceivedMessage`` it gets in Azure.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
import uamqp
from azurefunctions.extensions.base import Datum
from azurefunctions.extensions.bindings.servicebus import ServiceBusConverter, ServiceBusReceivedMessage
from uamqp.constants import MessageBodyType
from uamqp.message import MessageHeader, MessageProperties

_LOCK_TOKEN_MARK = b"x-opt-lock-token"


def blob_stream(name: str, data: bytes) -> func.InputStream:
    return func.blob.InputStream(data=data, name=name, length=len(data), uri=f"http://127.0.0.1/{name}")


@dataclass
class _ModelBindingData:
    content: bytes
    version: str = "1.0"
    source: str = "AzureServiceBusReceivedMessage"
    content_type: str = "application/octet-stream"


def _amqp(body: Any, message_id: str, delivery_count: int, body_type: MessageBodyType) -> bytes:
    header = MessageHeader()
    header.delivery_count = delivery_count
    message = uamqp.Message(body=body, properties=MessageProperties(message_id=message_id), header=header,
                            body_type=body_type)
    return uuid.uuid4().bytes_le + _LOCK_TOKEN_MARK + message.encode_message()


def servicebus_message(body: dict[str, Any] | bytes, message_id: str = "m1", delivery_count: int = 1) -> Any:
    """An ``azure.servicebus.ServiceBusReceivedMessage`` as the SDK-type binding decodes it (count 1-based)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return _decoded(_amqp(raw, message_id, delivery_count, MessageBodyType.Data))


def servicebus_value_message(value: Any, message_id: str = "m1") -> Any:
    """A message whose AMQP body is a value section (another producer's), not the data section imgpipe sends."""
    return _decoded(_amqp(value, message_id, 1, MessageBodyType.Value))


def _decoded(content: bytes) -> Any:
    datum = Datum(value=_ModelBindingData(content), type="model_binding_data")
    return ServiceBusConverter.decode(datum, trigger_metadata=None, pytype=ServiceBusReceivedMessage)


@dataclass
class RecordingActions:
    """Stands in for ``ServiceBusMessageActions`` (which talks gRPC to the host): records each settlement."""

    completed: list[str] = field(default_factory=list)
    dead_lettered: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    def complete(self, message: Any) -> None:
        self._check_unsettled(message)
        self.completed.append(str(message.message_id))

    def deadletter(self, message: Any, deadletter_reason: str | None = None,
                   deadletter_error_description: str | None = None) -> None:
        self._check_unsettled(message)
        self.dead_lettered.append((str(message.message_id), deadletter_reason, deadletter_error_description))

    def _check_unsettled(self, message: Any) -> None:
        settled = self.completed + [d[0] for d in self.dead_lettered]
        assert str(message.message_id) not in settled, f"{message.message_id} settled twice"
