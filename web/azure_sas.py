"""Short-lived user-delegation SAS URLs: how browsers read silver and write uploads in Azure.

A user-delegation SAS is signed with a key the app's managed identity gets
from Entra ID (role *Storage Blob Delegator* plus data roles), never with an
account key, and it can be revoked by revoking the key. Each SAS names one
blob (``sr=b``): a read SAS for one silver image, a create/write SAS for one
new blob under ``uploads/{user_id}/``. A write to any other name, a read, a
list or a delete with it fails. Containers stay private.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.storage.blob import BlobSasPermissions, generate_blob_sas

from shared.adapters.azure_blob import split_path

KEY_LIFETIME = timedelta(hours=1)
KEY_RENEW_BEFORE = timedelta(minutes=15)
READ_TTL = timedelta(minutes=10)
WRITE_TTL = timedelta(minutes=10)
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Grant:
    url: str
    expires: datetime
    permissions: str


class SasSigner:
    def __init__(self, service: Any, clock: Any = None) -> None:
        """``service`` is a ``BlobServiceClient`` signed in with a token credential (managed identity)."""
        self.service = service
        self.clock = clock or (lambda: datetime.now(UTC))
        self._key: Any = None
        self._lock = threading.Lock()

    def _delegation_key(self) -> Any:
        """One key per hour for every SAS: getting one is a call to Storage, signing with it is local."""
        now = self.clock()
        with self._lock:
            if self._key is None or _parse(self._key.signed_expiry) - KEY_RENEW_BEFORE <= now:
                self._key = self.service.get_user_delegation_key(now - CLOCK_SKEW, now + KEY_LIFETIME)
            return self._key

    def _grant(self, path: str, permission: BlobSasPermissions, ttl: timedelta) -> Grant:
        container, name = split_path(path)
        now = self.clock()
        expires = now + ttl
        sas = generate_blob_sas(self.service.account_name, container, name,
                                user_delegation_key=self._delegation_key(), permission=permission,
                                start=now - CLOCK_SKEW, expiry=expires, protocol="https")
        url = self.service.get_blob_client(container, name).url
        return Grant(f"{url}?{sas}", expires, str(permission))

    def read(self, path: str, ttl: timedelta = READ_TTL) -> Grant:
        return self._grant(path, BlobSasPermissions(read=True), ttl)

    def write(self, path: str, ttl: timedelta = WRITE_TTL) -> Grant:
        """Create or overwrite this one blob (a re-upload of the same name supersedes the old record)."""
        return self._grant(path, BlobSasPermissions(create=True, write=True), ttl)

    @property
    def origin(self) -> str:
        """Scheme and host of the blob endpoint, for the page's Content-Security-Policy."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.service.url)
        return f"{parts.scheme}://{parts.netloc}"


def _parse(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.strptime(str(value).replace(".0000000", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
