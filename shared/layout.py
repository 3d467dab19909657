"""Where things live: the medallion zones (blob containers / folders) and the queues between steps.

A zone is a place, a status is a state: ``bronze`` names both a container and
the first status of a record, and keeping them in two enums keeps code from
mixing them up. Queues are named after the step that consumes them, so one
step has one name across queue, function, stage and handler:
``ingest`` (blob trigger) -> queue ``cleanse`` -> queue ``classify``.
These names are also what ``infra/`` creates (checked by the drift test).
"""

from __future__ import annotations

from enum import StrEnum


class Zone(StrEnum):
    """Blob containers in Azure, folders under the data dir locally."""

    UPLOADS = "uploads"
    BRONZE = "bronze"
    SILVER = "silver"
    ARCHIVE = "archive"  # local only: Azure archives bronze in place (a tier, not a container)


# The containers of the images storage account (infra creates exactly these).
IMAGE_CONTAINERS: tuple[Zone, ...] = (Zone.UPLOADS, Zone.BRONZE, Zone.SILVER)


class Queue(StrEnum):
    """Service Bus queues in Azure, the jobs table's ``queue`` column locally; named after their consumer."""

    CLEANSE = "cleanse"
    CLASSIFY = "classify"


QUEUES: tuple[Queue, ...] = (Queue.CLEANSE, Queue.CLASSIFY)

# Cosmos DB containers: one record per upload, one claim per checksum, one pointer per upload path.
RECORDS_CONTAINER = "records"
CHECKSUMS_CONTAINER = "checksums"
NAMES_CONTAINER = "names"
COSMOS_CONTAINERS = (RECORDS_CONTAINER, CHECKSUMS_CONTAINER, NAMES_CONTAINER)
