"""Writes into the data dir: atomic (temp file, fsync, rename) and loud about folders that cannot be written.

A folder imgpipe cannot write (read-only mount, ``chattr +i``, wrong owner) is
not a problem of one upload: every job would fail the same way and be
dead-lettered one by one. It is raised as ``StoreUnavailable`` naming the
folder, which stops the run with exit 2. A full disk is different: a smaller
file may still fit, so it stays an ``OSError`` for the caller to attribute.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import NoReturn

from shared.ports import StoreUnavailable

_NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def raise_unwritable(folder: Path, exc: OSError) -> NoReturn:
    """Re-raise ``exc``, as ``StoreUnavailable`` naming ``folder`` when it says the folder cannot be written."""
    if exc.errno in _NOT_WRITABLE:
        raise StoreUnavailable(f"folder {folder} is not writable: {exc.strerror or exc}") from exc
    raise exc


def probe(folder: Path) -> None:
    """Create and remove a file in ``folder``: what every write into it needs."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix=".probe", suffix=".tmp")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        if exc.errno in _NOT_WRITABLE or not folder.is_dir():
            raise StoreUnavailable(f"folder {folder} is not writable: {exc.strerror or exc}") from exc
        raise


class AtomicWriter:
    """Write to a temp file beside the target, fsync, then rename into place (atomic on one file system).

    The fsyncs make "the record says done" imply "the bytes are on disk" even after a power cut: the
    database commits after this returns, and without them a rename can reach the disk before the data.
    ``exclusive`` creates the target only if it is absent (``FileExistsError`` otherwise): a hard link
    of the finished temp file, which fails rather than replaces.
    """

    def __init__(self, target: Path, exclusive: bool = False) -> None:
        self.target = target
        self.exclusive = exclusive

    def __enter__(self):
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(dir=self.target.parent, prefix=".", suffix=".tmp")
        except OSError as exc:
            raise_unwritable(self.target.parent, exc)
        self.fh = os.fdopen(fd, "wb")
        return self.fh

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.fh.close()
            os.unlink(self.tmp)
            return
        try:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
            if self.exclusive:
                os.link(self.tmp, self.target)
                os.unlink(self.tmp)
            else:
                os.replace(self.tmp, self.target)
        except BaseException:
            self.fh.close()
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)
            raise
        folder = os.open(self.target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
