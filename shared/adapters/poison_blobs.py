"""The blob trigger's poison queue: uploads the Functions host gave up on (``webjobs-blobtrigger-poison``).

After ``poisonBlobThreshold`` failed runs of a blob-triggered function the
host writes one message naming the blob to the queue ``webjobs-blobtrigger-poison``
in the storage account of the trigger's connection (``IMAGES_STORAGE``), and
never runs the function for that blob again. The message is JSON
(``{"Type": "BlobTrigger", "FunctionId": "Host.Functions.ingest",
"BlobType": "BlockBlob", "ContainerName": "uploads", "BlobName": "...",
"ETag": "..."}``), base64-encoded by the storage extension's default
``messageEncoding``; plain JSON is read as well.

Here they are listed (peeked: nothing changes) and re-driven: the caller
ingests the blob the way the trigger would, and only then is the message
deleted, so a failure in between leaves it for the next try.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

POISON_QUEUE = "webjobs-blobtrigger-poison"
PEEK_LIMIT = 32  # the Queue service peeks at most 32 messages per call
INVISIBLE_SECONDS = 120  # a message being replayed stays hidden this long; after a crash it reappears


@dataclass(frozen=True)
class PoisonBlob:
    path: str  # container/blob, as the store names objects
    function: str | None
    dequeue_count: int
    inserted_at: datetime | None
    body: str


def decode(content: str | bytes) -> dict[str, Any] | None:
    """The host's message as a dict; None for anything that is not a blob-trigger poison message."""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    candidates = [text]
    with contextlib.suppress(binascii.Error, UnicodeDecodeError, ValueError):
        candidates.insert(0, base64.b64decode(text, validate=True).decode("utf-8"))
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("ContainerName") and data.get("BlobName"):
            return data
    return None


def _path(data: dict[str, Any]) -> str:
    return f"{data['ContainerName']}/{data['BlobName']}"


class PoisonBlobs:
    """``queue`` is an ``azure.storage.queue.QueueClient`` for ``webjobs-blobtrigger-poison``."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def count(self) -> int:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return int(self.queue.get_queue_properties().approximate_message_count or 0)
        except ResourceNotFoundError:
            return 0  # the host creates the queue with the first poison message

    def list(self, limit: int = PEEK_LIMIT) -> list[PoisonBlob]:
        """Peek (no change) at up to ``min(limit, 32)`` of the oldest messages."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            peeked = self.queue.peek_messages(max_messages=max(1, min(limit, PEEK_LIMIT)))
        except ResourceNotFoundError:
            return []
        out = []
        for message in peeked:
            data = decode(message.content)
            if data is None:
                log.warning("poison queue message %s is not a blob-trigger message", message.id)
                continue
            out.append(PoisonBlob(_path(data), data.get("FunctionId"), int(message.dequeue_count or 0),
                                  message.inserted_on, json.dumps(data)))
        return out

    def replay(self, ingest: Callable[[str], object], path: str | None = None) -> int:
        """Ingest each poisoned blob (or the one at ``path``), deleting its message once that worked.

        Received messages stay invisible while this runs; the ones not asked for are made visible again at
        the end, and a message whose ingest fails reappears by itself after ``INVISIBLE_SECONDS``.
        """
        from azure.core.exceptions import ResourceNotFoundError

        replayed, skipped = 0, []
        try:
            while batch := list(self.queue.receive_messages(max_messages=PEEK_LIMIT,
                                                            visibility_timeout=INVISIBLE_SECONDS)):
                for message in batch:
                    data = decode(message.content)
                    if data is None or (path is not None and _path(data) != path):
                        skipped.append(message)
                        continue
                    ingest(_path(data))
                    self.queue.delete_message(message)
                    replayed += 1
        except ResourceNotFoundError:
            return 0
        finally:
            for message in skipped:
                self.queue.update_message(message, visibility_timeout=0)
        return replayed
