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

    def walk_with_a_ghost(top, **kwargs):
        for dirpath, dirnames, filenames in real_walk(top, **kwargs):
            yield dirpath, dirnames, ["a-gone.jpg", *filenames]

    monkeypatch.setattr(fs_store.os, "walk", walk_with_a_ghost)
    assert [i.path for i in FsObjectStore(tmp_path).list("uploads")] == ["uploads/b.jpg"]


def test_names_writers_use_for_partial_files_are_not_listed_but_dotfiles_are(tmp_path):
    (tmp_path / "uploads").mkdir()
    for name in ("a.jpg.part", "b.jpg.crdownload", ".c.jpg.tmp", "d.jpg~", "..jpg", "e.jpg"):
        (tmp_path / "uploads" / name).write_bytes(b"x")
    assert [i.path for i in FsObjectStore(tmp_path).list("uploads")] == ["uploads/..jpg", "uploads/e.jpg"]


def test_sweeping_removes_our_temp_files_only_where_asked(tmp_path):
    store = FsObjectStore(tmp_path)
    store.put("bronze/x/a.jpg", b"kept")
    for rel in ("bronze/x/.a.jpg1234.tmp", "silver/.b.tmp", "uploads/.upload.tmp"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"half")
    assert store.sweep_partials(("bronze", "silver", "archive")) == 2
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["bronze/x/a.jpg", "uploads/.upload.tmp"]
