"""Reads in the data dir that never follow a link, and what makes a file an input at all.

Every folder below a zone folder and the file itself are opened with
``O_NOFOLLOW`` relative to their parent's descriptor, the opened descriptor
must be a regular file (``fstat``), and whoever reads goes on reading that one
descriptor. A file swapped for a symlink to ``/etc/shadow``, or a folder on
the way swapped for a link elsewhere, between listing and reading is refused,
not read. The zone folder itself (``uploads/`` on a mounted share) may be a
symlink: the operator put it there. A pin (inode, size, mtime, ctime) taken
at listing tells whether the descriptor is still the listed file.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from shared import errors
from shared.ports import MissingObject, NotAnInput, ObjectInfo, UnreadableObject, VersionChanged

CHUNK = 1024 * 1024
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




@contextmanager
def open_regular(root: Path, path: str, parts: tuple[str, ...],
                 expect: ObjectInfo | None = None) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    """The regular file at ``root/parts...``, reached without following any link below its zone folder."""
    try:
        fd = _open_below(root / parts[0], parts[1:])
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
        if expect is not None and (expect.pin or expect.version) != (pin_of(st) if expect.pin else version_of(st)):
            raise VersionChanged(path)
        yield fh, st


def not_an_input(name: str, st: os.stat_result) -> str | None:
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


def read_chunk(fh: BinaryIO, path: str, size: int) -> bytes:
    try:
        return fh.read(size)
    except OSError as exc:  # an I/O error on a bad disk or a vanished network share
        raise UnreadableObject(errors.UNREADABLE, f"{path}: {exc.strerror or exc}") from exc


def same_while_read(fh: BinaryIO, path: str, before: os.stat_result, read: int) -> None:
    """A writer that appended or rewrote the file while we read it: what we read is no version at all."""
    after = os.fstat(fh.fileno())
    if read != before.st_size or pin_of(after) != pin_of(before):
        raise VersionChanged(path)


def version_of(st: os.stat_result) -> str:
    return f"{st.st_size}-{st.st_mtime_ns}"


def info_of(path: str, st: os.stat_result) -> ObjectInfo:
    return ObjectInfo(path, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC), version_of(st), pin=pin_of(st),
                      changed=datetime.fromtimestamp(st.st_ctime_ns / 1e9, UTC))
