"""``classify``: a batch of ``classify`` messages -> one model call -> classified / needs_review records.

Batched (``cardinality=many``, up to ``maxMessageBatchSize`` in host.json)
because the model scores several images per request far cheaper than one
at a time; settled per message with the same policy as ``process``.
"""

# No `from __future__ import annotations`: the worker binds SDK types by the real annotation objects.
import azure.functions as func
import azurefunctions.extensions.bindings.servicebus as servicebus

from functions.servicebus_messages import delivery_of
from shared.azure.bootstrap import services
from shared.azure.delivery import classify_batch
from shared.settings import CLASSIFY_QUEUE

bp = func.Blueprint()


@bp.function_name("classify")
@bp.service_bus_queue_trigger(arg_name="messages", queue_name=CLASSIFY_QUEUE, connection="SERVICEBUS",
                              cardinality=func.Cardinality.MANY, auto_complete_messages=False)
def classify(messages: list[servicebus.ServiceBusReceivedMessage],
             message_actions: servicebus.ServiceBusMessageActions) -> None:
    classify_batch(services(), [delivery_of(m) for m in messages], message_actions)
