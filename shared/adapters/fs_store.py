"""Object store on a local folder: the local runtime's Blob Storage.

Writes go to a temporary file in the same folder and are renamed into place,
so a crash never leaves half an object under its real name, and a path can
never escape the data dir whatever a caller passes.

Reads never follow a link below a zone folder, and the sniff, the copy and
the hash each read one descriptor pinned to the listed file
(``shared.adapters.fs_reads``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from shared import errors
from shared.adapters.fs_reads import (
    CHUNK,
    HIDDEN,
    SYMLINK,
    UNREADABLE_FOLDER,
    info_of,
    is_partial,
    not_an_input,
    open_regular,
    read_chunk,
    same_while_read,
)
from shared.adapters.fs_writes import AtomicWriter, raise_unwritable
from shared.ports import (
    Copied,
    NotAnInput,
    ObjectInfo,
    ObjectStore,
    Skipped,
)

__all__ = ["FsObjectStore", "is_partial"]  # is_partial: the web app states the same rule to sellers


class FsObjectStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _rel(self, path: str) -> PurePosixPath:
        """Lexical, not resolved: a symlinked zone folder (uploads/ on a mounted share) is fine, ``..`` is not."""
        rel = PurePosixPath(path)
        if not rel.parts or rel.is_absolute() or ".." in rel.parts:
            raise ValueError(f"path escapes the data dir: {path!r}")
        return rel

    def _path(self, path: str) -> Path:
        return self.root / self._rel(path)

    def _open(self, path: str, expect: ObjectInfo | None = None) -> AbstractContextManager[tuple[BinaryIO, Any]]:
        parts = self._rel(path).parts
        if len(parts) < 2:
            raise ValueError(f"expected zone/name, got {path!r}")
        return open_regular(self.root, path, parts, expect)

    def get(self, path: str) -> bytes:
        with self._open(path) as (fh, _):
            return fh.read()

    def head(self, path: str, size: int, expect: ObjectInfo | None = None) -> bytes:
        with self._open(path, expect) as (fh, _):
            return read_chunk(fh, path, size)

    def put(self, path: str, data: bytes) -> None:
        with AtomicWriter(self._path(path)) as fh:
            fh.write(data)

    def copy(self, src: str, dst: str, expect: ObjectInfo | None = None) -> Copied:
        target = self._path(dst)
        if target.is_file():
            return self.checksum(dst)  # made by a run that died before its record, or by a concurrent one
        digest, size = hashlib.sha256(), 0
        with self._open(src, expect) as (source, before):
            try:
                with AtomicWriter(target, exclusive=True) as out:
                    while chunk := read_chunk(source, src, CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                    same_while_read(source, src, before, size)
            except FileExistsError:
                return self.checksum(dst)
            except OSError as exc:
                raise errors.InputFailure(errors.WRITE_FAILED, f"{dst}: {exc.strerror or exc}") from exc
        return Copied(size, digest.hexdigest())

    def checksum(self, path: str, expect: ObjectInfo | None = None) -> Copied:
        digest, size = hashlib.sha256(), 0
        with self._open(path, expect) as (fh, before):
            while chunk := read_chunk(fh, path, CHUNK):
                digest.update(chunk)
                size += len(chunk)
            same_while_read(fh, path, before, size)
        return Copied(size, digest.hexdigest())

    def exists(self, path: str) -> bool:
        return self._path(path).is_file()

    def info(self, path: str) -> ObjectInfo:
        with self._open(path) as (_, st):
            return info_of(path, st)

    def delete(self, path: str) -> None:
        try:
            self._path(path).unlink(missing_ok=True)
        except OSError as exc:
            raise_unwritable(self._path(path).parent, exc)

    def move(self, src: str, dst: str) -> None:
        target = self._path(dst)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._path(src), target)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise_unwritable(target.parent, exc)

    def sweep_partials(self, prefixes: tuple[str, ...]) -> int:
        """Remove our own temp files left by a killed process; only safe while holding the run lock."""
        removed = 0
        for prefix in prefixes:
            for tmp in self._path(prefix).rglob(".*.tmp") if self._path(prefix).is_dir() else ():
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed

    def list(self, prefix: str, skipped: Skipped | None = None) -> Iterator[ObjectInfo]:
        base = self._path(prefix)
        if not base.is_dir():
            return

        def skip(full: Path | str, reason: str) -> None:
            if skipped is not None:
                skipped(Path(full).relative_to(self.root).as_posix(), reason)

        for dirpath, dirnames, filenames in os.walk(base, onerror=lambda e: skip(e.filename, UNREADABLE_FOLDER)):
            kept = []
            for name in sorted(dirnames):
                full = Path(dirpath) / name
                if full.is_symlink():  # os.walk lists links to folders here and never enters them
                    skip(full, SYMLINK)
                elif name.startswith("."):
                    skip(full, HIDDEN)  # .git, .Trash, .thumbnails: not uploads
                else:
                    kept.append(name)
            dirnames[:] = kept
            for name in sorted(filenames):
                full = Path(dirpath) / name
                try:
                    st = full.lstat()
                except FileNotFoundError:
                    continue  # deleted since the directory was read
                if reason := not_an_input(name, st):
                    skip(full, reason)
                else:
                    yield info_of(full.relative_to(self.root).as_posix(), st)

    def listed(self, path: str) -> ObjectInfo:
        """One path as ``list`` would give it (``lstat``, nothing opened); ``NotAnInput`` if ``list`` would skip it."""
        full = self._path(path)
        st = full.lstat()  # FileNotFoundError: gone
        if reason := not_an_input(full.name, st):
            raise NotAnInput(path, reason)
        return info_of(path, st)


