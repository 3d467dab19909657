"""``process``: an ``ingest`` message -> silver + gold record (+ a ``classify`` message).

``auto_complete_messages=False`` with the SDK-type binding's message actions:
the code settles every message itself, because a permanent error must be
dead-lettered at once with its reason (never retried) and only the message
actions can do that; a raised error leaves the message to the host, which
abandons it for redelivery.
"""

# No `from __future__ import annotations`: the worker binds SDK types by the real annotation objects.
import azure.functions as func
import azurefunctions.extensions.bindings.servicebus as servicebus

from functions.servicebus_messages import delivery_of
from shared.azure.bootstrap import services
from shared.azure.delivery import process_ingest
from shared.settings import INGEST_QUEUE

bp = func.Blueprint()


@bp.function_name("process")
@bp.service_bus_queue_trigger(arg_name="message", queue_name=INGEST_QUEUE, connection="SERVICEBUS",
                              auto_complete_messages=False)
def process(message: servicebus.ServiceBusReceivedMessage,
            message_actions: servicebus.ServiceBusMessageActions) -> None:
    process_ingest(services(), delivery_of(message), message_actions)
