"""Format sniffing from magic bytes: the name and the content type are never trusted."""

from __future__ import annotations

ALLOWED = ("jpeg", "png", "webp", "gif", "bmp", "tiff")
SNIFF_BYTES = 512


def sniff(head: bytes) -> str | None:
    """Return an allowed format name, or None for anything else (SVG, HTML, PDF, unknown)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith(b"BM") and len(head) >= 26:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def describe(head: bytes) -> str:
    """A short human description of what a refused upload looks like, for reason_detail."""
    text = head[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"%pdf"):
        return "PDF document"
    if b"<svg" in text or (text.startswith(b"<?xml") and b"svg" in text):
        return "SVG document"
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text or b"<script" in text:
        return "HTML document"
    if text.startswith(b"<?xml"):
        return "XML document"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "HEIF/AVIF image (not allowed)"
    if head.startswith(b"PK\x03\x04"):
        return "ZIP archive"
    return "unknown content"
