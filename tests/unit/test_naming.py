"""Names from the outside world are data: any of them yields a stable id and a safe path segment."""

from __future__ import annotations

import os

import pytest

from shared import naming

FOLDERS = ["seller42", "John Doe", "John-Doe-6cea57c2", "bob smith", "bob-smith-7e50351d", "anonymous", "~anonymous",
           "~", "%7E", "_x", ".hidden", "a..b", "sé ller", "se-ller-6f59461d", "商品", "x" * 64, "x" * 65,
           "y" * 300, "z" * 299, "Ω" * 200, os.fsdecode("s\xe9ller".encode("latin-1")), "e\u0301", "\u00e9", "a\\b",
           "line\nbreak", "%20", " "]


def test_a_file_name_that_is_not_utf8_still_gets_an_id_and_a_display_name():
    # On Linux a name in Latin-1 reaches Python with surrogate escapes (os.fsdecode).
    folder = os.fsdecode("s\xe9ller".encode("latin-1"))
    path = f"uploads/{folder}/" + os.fsdecode("caf\xe9.jpg".encode("latin-1"))
    upload_id = naming.upload_id_for(path, "10-1")
    assert upload_id == naming.upload_id_for(path, "10-1") and len(upload_id) == 32
    user_id, raw_name = naming.split_upload_path(path)
    assert user_id == "~s%ED%B3%A9ller" and naming.folder_of(user_id) == folder
    assert naming.clean_display_name(raw_name) == "caf.jpg"


def test_upload_ids_keep_the_values_they_always_had():
    # Pinned: an id must never change for an existing upload, or a re-run would ingest it again.
    assert naming.upload_id_for("uploads/u/ünï 商品.jpg", "1-2") == "ee7de612a9681ca22f0153bd5e03ea83"


def test_user_ids_are_injective_over_folder_names_and_the_root():
    """Issue 10 item 10: 'John Doe' and a folder literally named like its old id were one user."""
    ids = [naming.split_upload_path(f"uploads/{f}/p.jpg")[0] for f in FOLDERS]
    root = naming.split_upload_path("uploads/p.jpg")[0]
    assert len(set(ids)) == len(FOLDERS) and root not in ids and root == naming.ANONYMOUS
    assert naming.safe_user_id("John Doe") != naming.safe_user_id("John-Doe-6cea57c2") == "John-Doe-6cea57c2"


@pytest.mark.parametrize("folder", FOLDERS)
def test_user_ids_are_safe_path_segments_and_name_their_folder(folder):
    user_id = naming.safe_user_id(folder)
    assert user_id not in ("", ".", "..") and "/" not in user_id and "\\" not in user_id
    assert all(32 < ord(c) < 127 for c in user_id) and len(user_id) <= 128
    if user_id.startswith(naming.HASHED):
        with pytest.raises(ValueError):
            naming.folder_of(user_id)
    else:
        assert naming.folder_of(user_id) == folder


def test_plain_names_stay_as_they_are_and_anonymous_is_reserved_for_the_root():
    assert naming.safe_user_id("seller42") == "seller42" and naming.safe_user_id("John.Doe_1") == "John.Doe_1"
    assert naming.safe_user_id("anonymous") == "~anonymous" and naming.folder_of("anonymous") is None
    assert naming.safe_user_id("John Doe") == "~John%20Doe"


def test_ids_imgpipe_never_makes_are_refused():
    for made_up in ("~John Doe", "~%7e", "~%41"):  # not canonical: a name would never encode to them
        with pytest.raises(ValueError):
            naming.folder_of(made_up)
