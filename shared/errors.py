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

REASONS = {
    EMPTY_FILE: "the upload has zero bytes",
    FILE_TOO_LARGE: "the upload is larger than the byte cap",
    UNSUPPORTED_FORMAT: "not an allowed image format (by magic bytes)",
    CORRUPT_IMAGE: "the image could not be decoded (truncated or damaged)",
    TOO_MANY_PIXELS: "the header declares more pixels than the cap (decompression bomb)",
    BAD_MESSAGE: "the queue message is not a valid imgpipe message",
    MISSING_SOURCE: "the upload or bronze object the message names does not exist",
}


class PipelineError(Exception):
    """Base of imgpipe's own errors."""


class PipelineUnavailable(PipelineError):
    """The pipeline itself cannot work (unwritable data dir, locked database, unreachable service).

    Not about one upload: every runtime stops and says why in one line (the
    CLI exits 2), instead of failing each upload in turn.
    """


class PermanentError(PipelineError):
    """Bad input: never retried; the record ends rejected with ``reason``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class TransientError(PipelineError):
    """Worth another try later (backoff), dead-lettered when retries run out."""
