"""Object store on Azure Blob Storage: container = first path segment, blob name = the rest.

``copy`` streams the source through this process instead of a server-side
copy because the bronze rule needs the sha256 of exactly the bytes written,
and a server-side copy would mean reading everything a second time to hash
it. The read is pinned to the listed etag (``If-Match``; the downloader keeps
every later range on it), so a blob overwritten between listing and copying
is ``VersionChanged``, never another version's bytes under this one's id.
Blocks are staged and committed only if the target is absent (``If-None-Match:
*``) with the checksum in its metadata: two runs copying the same upload
write bronze once, and the second learns the checksum without reading it.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobBlock

from shared import errors
from shared.adapters.azure_errors import reachable
from shared.ports import (
    Copied,
    MissingObject,
    ObjectInfo,
    ObjectStore,
    Skipped,
    StoreUnavailable,
    UnreadableObject,
    VersionChanged,
)

# ADLS Gen2 (hierarchical namespace) lists folders as empty blobs with this metadata.
_FOLDER_MARKER = "hdi_isfolder"
SHA256_METADATA = "imgpipe_sha256"


def split_path(path: str) -> tuple[str, str]:
    container, _, name = path.partition("/")
    if not container or not name:
        raise ValueError(f"expected container/name, got {path!r}")
    return container, name


class AzureBlobStore(ObjectStore):
    def __init__(self, service: Any) -> None:
        """``service`` is a ``BlobServiceClient`` (see ``shared.azure.connections``)."""
        self.service = service

    def _blob(self, path: str) -> Any:
        container, name = split_path(path)
        return self.service.get_blob_client(container, name)

    @contextlib.contextmanager
    def _reading(self, path: str) -> Iterator[None]:
        """Errors of reading one object: about that object (a record says so), or about the whole service."""
        try:
            with self.reachable():
                yield
        except ResourceNotFoundError as exc:
            raise MissingObject(path) from exc
        except ResourceModifiedError as exc:
            raise VersionChanged(path) from exc
        except HttpResponseError as exc:
            if _code(exc) == "BlobArchived":
                raise UnreadableObject(errors.ARCHIVED, f"{path!r} is in the Archive tier") from None
            if exc.status_code == 403:
                raise UnreadableObject(errors.FORBIDDEN, f"{path!r}: HTTP 403 {_code(exc)}") from None
            raise UnreadableObject(errors.UNREADABLE, f"{path!r}: HTTP {exc.status_code} {_code(exc)}") from None

    def reachable(self) -> contextlib.AbstractContextManager[None]:
        """Connection failures are the service's, not an object's: one line naming it (no URL: it may hold a SAS)."""
        return reachable(f"Blob Storage ({self.service.primary_hostname})")

    @contextlib.contextmanager
    def _writing(self, path: str) -> Iterator[None]:
        try:
            with self.reachable():
                yield
        except HttpResponseError as exc:
            if exc.status_code == 403:
                raise StoreUnavailable(f"Blob Storage refuses to write {split_path(path)[0]}/ (HTTP 403 "
                                       f"{_code(exc)}): check the identity's Storage Blob Data role") from None
            raise

    def get(self, path: str) -> bytes:
        with self._reading(path):
            return self._blob(path).download_blob().readall()

    def head(self, path: str, size: int, expect: ObjectInfo | None = None) -> bytes:
        with self._reading(path):
            try:
                return self._blob(path).download_blob(offset=0, length=size, **_pinned(expect)).readall()
            except HttpResponseError as exc:
                if _code(exc) == "InvalidRange":
                    return b""  # a range read of an empty blob is a 416, not an empty answer
                raise

    def put(self, path: str, data: bytes) -> None:
        with self._writing(path):
            self._blob(path).upload_blob(data, overwrite=True)

    def copy(self, src: str, dst: str, expect: ObjectInfo | None = None) -> Copied:
        target = self._blob(dst)
        if (existing := self._copied(dst)) is not None:
            return existing
        digest, size, blocks = hashlib.sha256(), 0, []
        prefix = uuid.uuid4().hex  # blocks of concurrent writers never mix
        with self._reading(src):
            source = self._blob(src).download_blob(**_pinned(expect))
            chunks = iter(source.chunks())
            while True:
                with self._reading(src):
                    chunk = next(chunks, None)
                if chunk is None:
                    break
                digest.update(chunk)
                size += len(chunk)
                blocks.append(BlobBlock(f"{prefix}{len(blocks):08d}"))
                with self._writing(dst):
                    target.stage_block(blocks[-1].id, chunk)
        try:
            with self._writing(dst):
                target.commit_block_list(blocks, metadata={SHA256_METADATA: digest.hexdigest()},
                                         match_condition=MatchConditions.IfMissing)  # If-None-Match: *
        except ResourceExistsError:
            return self._copied(dst) or self.checksum(dst)  # another run committed the same version first
        return Copied(size, digest.hexdigest())

    def _copied(self, path: str) -> Copied | None:
        """An existing bronze object's size and checksum (from its metadata; read and hashed if it has none)."""
        try:
            with self.reachable():
                props = self._blob(path).get_blob_properties()
        except ResourceNotFoundError:
            return None
        sha256 = (props.metadata or {}).get(SHA256_METADATA)
        return Copied(int(props.size), sha256) if sha256 else self.checksum(path)

    def checksum(self, path: str, expect: ObjectInfo | None = None) -> Copied:
        digest, size = hashlib.sha256(), 0
        with self._reading(path):
            for chunk in self._blob(path).download_blob(**_pinned(expect)).chunks():
                digest.update(chunk)
                size += len(chunk)
        return Copied(size, digest.hexdigest())

    def exists(self, path: str) -> bool:
        with self.reachable():
            return bool(self._blob(path).exists())

    def info(self, path: str) -> ObjectInfo:
        try:
            with self._reading(path):
                return _info(split_path(path)[0], self._blob(path).get_blob_properties())
        except UnreadableObject:
            # A name the service lists but will not serve (a client stored it with backslashes): the
            # listing still gives its etag, so the upload gets its id and a record saying why.
            container, name = split_path(path)
            for info in self.list(f"{container}/{name}"):
                if info.path == path:
                    return info
            raise

    def delete(self, path: str) -> None:
        with contextlib.suppress(ResourceNotFoundError), self._writing(path):  # already gone: the goal of a delete
            self._blob(path).delete_blob()

    def list(self, prefix: str, skipped: Skipped | None = None) -> Iterator[ObjectInfo]:
        container, _, name_prefix = prefix.partition("/")
        client = self.service.get_container_client(container)
        try:
            with self.reachable():
                for props in client.list_blobs(name_starts_with=name_prefix or None, include=["metadata"]):
                    if (props.metadata or {}).get(_FOLDER_MARKER) == "true":
                        continue  # a folder, not an upload
                    yield _info(container, props)
        except HttpResponseError as exc:
            raise StoreUnavailable(f"Blob Storage refuses to list {container}/ (HTTP {exc.status_code} "
                                   f"{_code(exc)})") from None

    def ensure_containers(self, names: Iterable[str]) -> None:
        """Create missing containers: for emulators and tests; in Azure ``infra/`` declares them."""
        for name in names:
            with contextlib.suppress(ResourceExistsError), self._writing(f"{name}/x"):
                self.service.create_container(name)


def _code(exc: HttpResponseError) -> str:
    """The service's error code as text (the SDK gives a ``StorageErrorCode`` enum or a plain string)."""
    return str(getattr(exc.error_code, "value", exc.error_code))


def _pinned(expect: ObjectInfo | None) -> dict[str, Any]:
    """Read exactly the listed version: ``If-Match`` on its etag (412 -> ``VersionChanged``)."""
    if expect is None:
        return {}
    return {"etag": f'"{expect.pin or expect.version}"', "match_condition": MatchConditions.IfNotModified}


def _info(container: str, props: Any) -> ObjectInfo:
    """The etag is the version; listing returns it bare and a properties call quoted, so quotes are dropped.

    Both paths must agree: the upload id is derived from it, by the blob
    trigger (properties) and by ``imgpipe run --backend azure`` (listing).
    """
    modified = props.last_modified or props.creation_time
    return ObjectInfo(f"{container}/{props.name}", int(props.size), modified, str(props.etag).strip('"'))
