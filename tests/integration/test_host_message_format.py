"""The delivery count as a real host delivers it, decoded by the pinned extension (issue 9, item 2).

Ground truth is the host-captured sample (``host_samples.py``): 16 lock-token
bytes, then the AMQP message whose header says ``delivery-count = 1`` on the
first delivery (1-based: the host's converter already added one). The pinned
decoder (``azurefunctions-extensions-bindings-servicebus`` 1.0.0b2) starts
decoding after the ``x-opt-lock-token`` annotation and so loses the header:
its ``delivery_count`` is None. The app must treat that as unknown (retry,
let the broker's ``maxDeliveryCount`` dead-letter it, let the reconciliation
sweep mark the record), never as "first", and must not add one to a count
that is already 1-based.
"""

from __future__ import annotations

import uuid

import uamqp

from functions.servicebus_messages import attempt_of, delivery_of
from shared.settlement import Verdict, settle
from tests.integration.host_samples import (
    SAMPLE_LOCK_TOKEN,
    SAMPLE_MESSAGE_ID,
    SAMPLE_SEQUENCE_NUMBER,
    SERVICEBUS_MESSAGE,
)
from tests.integration.triggers import amqp_message, decode, host_bytes


def full_decode(content: bytes) -> uamqp.Message:
    """A decoder that reads every section after the 16 lock-token bytes (what a fixed extension does)."""
    return uamqp.Message().decode_from_bytes(content[16:])


def test_the_host_sample_starts_with_its_lock_token_and_says_first_delivery_in_the_header() -> None:
    assert str(uuid.UUID(bytes_le=SERVICEBUS_MESSAGE[:16])) == SAMPLE_LOCK_TOKEN
    message = full_decode(SERVICEBUS_MESSAGE)
    assert message.header.delivery_count == 1  # the first delivery, 1-based
    assert message.properties.message_id == SAMPLE_MESSAGE_ID.encode()
    assert message.annotations[b"x-opt-sequence-number"] == SAMPLE_SEQUENCE_NUMBER


def test_the_pinned_decoder_loses_the_hosts_delivery_count() -> None:
    message = decode(SERVICEBUS_MESSAGE)
    assert (message.message_id, message.sequence_number) == (SAMPLE_MESSAGE_ID, SAMPLE_SEQUENCE_NUMBER)
    assert str(message.lock_token) == SAMPLE_LOCK_TOKEN and b"".join(message.body) == b"hello"
    assert message.delivery_count is None


def test_the_app_derives_an_unknown_attempt_from_the_host_sample_and_retries_it() -> None:
    delivery = delivery_of(decode(SERVICEBUS_MESSAGE))
    assert delivery.attempt is None and delivery.body == b"hello" and delivery.message_id == SAMPLE_MESSAGE_ID
    # unknown is never "first" nor "last": retry, the broker's maxDeliveryCount ends it
    outcome = settle(RuntimeError("endpoint down"), delivery.attempt, max_attempts=1)
    assert outcome.verdict == Verdict.RETRY and not outcome.mark_failed


def test_a_header_count_is_taken_as_is_never_plus_one() -> None:
    """What a decoder that keeps the header yields: the sample's count 1 is attempt 1, the last of 1 attempt."""
    count = full_decode(SERVICEBUS_MESSAGE).header.delivery_count
    assert attempt_of(count) == 1
    assert settle(RuntimeError("x"), attempt_of(count), max_attempts=1).mark_failed
    assert settle(RuntimeError("x"), attempt_of(count), max_attempts=2).verdict == Verdict.RETRY
    assert [attempt_of(v) for v in (0, -1, True, "2", None)] == [None] * 5


def test_the_test_builder_writes_the_hosts_layout() -> None:
    """``triggers.host_bytes`` (used by every trigger test) decodes like the captured sample, section by section."""
    lock = uuid.UUID(SAMPLE_LOCK_TOKEN)
    built = lock.bytes_le + amqp_message(b"hello", SAMPLE_MESSAGE_ID, 1, lock, SAMPLE_SEQUENCE_NUMBER)
    ours, theirs = full_decode(built), full_decode(SERVICEBUS_MESSAGE)
    assert ours.header.delivery_count == theirs.header.delivery_count
    assert ours.delivery_annotations == theirs.delivery_annotations
    assert ours.properties.message_id == theirs.properties.message_id
    assert ours.annotations[b"x-opt-sequence-number"] == theirs.annotations[b"x-opt-sequence-number"]
    assert list(ours.get_data()) == list(theirs.get_data())
    pinned_ours, pinned_theirs = decode(built), decode(SERVICEBUS_MESSAGE)
    for name in ("message_id", "sequence_number", "delivery_count"):
        assert getattr(pinned_ours, name) == getattr(pinned_theirs, name), name
    assert str(pinned_ours.lock_token) == str(pinned_theirs.lock_token)


def test_every_delivery_of_a_built_message_is_unknown_to_the_pinned_decoder() -> None:
    for count in (1, 2, 5):
        assert full_decode(host_bytes(b"{}", "m", count)).header.delivery_count == count
        assert delivery_of(decode(host_bytes(b"{}", "m", count))).attempt is None
