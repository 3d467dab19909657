"""``ingest``: a blob in ``uploads/`` -> bronze copy + record + one ``cleanse`` message.

The SDK-type blob binding (``azurefunctions-extensions-bindings-blob``) hands
over a ``BlobClient``, not the bytes: with ``func.InputStream`` the host would
download every upload and push it over gRPC to the worker, which never reads
it. The handler takes only the blob's name; the store streams the bytes to
bronze while hashing them.

The trigger's ``source`` is read from the app setting ``UPLOADS_TRIGGER_SOURCE``
when the worker indexes the functions: ``EventGrid`` in Azure (Flex
Consumption supports nothing else) and ``LogsAndContainerScan`` for Azurite,
which raises no Event Grid events. A ``%UPLOADS_TRIGGER_SOURCE%`` binding
expression is not an option: the library passes it through, but the host
deserialises ``source`` straight into its ``BlobTriggerSource`` enum without
resolving app settings, so the function would fail to load.
"""

# No `from __future__ import annotations`: the worker binds SDK types by the real annotation objects.
import logging
import os

import azure.functions as func
import azurefunctions.extensions.bindings.blob as blob

from shared.azure import handlers
from shared.azure.bootstrap import services

bp = func.Blueprint()
log = logging.getLogger(__name__)

SOURCE_SETTING = "UPLOADS_TRIGGER_SOURCE"


def trigger_source(value: str | None) -> func.BlobSource:
    """The configured source; unset means EventGrid (production), anything unknown fails indexing loudly."""
    try:
        return func.BlobSource(value or func.BlobSource.EVENT_GRID.value)
    except ValueError:
        allowed = ", ".join(s.value for s in func.BlobSource)
        raise ValueError(f"{SOURCE_SETTING}={value!r}: use one of {allowed}") from None


@bp.function_name("ingest")
@bp.blob_trigger(arg_name="upload", path="uploads/{name}", connection="IMAGES_STORAGE",
                 source=trigger_source(os.environ.get(SOURCE_SETTING)))
def ingest(upload: blob.BlobClient) -> None:
    """Only the name is used: no download here (the client is not even authenticated with until used)."""
    name = f"{upload.container_name}/{upload.blob_name}"
    record = handlers.ingest(services(), name)
    if record is not None:
        log.info("upload %r -> %s (%s)", name, record.upload_id, record.status)
