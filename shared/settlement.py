"""One settlement policy for every runtime: what happens to a message after its stage ran.

A pure function from (error, attempt, max attempts) to a verdict, applied by
two thin adapters: the in-process job host (``shared.jobhost.worker``) and the
Functions app's Service Bus message actions (``shared.azure.settle``).

- success, bad input included: **complete**. A stage that rejects an upload
  returns a ``rejected`` record with its reason code; that record is the
  outcome users see in ``status``/``records``, not operator work.
- a message that cannot be understood (``PermanentError``, e.g. ``bad_message``):
  **dead-letter** now with its reason; it names no record to mark.
- any other error: **retry**, and on the last attempt **dead-letter** with
  ``retries_exhausted`` and mark the record ``failed``.

The dead-letter queue therefore holds only what needs an operator. When the
delivery count is unknown the message is retried: the broker's own limit
dead-letters it, and the reconciliation sweep marks the record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from shared import errors
from shared.logs import redact
from shared.records import RETRIES_EXHAUSTED

T = TypeVar("T")
DETAIL_LIMIT = 1024


class Verdict(StrEnum):
    COMPLETE = "complete"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True)
class Settlement:
    verdict: Verdict
    reason: str | None = None
    detail: str | None = None
    mark_failed: bool = False  # the record must say ``failed`` before the message leaves for the DLQ


COMPLETE = Settlement(Verdict.COMPLETE)


def describe(error: BaseException) -> str:
    """An error as the text a record, a dead letter or a log keeps: secrets redacted (an SDK error may quote a
    SAS URL, an endpoint may echo its key), capped."""
    text = str(error) if isinstance(error, errors.PipelineError) else f"{type(error).__name__}: {error}"
    return redact(text)[:DETAIL_LIMIT]


def settle(error: BaseException | None, attempt: int | None, max_attempts: int) -> Settlement:
    """The policy. ``attempt`` is 1 on the first delivery; None when the broker did not say."""
    if error is None:
        return COMPLETE
    if isinstance(error, errors.PermanentError):
        return Settlement(Verdict.DEAD_LETTER, error.reason, describe(error))
    if attempt is not None and attempt >= max_attempts:
        return Settlement(Verdict.DEAD_LETTER, RETRIES_EXHAUSTED, describe(error), mark_failed=True)
    return Settlement(Verdict.RETRY, detail=describe(error))


def run_isolated(handle: Callable[[list[T]], object], items: Sequence[T]) -> list[tuple[T, BaseException | None]]:
    """Run a batch; when it fails, run each item alone, so one bad item does not sink (or burn retries of) the rest.

    Returns each item with its own error (None when it succeeded). Stages are
    idempotent, so the items the failed batch had already finished are no-ops
    the second time.
    """
    items = list(items)
    try:
        handle(items)
    except Exception as exc:
        if len(items) == 1 or isinstance(exc, errors.BatchError | errors.PipelineUnavailable):
            # the whole batch (or the pipeline) failed: splitting would only repeat it once per item
            return [(item, exc) for item in items]
        return [pair for item in items for pair in run_isolated(handle, [item])]
    return [(item, None) for item in items]
