"""The blob trigger's poison queue in the operator's dead-letter view, against Azurite's Queue service.

The host writes ``webjobs-blobtrigger-poison`` messages to the account of the trigger's connection
(``IMAGES_STORAGE``) after ``poisonBlobThreshold`` failures; ``imgpipe dlq`` lists and re-drives them.
"""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

from click.testing import CliRunner

from imgpipe.cli import cli
from shared import naming
from shared.adapters.memory import RecordingQueue
from shared.adapters.poison_blobs import POISON_QUEUE, PoisonBlobs
from shared.azure import connections, handlers
from shared.azure.bootstrap import AzureApp, bootstrap
from shared.azure.operations import AzureDeadLetters
from shared.layout import Queue
from shared.records import Status
from shared.settings import Settings
from tests.corpus import jpeg, photo


def host_message(blob: str, encoded: bool = True) -> str:
    """What the storage extension writes for a poisoned blob (base64 by its default messageEncoding)."""
    data = json.dumps({"Type": "BlobTrigger", "FunctionId": "Host.Functions.ingest", "BlobType": "BlockBlob",
                       "ContainerName": "uploads", "BlobName": blob, "ETag": "\"0x8DC1\""})
    return base64.b64encode(data.encode()).decode() if encoded else data


def poison_queue() -> Any:
    """The poison queue, empty (Azurite runs once per session)."""
    from azure.core.exceptions import ResourceExistsError

    queue = connections.queue_service_client().get_queue_client(POISON_QUEUE)
    with contextlib.suppress(ResourceExistsError):
        queue.create_queue()
    queue.clear_messages()
    return queue


def view(rt: AzureApp, queue: Any) -> AzureDeadLetters:
    return AzureDeadLetters(None, PoisonBlobs(queue), lambda path: handlers.ingest(rt.services, path))


def test_poisoned_uploads_are_listed_and_replayed_into_the_pipeline(azure_queue_env: dict[str, str]) -> None:
    rt = bootstrap(Settings.from_env(), queue=RecordingQueue(), classifier="none", create_missing=True)
    for name in ("a.jpg", "b.jpg"):
        rt.store.put(f"uploads/seller1/{name}", jpeg(photo(320, 240, seed=len(name) + ord(name[0]))))
    queue = poison_queue()
    queue.send_message(host_message("seller1/a.jpg"))
    queue.send_message(host_message("seller1/b.jpg", encoded=False))
    queue.send_message("not a poison message")
    letters = view(rt, queue)
    assert letters.counts() == {POISON_QUEUE: 3}
    listed = letters.list()
    assert [(d.queue, d.message_id, d.reason) for d in listed] == [
        (POISON_QUEUE, "uploads/seller1/a.jpg", "poison_blob"), (POISON_QUEUE, "uploads/seller1/b.jpg", "poison_blob")]
    assert "Host.Functions.ingest" in (listed[0].detail or "")

    assert letters.replay("uploads/seller1/b.jpg") == 1
    upload_id = naming.upload_id_for("uploads/seller1/b.jpg", rt.store.info("uploads/seller1/b.jpg").version)
    record = rt.meta.get(upload_id)
    assert record is not None and record.status == Status.BRONZE
    assert [(q, m) for q, m, _ in rt.services.queue.sent] == [(Queue.CLEANSE, upload_id)]
    assert [d.message_id for d in letters.list()] == ["uploads/seller1/a.jpg"]  # the others are back, untouched

    assert letters.replay() == 1 and len(rt.meta.find()) == 2
    assert [m.content for m in queue.peek_messages(max_messages=32)] == ["not a poison message"]


def test_imgpipe_dlq_list_shows_the_poison_queue(azure_queue_env: dict[str, str]) -> None:
    bootstrap(Settings.from_env(), queue=RecordingQueue(), classifier="none", create_missing=True)  # the database
    poison_queue().send_message(host_message("seller2/c.jpg"))
    result = CliRunner().invoke(cli, ["dlq", "list", "--backend", "azure", "--json"])
    assert result.exit_code == 0, result.output
    assert [(d["queue"], d["message_id"]) for d in json.loads(result.stdout)] == [
        (POISON_QUEUE, "uploads/seller2/c.jpg")]
    status = CliRunner().invoke(cli, ["status", "--backend", "azure", "--json"])
    assert status.exit_code == 0, (status.output, status.exception)
    assert json.loads(status.stdout)["dead_letters"] == {POISON_QUEUE: 1}
