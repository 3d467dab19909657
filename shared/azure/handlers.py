"""The Functions app's three steps, behind its triggers: ingest (blob), cleanse and classify (Service Bus).

Each handler takes what the trigger unwrapped and the services, runs the
core stage, and settles Service Bus messages by the one policy
(``shared.settlement``, applied by ``shared.azure.settle``). The upload id of
a blob event comes from the blob's path and etag as the store reports them
(the same call ``imgpipe run --backend azure`` makes when it lists
``uploads/``), so both ways into the pipeline agree on the id.

What goes back to the host is redacted and carries no chained SDK exception:
the host logs whatever it is handed, and an SDK error's text may quote a SAS
URL or an endpoint's echo of its key. The original is logged at debug level,
through the same redacting filter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta

from shared import errors, stages
from shared.azure.settle import Delivery, MessageActions, Retry, apply
from shared.layout import Queue, Zone
from shared.ports import MissingObject, VersionChanged
from shared.reconcile import reconcile as sweep
from shared.records import Record
from shared.services import Services
from shared.settlement import describe, run_isolated, settle

log = logging.getLogger(__name__)


def upload_path(blob_name: str) -> str:
    """The trigger gives ``uploads/<name>`` (container included); accept a bare name too."""
    name = blob_name.lstrip("/")
    return name if name.startswith(Zone.UPLOADS + "/") else f"{Zone.UPLOADS}/{name}"


_VERSION_TRIES = 3


def ingest(svc: Services, blob_name: str) -> Record | None:
    """Ingest one upload; None when the blob is already gone (deleted before the event was handled).

    An upload that cannot be read (403, Archive tier) gets a ``failed`` record with its reason and the
    event completes: retrying it would only fail again. Other errors go back to the host to retry.
    """
    path = upload_path(blob_name)
    try:
        for _ in range(_VERSION_TRIES):
            try:
                return stages.ingest(svc, svc.store.info(path))
            except VersionChanged:
                continue  # overwritten since it was listed: take the version it is now
        log.warning("upload %r kept changing; the event of its last version takes it", path)
        return None
    except MissingObject:
        log.warning("upload %r disappeared before it was ingested", path)
        return None
    except Exception as exc:
        log.debug("ingest of %r failed", path, exc_info=exc)
        raise errors.TransientError(f"ingest of {path!r} failed: {describe(exc)}") from None


def reconcile(svc: Services, state: str | None) -> str:
    """One sweep from the token in ``state`` (the previous run's JSON); returns the state for the next run.

    The dead letters are read from the Service Bus DLQs (peek only) when ``SERVICEBUS`` is configured.
    """
    from shared.azure.operations import service_bus_dead_letters

    token = _token(state)
    report = sweep(svc, service_bus_dead_letters(), svc.settings.reconcile, token)
    log.info("reconcile from %r: %s", token, report.to_dict())
    return json.dumps({"next_token": report.next_token, "last_run": report.to_dict()})


def _token(state: str | bytes | None) -> str | None:
    """A missing or unreadable state starts from the beginning of ``uploads/``: a full cycle is harmless."""
    try:
        token = json.loads(state or "null")
    except ValueError:
        return None
    return token.get("next_token") if isinstance(token, dict) and isinstance(token.get("next_token"), str) else None


def cleanse(svc: Services, delivery: Delivery, actions: MessageActions) -> None:
    """The ``cleanse`` queue: bronze -> silver + gold record."""
    _handle(svc, Queue.CLEANSE, [delivery], actions, lambda batch: stages.cleanse(svc, batch[0].body))


def classify(svc: Services, deliveries: Sequence[Delivery], actions: MessageActions) -> None:
    """The ``classify`` queue: a batch per model call; a failing message is tried alone, the rest settled.

    The host does not renew the locks of a batch, so the whole invocation must end inside the queue's
    lock (PT5M): no model call starts after ``classify_budget_seconds``. During an endpoint outage the
    first call fails after its own retries and the per-message fallback finds the budget spent, so
    every message goes back to the broker at once instead of 1 + N calls outliving the lock.
    """
    deadline = svc.clock() + timedelta(seconds=svc.settings.classify_budget_seconds)

    def run(batch: Sequence[Delivery]) -> None:
        if svc.clock() > deadline:
            raise errors.TransientError("the batch's time budget is spent (CLASSIFY_BATCH_BUDGET_SECONDS): "
                                        "left for redelivery")
        stages.classify(svc, [d.body for d in batch])

    _handle(svc, Queue.CLASSIFY, deliveries, actions, run)


def _handle(svc: Services, queue: Queue, deliveries: Sequence[Delivery], actions: MessageActions, run) -> None:
    limit = svc.settings.retry.max_attempts
    retry = []
    for delivery, error in run_isolated(run, deliveries):
        if not apply(svc, queue, delivery, settle(error, delivery.attempt, limit), actions):
            retry.append((delivery.message_id, error))
    if retry:
        # Raising leaves the unsettled messages to the host: abandoned, redelivered, dead-lettered at last.
        for mid, err in retry:
            log.debug("%s/%r failed", queue, mid, exc_info=err)
        raise Retry(f"{len(retry)} of {len(deliveries)} {queue} message(s) to retry: "
                    + "; ".join(f"{mid!r}: {describe(err) if err else ''}" for mid, err in retry)) from None
