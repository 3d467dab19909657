"""Names and paths. User-provided names are data (``raw_name``), never paths.

Every path imgpipe writes is derived from identifiers it computed itself:
bronze from the upload id, silver from the content hash. That is what makes
re-runs land on the same objects (idempotency) and what keeps ``../``,
unicode tricks and 200-character names out of the storage layout.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime

from shared.layout import Zone

ANONYMOUS = "anonymous"
_SAFE_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "gif": ".gif", "bmp": ".bmp", "tiff": ".tif"}


def upload_id_for(upload_path: str, version: str) -> str:
    """Deterministic id of one upload: the same object version always maps to the same id.

    ``version`` is the blob etag in Azure and size+mtime locally, so a re-fired
    event for the same blob is the same upload, while overwriting the blob with
    new bytes is a new one.
    """
    digest = hashlib.sha256(_utf8(f"{upload_path}\n{version}")).hexdigest()
    return digest[:32]


def path_key(upload_path: str) -> str:
    """A fixed-size key for an upload path (re-upload pointers): any bytes in, hex out, usable as a Cosmos id."""
    return hashlib.sha256(_utf8(upload_path)).hexdigest()


def _utf8(text: str) -> bytes:
    """UTF-8, also for a file name that is not (Linux hands its bytes over as lone surrogates)."""
    return text.encode("utf-8", "surrogatepass")


def safe_user_id(raw: str) -> str:
    """A user id usable as a path segment; anything odd becomes a stable hashed slug."""
    if _SAFE_USER.match(raw) and ".." not in raw:
        return raw
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", unicodedata.normalize("NFKD", raw)).strip("-")[:32]
    return f"{slug or 'user'}-{hashlib.sha256(_utf8(raw)).hexdigest()[:8]}"


def split_upload_path(upload_path: str) -> tuple[str, str]:
    """``uploads/{user}/{name}`` -> (user_id, raw_name); a file directly in uploads/ is anonymous."""
    rel = upload_path.split("/", 1)[1] if upload_path.startswith(Zone.UPLOADS + "/") else upload_path
    parts = rel.split("/")
    if len(parts) == 1:
        return ANONYMOUS, parts[0]
    return safe_user_id(parts[0]), parts[-1]


def clean_display_name(raw_name: str, limit: int = 255) -> str:
    """The user's name as data: control characters (and undecodable bytes) dropped, length capped."""
    text = "".join(ch for ch in unicodedata.normalize("NFC", raw_name) if unicodedata.category(ch)[0] != "C")
    return text[:limit]


def extension_for(fmt: str | None) -> str:
    return _EXTENSIONS.get(fmt or "", ".bin")


def bronze_path(upload_ts: datetime, user_id: str, upload_id: str, fmt: str | None) -> str:
    return f"{Zone.BRONZE}/{upload_ts:%Y/%m/%d}/{user_id}/{upload_id}{extension_for(fmt)}"


def silver_name(sha256: str) -> str:
    return f"{sha256}.jpg"


def silver_path(upload_ts: datetime, sha256: str) -> str:
    """Content-addressed by the raw bytes' sha256: duplicates and re-runs hit the same object."""
    return f"{Zone.SILVER}/{upload_ts:%Y/%m/%d}/{silver_name(sha256)}"
