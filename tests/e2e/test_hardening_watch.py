"""Issue 10 item 11: ``imgpipe watch`` on inotify, idle at no cost whatever the number of records."""

from __future__ import annotations

import json
import threading
import time

import pytest

from shared.adapters.sqlite_metadata import SqliteMetadataStore
from shared.local import bootstrap as local_bootstrap
from shared.local.watch import watch
from shared.settings import Settings
from tests.hardening import invoke, put_photo, run


def test_11_an_idle_watch_neither_lists_uploads_nor_queries_a_record(tmp_path, monkeypatch):
    for i in range(200):
        put_photo(tmp_path, f"u{i % 7}/p{i}.jpg", seed=i, size=(32, 24))
    run(tmp_path)
    listings, reads, polls = [], [], []
    real_uploads, real_get = local_bootstrap.LocalRuntime.uploads, SqliteMetadataStore.get
    monkeypatch.setattr(local_bootstrap.LocalRuntime, "uploads",
                        lambda self, skipped=None: listings.append(len(polls))
                        or (real_uploads(self) if skipped is None else real_uploads(self, skipped)))
    monkeypatch.setattr(SqliteMetadataStore, "get", lambda self, upload_id: reads.append(len(polls))
                        or real_get(self, upload_id))

    def stop() -> bool:  # called once per turn of the loop: 60 turns, the first ones take the files in
        polls.append(1)
        return len(polls) > 60

    watch(Settings(data_dir=tmp_path), interval=0.01, settle=0, classifier="none", stop=stop)
    assert listings and max(listings) <= 2, listings  # one listing at start, none while idle
    assert reads and max(reads) <= 2 and len(reads) <= 200, (len(reads), max(reads))  # each file once, at start


def _records_named(data_dir, names: set[str], timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = json.loads(invoke("--data-dir", str(data_dir), "records", "--json"))
        if {r["raw_name"] for r in found if r["status"] == "gold"} >= names:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not all of {names} were taken in: {found}")


@pytest.mark.parametrize("poll", [False, True], ids=["inotify", "polling"])
def test_watch_takes_files_in_new_folders_and_renamed_partials_and_not_the_partials(tmp_path, poll):
    (tmp_path / "uploads").mkdir(parents=True)
    stop = threading.Event()
    thread = threading.Thread(target=watch, kwargs=dict(settings=Settings(data_dir=tmp_path), interval=0.1,
                                                        settle=0.3, classifier="none", stop=stop.is_set, poll=poll))
    thread.start()
    try:
        time.sleep(0.3)  # the watch is up (nothing depends on it: the listing at start would take them too)
        put_photo(tmp_path, "new-seller/direct.jpg", seed=1)  # a folder made after the watch started
        partial = put_photo(tmp_path, "new-seller/upload.jpg.part", seed=2)
        partial.rename(partial.with_name("upload.jpg"))  # what sftp and browsers do when done
        found = _records_named(tmp_path, {"direct.jpg", "upload.jpg"})
    finally:
        stop.set()
        thread.join(timeout=30)
    assert sorted(r["raw_name"] for r in found) == ["direct.jpg", "upload.jpg"]
    assert {r["status"] for r in found} == {"gold"}


def test_9_the_default_settle_of_run_and_watch_is_not_zero():
    from imgpipe.cli import cli

    def default(command: str) -> float:
        return next(p.default for p in cli.commands[command].params if p.name == "settle")

    assert default("run") == 10.0 and default("watch") == 2.0
