"""``classify``: a batch of ``classify`` messages -> one model call -> classified / needs_review records.

Batched (``cardinality=many``, up to ``maxMessageBatchSize`` in host.json)
because the model scores several images per request far cheaper than one
at a time; settled per message by the same policy as ``cleanse``.
"""

# No `from __future__ import annotations`: the worker binds SDK types by the real annotation objects.
import azure.functions as func
import azurefunctions.extensions.bindings.servicebus as servicebus

from functions.servicebus_messages import delivery_of
from shared.azure import handlers
from shared.azure.bootstrap import services
from shared.layout import Queue

bp = func.Blueprint()


@bp.function_name("classify")
@bp.service_bus_queue_trigger(arg_name="messages", queue_name=Queue.CLASSIFY.value, connection="SERVICEBUS",
                              cardinality=func.Cardinality.MANY, auto_complete_messages=False)
def classify(messages: list[servicebus.ServiceBusReceivedMessage],
             message_actions: servicebus.ServiceBusMessageActions) -> None:
    handlers.classify(services(), [delivery_of(m) for m in messages], message_actions)
