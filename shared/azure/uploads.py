"""From a blob event to the ingest stage: the object's current version is read from the store.

The event names a blob; the upload id comes from the blob's path and etag as
the store reports them (the same call ``imgpipe run --backend azure`` makes
when it lists ``uploads/``), so both ways into the pipeline agree on the id.
"""

from __future__ import annotations

import logging

from shared.ports import MissingObject
from shared.records import Record
from shared.services import Services
from shared.settings import UPLOADS
from shared.stages import ingest

log = logging.getLogger(__name__)


def upload_path(blob_name: str) -> str:
    """The trigger gives ``uploads/<name>`` (container included); accept a bare name too."""
    name = blob_name.lstrip("/")
    return name if name.startswith(UPLOADS + "/") else f"{UPLOADS}/{name}"


def ingest_blob(svc: Services, blob_name: str) -> Record | None:
    """Ingest one upload; None when the blob is already gone (deleted before the event was handled)."""
    path = upload_path(blob_name)
    try:
        return ingest(svc, svc.store.info(path))
    except MissingObject:
        log.warning("upload %s disappeared before it was ingested", path)
        return None
