"""Where a seller's upload goes, and the limits stated to them: ``uploads/{user_id}/{name}`` on every backend.

The user id is the caller's (the principal's), never a request field. The
file name is kept as the upload's name because the pipeline records it as
``raw_name`` (data, shown escaped) and a second upload of the same name is a
re-upload that supersedes the first; it is made a single safe path segment
here: control characters dropped, slashes replaced by look-alike ``∕``/``⧵``
so a name such as ``<script>alert(1)</script>.jpg`` survives as one segment.
Bronze and silver are still named by ids and hashes, never by this.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.adapters.fs_store import is_partial
from shared.formats import ALLOWED, SNIFF_BYTES, sniff
from shared.layout import Zone
from shared.naming import clean_display_name, folder_of
from shared.settings import Limits
from web.identity import Principal
from web.params import BadInput

MAX_NAME_BYTES = 200  # file systems allow 255 bytes per name; leave room for temp suffixes
CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
                 "bmp": "image/bmp", "tiff": "image/tiff"}


class TooLarge(BadInput):
    """More bytes than ``IMGPIPE_MAX_BYTES`` (413)."""


class NotAnImage(BadInput):
    """The bytes are none of the allowed formats (415): the pipeline would reject them anyway."""


@dataclass(frozen=True)
class UploadLimits:
    """What the upload page and ``POST /api/uploads`` tell a seller."""

    max_bytes: int
    formats: tuple[str, ...]
    content_types: tuple[str, ...]

    @classmethod
    def from_limits(cls, limits: Limits) -> UploadLimits:
        return cls(limits.max_bytes, ALLOWED, tuple(CONTENT_TYPES[f] for f in ALLOWED))

    def to_dict(self) -> dict[str, object]:
        return {"max_bytes": self.max_bytes, "formats": list(self.formats), "content_types": list(self.content_types)}


def upload_name(raw: str | None) -> str:
    """The name as one path segment, or BadInput saying why it cannot be one."""
    name = clean_display_name(raw or "").replace("/", "\u2215").replace("\\", "\u29f5").strip()
    if name in ("", ".", ".."):
        raise BadInput("the file needs a name")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise BadInput(f"file name longer than {MAX_NAME_BYTES} bytes")
    if is_partial(name):
        raise BadInput("names ending in .tmp, .part, .crdownload, .partial or ~ mark files still being written")
    return name


def upload_path(principal: Principal, raw_name: str | None) -> str:
    """The folder whose name maps back to the principal's user id (``shared.naming``: plain ids are their folder)."""
    return f"{Zone.UPLOADS}/{folder_of(principal.user_id)}/{upload_name(raw_name)}"


def check_upload(data: bytes, limits: UploadLimits) -> str:
    """Early answers for a seller; the pipeline still checks everything itself (and records a reason)."""
    if len(data) > limits.max_bytes:
        raise TooLarge(f"file larger than {limits.max_bytes} bytes")
    if not data:
        raise BadInput("the file is empty")
    fmt = sniff(data[:SNIFF_BYTES])
    if fmt is None:
        raise NotAnImage(f"not an allowed image (allowed: {', '.join(limits.formats)})")
    return fmt
