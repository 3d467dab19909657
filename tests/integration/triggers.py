"""Real trigger objects, built from the bytes the Functions host sends, and a recording message-actions double.

Service Bus: the host hands an SDK-type binding 16 lock-token bytes (the
.NET ``Guid`` byte order, i.e. ``uuid.bytes_le``) followed by the raw AMQP
message: header (delivery-count already 1-based), delivery annotations with
``x-opt-lock-token``, message annotations, properties, body. That is the
layout of the host-captured sample in the extension's own tests
(``tests/integration/host_samples.py``); ``amqp_message`` writes the same
sections, and ``test_host_message_format.py`` checks both decode alike.
They then go through the pinned extension's own converter
(``ServiceBusConverter.decode``), so the handler gets exactly the
``azure.servicebus.ServiceBusReceivedMessage`` it gets in Azure — including
the delivery count the pinned decoder loses.

Blob: the SDK-type blob binding receives ``model_binding_data`` whose content
is JSON naming the connection setting, container and blob; its converter
builds a ``BlobClient`` from the connection setting, as on the host.
"""

from __future__ import annotations

import json
import struct
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import azurefunctions.extensions.bindings.blob as blob
from azurefunctions.extensions.base import Datum
from azurefunctions.extensions.bindings.servicebus import ServiceBusConverter, ServiceBusReceivedMessage

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class ModelBindingData:
    """What the worker passes a converter for an SDK-type binding (``model_binding_data``)."""

    content: bytes
    source: str = "AzureServiceBusReceivedMessage"
    content_type: str = "application/octet-stream"
    version: str = "1.0"


# ---- AMQP 1.0 encoding: just the constructors the host's messages use ----

def _sym(name: str) -> bytes:
    raw = name.encode("ascii")
    return b"\xa3" + bytes([len(raw)]) + raw


def _str(text: str) -> bytes:
    raw = text.encode()
    return b"\xb1" + struct.pack(">I", len(raw)) + raw


def _timestamp(ts: datetime) -> bytes:
    return b"\x83" + struct.pack(">q", int((ts - _EPOCH).total_seconds() * 1000))


def _compound(code: int, items: list[bytes]) -> bytes:
    """list32 (0xd0) or map32 (0xd1): size, count, then the encoded items."""
    payload = struct.pack(">I", len(items)) + b"".join(items)
    return bytes([code]) + struct.pack(">I", len(payload)) + payload


def _section(descriptor: int, value: bytes) -> bytes:
    return b"\x00\x53" + bytes([descriptor]) + value


def amqp_message(body: bytes | int, message_id: str, delivery_count: int, lock_token: uuid.UUID,
                 sequence_number: int = 1, enqueued: datetime | None = None) -> bytes:
    """The raw AMQP message as the host writes it after the lock token (``body`` int = an amqp-value body)."""
    enqueued = enqueued or datetime.now(UTC)
    null = b"\x40"
    header = _compound(0xD0, [null, null, null, null, b"\x70" + struct.pack(">I", delivery_count)])
    delivery_annotations = _compound(0xD1, [_sym("x-opt-lock-token"), b"\x98" + lock_token.bytes])
    annotations = _compound(0xD1, [
        _sym("x-opt-enqueued-time"), _timestamp(enqueued),
        _sym("x-opt-sequence-number"), b"\x81" + struct.pack(">q", sequence_number),
        _sym("x-opt-locked-until"), _timestamp(enqueued + timedelta(minutes=1)),
    ])
    properties = _compound(0xD0, [_str(message_id)])
    if isinstance(body, bytes):
        content = _section(0x75, b"\xb0" + struct.pack(">I", len(body)) + body)  # data section
    else:
        content = _section(0x77, b"\x71" + struct.pack(">i", body))  # amqp-value section (int)
    return (_section(0x70, header) + _section(0x71, delivery_annotations) + _section(0x72, annotations)
            + _section(0x73, properties) + content)


def host_bytes(body: bytes | int, message_id: str, delivery_count: int, sequence_number: int = 1) -> bytes:
    """Lock token (``bytes_le``) + the AMQP message: the ``model_binding_data`` content the host sends."""
    lock = uuid.uuid4()
    return lock.bytes_le + amqp_message(body, message_id, delivery_count, lock, sequence_number)


def decode(content: bytes) -> Any:
    """The pinned extension's converter, as the worker calls it for ``ServiceBusReceivedMessage``."""
    datum = Datum(value=ModelBindingData(content), type="model_binding_data")
    return ServiceBusConverter.decode(datum, trigger_metadata=None, pytype=ServiceBusReceivedMessage)


def servicebus_message(body: dict[str, Any] | bytes, message_id: str = "m1", delivery_count: int = 1) -> Any:
    """A ``ServiceBusReceivedMessage`` from host bytes whose header says ``delivery_count`` (1 = first delivery)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return decode(host_bytes(raw, message_id, delivery_count))


def servicebus_value_message(value: int, message_id: str = "m1") -> Any:
    """A message whose AMQP body is a value section (another producer's), not the data section imgpipe sends."""
    return decode(host_bytes(value, message_id, 1))


def blob_client(connection: str, container: str, name: str) -> Any:
    """The ``BlobClient`` the SDK-type blob trigger hands over (no blob bytes travel with it)."""
    content = json.dumps({"Connection": connection, "ContainerName": container, "BlobName": name}).encode()
    data = ModelBindingData(content, source="AzureStorageBlobs", content_type="application/json")
    datum = Datum(value=data, type="model_binding_data")
    return blob.BlobClientConverter.decode(datum, trigger_metadata=None, pytype=blob.BlobClient)


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
