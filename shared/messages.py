"""Queue message bodies: tiny JSON documents that name an upload, nothing more.

The bytes stay in storage and the state in the metadata store; a message only
says "look at upload X", which is why re-delivering one is harmless.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shared import errors

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def body_for(upload_id: str) -> dict[str, Any]:
    return {"upload_id": upload_id}


def upload_id_from(body: bytes | str | dict[str, Any]) -> str:
    """Parse a message body; anything malformed is a permanent ``bad_message``."""
    try:
        data = body if isinstance(body, dict) else json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.PermanentError(errors.BAD_MESSAGE, f"not JSON: {exc}") from exc
    upload_id = data.get("upload_id") if isinstance(data, dict) else None
    if not isinstance(upload_id, str) or not _UPLOAD_ID.match(upload_id):
        raise errors.PermanentError(errors.BAD_MESSAGE, "missing or invalid upload_id")
    return upload_id
