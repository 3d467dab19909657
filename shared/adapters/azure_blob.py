"""Object store on Azure Blob Storage: container = first path segment, blob name = the rest.

``copy`` streams the source through this process instead of a server-side
copy because the bronze rule needs the sha256 of exactly the bytes written,
and a server-side copy would mean reading everything a second time to hash
it. Block-blob uploads commit all blocks at once, so a reader never sees
half an object (the port's atomic ``put``).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from shared.ports import Copied, MissingObject, ObjectInfo, ObjectStore

# ADLS Gen2 (hierarchical namespace) lists folders as empty blobs with this metadata.
_FOLDER_MARKER = "hdi_isfolder"


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

    def get(self, path: str) -> bytes:
        try:
            return self._blob(path).download_blob().readall()
        except ResourceNotFoundError as exc:
            raise MissingObject(path) from exc

    def head(self, path: str, size: int) -> bytes:
        try:
            return self._blob(path).download_blob(offset=0, length=size).readall()
        except ResourceNotFoundError as exc:
            raise MissingObject(path) from exc
        except HttpResponseError as exc:
            if exc.error_code == "InvalidRange":
                return b""  # a range read of an empty blob is a 416, not an empty answer
            raise

    def put(self, path: str, data: bytes) -> None:
        self._blob(path).upload_blob(data, overwrite=True)

    def copy(self, src: str, dst: str) -> Copied:
        try:
            source = self._blob(src).download_blob()
        except ResourceNotFoundError as exc:
            raise MissingObject(src) from exc
        digest = hashlib.sha256()
        size = 0

        def hashed(chunks: Iterable[bytes]) -> Iterator[bytes]:
            nonlocal size
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                yield chunk

        # The downloader pins the source's etag across chunks, so a concurrent overwrite fails the copy.
        self._blob(dst).upload_blob(hashed(source.chunks()), overwrite=True, length=source.size)
        return Copied(size, digest.hexdigest())

    def exists(self, path: str) -> bool:
        return bool(self._blob(path).exists())

    def info(self, path: str) -> ObjectInfo:
        try:
            props = self._blob(path).get_blob_properties()
        except ResourceNotFoundError as exc:
            raise MissingObject(path) from exc
        return _info(split_path(path)[0], props)

    def delete(self, path: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):  # already gone: the goal of a delete
            self._blob(path).delete_blob()

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        container, _, name_prefix = prefix.partition("/")
        client = self.service.get_container_client(container)
        for props in client.list_blobs(name_starts_with=name_prefix or None, include=["metadata"]):
            if (props.metadata or {}).get(_FOLDER_MARKER) == "true":
                continue
            yield _info(container, props)

    def ensure_containers(self, names: Iterable[str]) -> None:
        """Create missing containers: for emulators and tests; in Azure ``infra/`` declares them."""
        for name in names:
            with contextlib.suppress(ResourceExistsError):
                self.service.create_container(name)


def _info(container: str, props: Any) -> ObjectInfo:
    """The etag is the version; listing returns it bare and a properties call quoted, so quotes are dropped.

    Both paths must agree: the upload id is derived from it, by the blob
    trigger (properties) and by ``imgpipe run --backend azure`` (listing).
    """
    modified = props.last_modified or props.creation_time
    return ObjectInfo(f"{container}/{props.name}", int(props.size), modified, str(props.etag).strip('"'))
