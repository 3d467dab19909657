"""Object store on a local folder: the local runtime's Blob Storage.

Writes go to a temporary file in the same folder and are renamed into place,
so a crash never leaves half an object under its real name, and a path can
never escape the data dir whatever a caller passes.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from shared.ports import Copied, MissingObject, ObjectInfo, ObjectStore, UnreadableObject

_CHUNK = 1024 * 1024
# Names a writer may be using for a file still being written; never listed as objects.
_PARTIAL_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial", "~")


def is_partial(name: str) -> bool:
    """Files still being written (ours end in .tmp); a dotfile like ``..jpg`` is a real upload."""
    return name.endswith(_PARTIAL_SUFFIXES)


class FsObjectStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, path: str) -> Path:
        """Lexical, not resolved: a symlinked folder (uploads/ on a mounted share) is fine, ``..`` is not."""
        rel = PurePosixPath(path)
        if not rel.parts or rel.is_absolute() or ".." in rel.parts:
            raise ValueError(f"path escapes the data dir: {path!r}")
        return self.root / rel

    def get(self, path: str) -> bytes:
        try:
            return self._path(path).read_bytes()
        except FileNotFoundError as exc:
            raise MissingObject(path) from exc

    def head(self, path: str, size: int) -> bytes:
        try:
            with self._path(path).open("rb") as fh:
                return fh.read(size)
        except FileNotFoundError as exc:
            raise MissingObject(path) from exc
        except OSError as exc:
            raise UnreadableObject(f"{path}: {exc.strerror or exc}") from exc

    def put(self, path: str, data: bytes) -> None:
        with self._atomic(path) as fh:
            fh.write(data)

    def copy(self, src: str, dst: str) -> Copied:
        digest, size = hashlib.sha256(), 0
        try:
            source = self._path(src).open("rb")
        except FileNotFoundError as exc:
            raise MissingObject(src) from exc
        except OSError as exc:
            raise UnreadableObject(f"{src}: {exc.strerror or exc}") from exc
        with source, self._atomic(dst) as out:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        return Copied(size, digest.hexdigest())

    def _atomic(self, path: str) -> _AtomicWriter:
        return _AtomicWriter(self._path(path))

    def exists(self, path: str) -> bool:
        return self._path(path).is_file()

    def info(self, path: str) -> ObjectInfo:
        full = self._path(path)
        try:
            st = full.stat()
        except FileNotFoundError as exc:
            raise MissingObject(path) from exc
        return _info(path, st)

    def delete(self, path: str) -> None:
        self._path(path).unlink(missing_ok=True)

    def move(self, src: str, dst: str) -> None:
        target = self._path(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(src), target)

    def sweep_partials(self, prefixes: tuple[str, ...]) -> int:
        """Remove our own temp files left by a killed process; only safe while holding the run lock."""
        removed = 0
        for prefix in prefixes:
            for tmp in self._path(prefix).rglob(".*.tmp") if self._path(prefix).is_dir() else ():
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        base = self._path(prefix)
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                full = Path(dirpath) / name
                try:
                    st = full.lstat()
                except FileNotFoundError:
                    continue  # deleted since the directory was read
                # Regular files only: no symlink out of the data dir, no FIFO that blocks the reader forever.
                if is_partial(name) or not stat.S_ISREG(st.st_mode):
                    continue
                yield _info(full.relative_to(self.root).as_posix(), st)


def _info(path: str, st: os.stat_result) -> ObjectInfo:
    modified = datetime.fromtimestamp(st.st_mtime, UTC)
    return ObjectInfo(path, st.st_size, modified, f"{st.st_size}-{st.st_mtime_ns}")


class _AtomicWriter:
    """Write to a temp file beside the target, fsync, then rename into place (atomic on one file system).

    The fsyncs make "the record says done" imply "the bytes are on disk" even after a power cut: the
    database commits after this returns, and without them a rename can reach the disk before the data.
    """

    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self):
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(dir=self.target.parent, prefix=".", suffix=".tmp")
        self.fh = os.fdopen(fd, "wb")
        return self.fh

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.fh.close()
            os.unlink(self.tmp)
            return
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        os.replace(self.tmp, self.target)
        folder = os.open(self.target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
