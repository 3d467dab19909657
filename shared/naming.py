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
from urllib.parse import unquote_to_bytes

from shared.layout import Zone

# Files directly under uploads/ belong to this user. It is reserved: a folder of that name is encoded like
# any other name that is not kept as it is, so it never shares an id with the files at the root.
ANONYMOUS = "anonymous"
_SAFE_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Bytes an encoded user id keeps as they are; every other byte is %XX. "~" is never kept, so it marks encoded ids.
_KEPT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
ENCODED, HASHED = "~", "~~"
_MAX_ENCODED = 128  # longer encodings become a hash: a path segment must stay well under 255 bytes
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
    """The user id of an ``uploads/`` folder name: injective, and usable as a path segment and a blob name.

    - a plain name (``^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$``) other than ``anonymous`` is its own id;
    - any other name is ``~`` + its UTF-8 bytes with everything outside ``[A-Za-z0-9_.-]`` written ``%XX``
      (``John Doe`` -> ``~John%20Doe``), which ``folder_of`` turns back into the name;
    - a name whose encoding would pass 128 characters is ``~~`` + the sha256 of its UTF-8 bytes.

    No plain name starts with ``~`` and no encoding holds a second ``~``, so the three forms never meet,
    and none of them is ``anonymous``, the reserved id of files directly under ``uploads/``.
    """
    if _SAFE_USER.match(raw) and raw != ANONYMOUS:
        return raw
    encoded = "".join(chr(b) if b in _KEPT else f"%{b:02X}" for b in _utf8(raw))
    if len(encoded) < _MAX_ENCODED:
        return ENCODED + encoded
    return HASHED + hashlib.sha256(_utf8(raw)).hexdigest()


def folder_of(user_id: str) -> str | None:
    """The ``uploads/`` folder name a user id stands for; None for files at the root (``anonymous``).

    Raises ``ValueError`` for a hashed id (its name is in the records' ``upload_path``) or a malformed one.
    """
    if user_id == ANONYMOUS:
        return None
    if user_id.startswith(HASHED):
        raise ValueError(f"{user_id!r} is a hash of a long folder name; the name is in the records' upload_path")
    if not user_id.startswith(ENCODED):
        return user_id
    name = unquote_to_bytes(user_id[len(ENCODED):]).decode("utf-8", "surrogatepass")
    if safe_user_id(name) != user_id:
        raise ValueError(f"{user_id!r} is not a user id imgpipe makes")
    return name


def split_upload_path(upload_path: str) -> tuple[str, str]:
    """``uploads/{folder}/{name}`` -> (user_id, raw_name); a file directly in uploads/ is ``anonymous``."""
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
