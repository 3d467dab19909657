"""``cleanse``: a ``cleanse`` message -> silver + gold record (+ a ``classify`` message).

``auto_complete_messages=False`` with the SDK-type binding's message actions:
the code settles every message itself by the one settlement policy, because
only the message actions can dead-letter a message with its reason; a raised
error leaves the message to the host, which abandons it for redelivery.
"""

# No `from __future__ import annotations`: the worker binds SDK types by the real annotation objects.
import azure.functions as func
import azurefunctions.extensions.bindings.servicebus as servicebus

from functions.servicebus_messages import delivery_of
from shared.azure import handlers
from shared.azure.bootstrap import services
from shared.layout import Queue

bp = func.Blueprint()


@bp.function_name("cleanse")
@bp.service_bus_queue_trigger(arg_name="message", queue_name=Queue.CLEANSE.value, connection="SERVICEBUS",
                              auto_complete_messages=False)
def cleanse(message: servicebus.ServiceBusReceivedMessage,
            message_actions: servicebus.ServiceBusMessageActions) -> None:
    handlers.cleanse(services(), delivery_of(message), message_actions)
