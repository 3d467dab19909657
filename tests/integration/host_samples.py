"""Bytes captured from a real Functions host, kept as test vectors.

``SERVICEBUS_MESSAGE`` is the ``model_binding_data`` content the host sent
for one Service Bus message (body ``hello``, message id
``f00d2a33551440389d68e299d31adc7c``, sequence number 12, lock token
``fc53a15f-dd66-494f-825d-ee1b7c343cfb``, first delivery). Source: the
constant ``SERVICEBUS_SAMPLE_CONTENT`` in ``azurefunctions-extensions-bindings-servicebus/tests/test_servicebus.py``
of Azure/azure-functions-python-extensions (MIT licence), byte for byte.
"""

SERVICEBUS_MESSAGE = (
    b"_\241S\374f\335OI\202]\356\033|4<\373\000Sp\300\013\005@@pH\031\010\000@R\001\000Sq\301$\002\243\020"
    b"x-opt-lock-token\230\374S\241_\335fIO\202]\356\033|4<\373\000Sr\301U\006\243\023x-opt-enqueued-time"
    b"\203\000\000\001\216v\307\333\310\243\025x-opt-sequence-numberU\014\243\022x-opt-locked-until\203\000"
    b"\000\001\216v\310\3067\000Ss\300?\r\241 f00d2a33551440389d68e299d31adc7c@@@@@@@\203\000\000\001\216\276"
    b"\340\343\310\203\000\000\001\216v\307\333\310@@@\000Su\240\005hello"
)
SAMPLE_MESSAGE_ID = "f00d2a33551440389d68e299d31adc7c"
SAMPLE_LOCK_TOKEN = "fc53a15f-dd66-494f-825d-ee1b7c343cfb"
SAMPLE_SEQUENCE_NUMBER = 12
