"""Object store on a local folder: the local runtime's Blob Storage.

Writes go to a temporary file in the same folder and are renamed into place,
so a crash never leaves half an object under its real name, and a path can
never escape the data dir whatever a caller passes.

Reads never follow a link below a zone folder: every folder on the way and
the file itself are opened with ``O_NOFOLLOW`` relative to their parent's
descriptor, the opened descriptor must be a regular file (``fstat``), and
hashing and copying read that one descriptor. A file swapped for a symlink
to ``/etc/shadow`` between listing and copying is refused, not copied. The
zone folder itself (``uploads/`` on a mounted share) may be a symlink: the
operator put it there.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from shared import errors
from shared.adapters.fs_writes import AtomicWriter, raise_unwritable
from shared.ports import (
    Copied,
    MissingObject,
    NotAnInput,
    ObjectInfo,
    ObjectStore,
    Skipped,
    UnreadableObject,
    VersionChanged,
)

_CHUNK = 1024 * 1024
# Names a writer may be using for a file still being written; never listed as objects.
_PARTIAL_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial", "~")
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Reasons a listing gives for what it leaves out (README: "What is skipped and why").
SYMLINK, SPECIAL_FILE, PARTIAL_NAME, HIDDEN, UNREADABLE_FOLDER = (
    "symlink", "special_file", "partial_name", "hidden", "unreadable_folder")


def is_partial(name: str) -> bool:
    """Files still being written (ours end in .tmp); a dotfile like ``..jpg`` is a real upload."""
    return name.endswith(_PARTIAL_SUFFIXES)


def pin_of(st: os.stat_result) -> str:
    """What a pinned read compares: a rewrite, a rename-over, ``touch -r`` or a chmod all change one of these."""
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


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

    @contextmanager
    def _open(self, path: str, expect: ObjectInfo | None = None) -> Iterator[tuple[BinaryIO, os.stat_result]]:
        """The regular file at ``path``, reached without following any link below its zone folder."""
        parts = self._rel(path).parts
        if len(parts) < 2:
            raise ValueError(f"expected zone/name, got {path!r}")
        try:
            fd = _open_below(self.root / parts[0], parts[1:])
        except FileNotFoundError as exc:
            raise MissingObject(path) from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise NotAnInput(path, SYMLINK) from None
            if exc.errno == errno.ENOTDIR:
                raise MissingObject(path) from exc  # a folder on the way is no folder any more
            raise UnreadableObject(errors.UNREADABLE, f"{path}: {exc.strerror or exc}") from exc
        fh = os.fdopen(fd, "rb")
        with fh:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise NotAnInput(path, SPECIAL_FILE)
            if expect is not None and (expect.pin or expect.version) != (
                    pin_of(st) if expect.pin else _version(st)):
                raise VersionChanged(path)
            yield fh, st

    def get(self, path: str) -> bytes:
        with self._open(path) as (fh, _):
            return fh.read()

    def head(self, path: str, size: int, expect: ObjectInfo | None = None) -> bytes:
        with self._open(path, expect) as (fh, _):
            return _read(fh, path, size)

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
                    while chunk := _read(source, src, _CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                    _same_while_read(source, src, before, size)
            except FileExistsError:
                return self.checksum(dst)
            except OSError as exc:
                raise errors.InputFailure(errors.WRITE_FAILED, f"{dst}: {exc.strerror or exc}") from exc
        return Copied(size, digest.hexdigest())

    def checksum(self, path: str, expect: ObjectInfo | None = None) -> Copied:
        digest, size = hashlib.sha256(), 0
        with self._open(path, expect) as (fh, before):
            while chunk := _read(fh, path, _CHUNK):
                digest.update(chunk)
                size += len(chunk)
            _same_while_read(fh, path, before, size)
        return Copied(size, digest.hexdigest())

    def exists(self, path: str) -> bool:
        return self._path(path).is_file()

    def info(self, path: str) -> ObjectInfo:
        with self._open(path) as (_, st):
            return _info(path, st)

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
                if reason := _not_an_input(name, st):
                    skip(full, reason)
                else:
                    yield _info(full.relative_to(self.root).as_posix(), st)

    def listed(self, path: str) -> ObjectInfo:
        """One path as ``list`` would give it (``lstat``, nothing opened); ``NotAnInput`` if ``list`` would skip it."""
        full = self._path(path)
        st = full.lstat()  # FileNotFoundError: gone
        if reason := _not_an_input(full.name, st):
            raise NotAnInput(path, reason)
        return _info(path, st)


def _not_an_input(name: str, st: os.stat_result) -> str | None:
    """Regular files only: no symlink out of the data dir, no FIFO that blocks the reader forever."""
    if stat.S_ISLNK(st.st_mode):
        return SYMLINK
    if not stat.S_ISREG(st.st_mode):
        return SPECIAL_FILE
    return PARTIAL_NAME if is_partial(name) else None


def _open_below(zone: Path, parts: tuple[str, ...]) -> int:
    """Open ``zone/parts...``: the zone folder as it is, every component below it with ``O_NOFOLLOW``."""
    folder = os.open(zone, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(part, _DIR_FLAGS, dir_fd=folder)
            except NotADirectoryError:  # what O_DIRECTORY | O_NOFOLLOW says of a link: tell it from a file
                if stat.S_ISLNK(os.stat(part, dir_fd=folder, follow_symlinks=False).st_mode):
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP)) from None
                raise
            os.close(folder)
            folder = inner
        return os.open(parts[-1], _READ_FLAGS, dir_fd=folder)
    finally:
        os.close(folder)


def _read(fh: BinaryIO, path: str, size: int) -> bytes:
    try:
        return fh.read(size)
    except OSError as exc:  # an I/O error on a bad disk or a vanished network share
        raise UnreadableObject(errors.UNREADABLE, f"{path}: {exc.strerror or exc}") from exc


def _same_while_read(fh: BinaryIO, path: str, before: os.stat_result, read: int) -> None:
    """A writer that appended or rewrote the file while we read it: what we read is no version at all."""
    after = os.fstat(fh.fileno())
    if read != before.st_size or pin_of(after) != pin_of(before):
        raise VersionChanged(path)


def _version(st: os.stat_result) -> str:
    return f"{st.st_size}-{st.st_mtime_ns}"


def _info(path: str, st: os.stat_result) -> ObjectInfo:
    return ObjectInfo(path, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC), _version(st), pin=pin_of(st),
                      changed=datetime.fromtimestamp(st.st_ctime_ns / 1e9, UTC))
