"""The folder object store lists only what it can read as an object, whatever else lands in uploads/."""

from __future__ import annotations

import os

from shared.adapters import fs_store
from shared.adapters.fs_store import FsObjectStore


def test_only_regular_files_are_listed(tmp_path):
    (tmp_path / "uploads" / "u").mkdir(parents=True)
    (tmp_path / "uploads" / "u" / "a.jpg").write_bytes(b"x")
    os.mkfifo(tmp_path / "uploads" / "u" / "pipe.jpg")  # opening it for reading would block a run forever
    (tmp_path / "uploads" / "u" / "link.jpg").symlink_to(tmp_path / "uploads" / "u" / "a.jpg")
    assert [i.path for i in FsObjectStore(tmp_path).list("uploads")] == ["uploads/u/a.jpg"]


def test_a_file_deleted_while_listing_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "b.jpg").write_bytes(b"x")
    real_walk = os.walk

    def walk_with_a_ghost(top):
        for dirpath, dirnames, filenames in real_walk(top):
            yield dirpath, dirnames, ["a-gone.jpg", *filenames]

    monkeypatch.setattr(fs_store.os, "walk", walk_with_a_ghost)
    assert [i.path for i in FsObjectStore(tmp_path).list("uploads")] == ["uploads/b.jpg"]
