"""Images in pages: silver as it is (our own re-encoded JPEG), bronze only as a server-made preview.

Bronze is the untrusted upload byte for byte; it is never served as is (an
HTML file named .jpg would be a page on our origin). The preview decodes it
with the core's own rules (``shared.imaging.cleanse``: sniffed format,
byte and pixel caps before decoding, bomb check on) and re-encodes a JPEG.
Silver is served by the app locally; in Azure pages link to a short-lived
read SAS instead (``SasLinks``), so image bytes do not pass through the app.
"""

from __future__ import annotations

from typing import Protocol

from shared import errors, imaging
from shared.ports import MissingObject
from shared.records import WITH_SILVER, Record
from shared.runtime import Operations
from shared.settings import Limits

PREVIEW_SIDE = 1024
THUMB_SIDE = 160


class NoImage(LookupError):
    """The record has no image of that kind (404), or its bytes cannot be decoded (the reason says why)."""


class ImageLinks(Protocol):
    def silver(self, record: Record) -> str | None: ...


class ServedLinks:
    """Silver through this app (local runtime, ``imgpipe serve --backend azure``)."""

    def silver(self, record: Record) -> str | None:
        return f"/images/{record.upload_id}/silver.jpg" if has_silver(record) else None


class SasLinks:
    """Silver through a short-lived read SAS for that one blob (the Functions app)."""

    def __init__(self, signer) -> None:  # web.azure_sas.SasSigner: imported by the Functions app only
        self.signer = signer

    def silver(self, record: Record) -> str | None:
        return self.signer.read(record.cleansed_path).url if has_silver(record) else None


def has_silver(record: Record) -> bool:
    return record.status in WITH_SILVER and bool(record.cleansed_path)


def bronze_url(record: Record) -> str | None:
    return f"/images/{record.upload_id}/bronze.jpg" if has_silver(record) else None


def silver_bytes(ops: Operations, upload_id: str) -> bytes:
    record = ops.services.meta.get(upload_id)
    if record is None or not has_silver(record):
        raise NoImage("no silver image")
    try:
        return ops.services.store.get(record.cleansed_path)  # a path from the record, never from the URL
    except MissingObject as exc:
        raise NoImage("silver image missing") from exc


def bronze_preview(ops: Operations, upload_id: str, side: int = PREVIEW_SIDE) -> bytes:
    record = ops.services.meta.get(upload_id)
    if record is None or not record.raw_path:
        raise NoImage("no bronze copy")
    try:
        data = ops.services.store.get(record.raw_path)
    except MissingObject as exc:
        raise NoImage("bronze copy missing (archived?)") from exc
    return downscale(data, ops.settings.limits, side)


def downscale(data: bytes, limits: Limits, side: int) -> bytes:
    """Untrusted bytes to a small upright JPEG with the core's decoding rules, or NoImage with the reason."""
    try:
        return imaging.cleanse(data, Limits(max_bytes=limits.max_bytes, max_pixels=limits.max_pixels,
                                            max_pixels_webp=limits.max_pixels_webp, max_side=side,
                                            jpeg_quality=85)).data
    except errors.PermanentError as exc:
        raise NoImage(f"cannot preview: {exc.reason}") from exc
