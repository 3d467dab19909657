"""Two kinds of failure, and why they differ.

A permanent error is a property of the input: retrying cannot help, so it is
never retried and the record ends ``rejected`` with a reason code. A transient
error is a property of the moment (a timeout, a throttle, a record that is
not there yet): it is retried with backoff and, when retries run out, the
message lands in a dead-letter queue with the error text.
"""

from __future__ import annotations

# Reason codes of permanent errors; stable strings, shown to operators and users.
EMPTY_FILE = "empty_file"
FILE_TOO_LARGE = "file_too_large"
UNSUPPORTED_FORMAT = "unsupported_format"
CORRUPT_IMAGE = "corrupt_image"
TOO_MANY_PIXELS = "too_many_pixels"
BAD_MESSAGE = "bad_message"
MISSING_SOURCE = "missing_source"
# Reason codes of an upload that could not be taken in (status ``failed``; each run tries it again while the
# upload is there), and of a record whose bytes are gone for good (status ``lost``).
UNREADABLE = "unreadable"
FORBIDDEN = "forbidden"
ARCHIVED = "archived"
WRITE_FAILED = "write_failed"
INGEST_ERROR = "ingest_error"
BRONZE_MISSING = "bronze_missing"
INGEST_FAILURES = frozenset({UNREADABLE, FORBIDDEN, ARCHIVED, WRITE_FAILED, INGEST_ERROR})

REASONS = {
    EMPTY_FILE: "the upload has zero bytes",
    FILE_TOO_LARGE: "the upload is larger than the byte cap",
    UNSUPPORTED_FORMAT: "not an allowed image format (by magic bytes)",
    CORRUPT_IMAGE: "the image could not be decoded (truncated or damaged)",
    TOO_MANY_PIXELS: "the header declares more pixels than the cap (decompression bomb)",
    BAD_MESSAGE: "the queue message is not a valid imgpipe message",
    MISSING_SOURCE: "the upload or bronze object the message names does not exist",
    UNREADABLE: "the upload exists but cannot be read (permissions, I/O error); tried again next run",
    FORBIDDEN: "the storage service lists the upload but refuses to read it (HTTP 403); tried again next run",
    ARCHIVED: "the upload is in the Archive tier: rehydrate it; tried again next run",
    WRITE_FAILED: "the bronze copy could not be written (disk full, quota); tried again next run",
    INGEST_ERROR: "ingesting the upload failed unexpectedly (the detail says how); tried again next run",
    BRONZE_MISSING: "the bronze copy is gone and the upload no longer holds that version: nothing to rebuild from",
}


class PipelineError(Exception):
    """Base of imgpipe's own errors."""


class PipelineUnavailable(PipelineError):
    """The pipeline itself cannot work (unwritable data dir, locked database, unreachable service).

    Not about one upload: every runtime stops and says why in one line (the
    CLI exits 2), instead of failing each upload in turn.
    """


class InputFailure(PipelineError):
    """One upload cannot be taken in now (unreadable, forbidden, archived, its copy not writable).

    Not bad input and not the pipeline: the upload gets a ``failed`` record with ``reason``, the run goes
    on with the others, and every later run tries it again while the upload is there.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)

    def __reduce__(self):  # picklable with both arguments (worker processes hand errors back)
        return type(self), (self.reason, self.detail)


class PermanentError(PipelineError):
    """Bad input: never retried; the record ends rejected with ``reason``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class TransientError(PipelineError):
    """Worth another try later (backoff), dead-lettered when retries run out."""


class BatchError(TransientError):
    """About a whole batch, not one of its items (the endpoint hangs, answers 503 or garbage).

    Retrying the items one by one would only repeat the failure once per item,
    and a batch of 8 against a hanging endpoint would outlast its lease 9 times over.
    """
