"""Names from the outside world are data: any of them yields a stable id and a safe path segment."""

from __future__ import annotations

import os

from shared import naming


def test_a_file_name_that_is_not_utf8_still_gets_an_id_and_a_display_name():
    # On Linux a name in Latin-1 reaches Python with surrogate escapes (os.fsdecode).
    path = "uploads/" + os.fsdecode("s\xe9ller".encode("latin-1")) + "/" + os.fsdecode("caf\xe9.jpg".encode("latin-1"))
    upload_id = naming.upload_id_for(path, "10-1")
    assert upload_id == naming.upload_id_for(path, "10-1") and len(upload_id) == 32
    user_id, raw_name = naming.split_upload_path(path)
    assert naming.safe_user_id(user_id) == user_id and user_id.startswith("s-ller-")
    assert naming.clean_display_name(raw_name) == "caf.jpg"


def test_valid_names_keep_the_ids_they_always_had():
    # Pinned: an id must never change for an existing upload, or a re-run would ingest it again.
    assert naming.upload_id_for("uploads/u/ünï 商品.jpg", "1-2") == "ee7de612a9681ca22f0153bd5e03ea83"
    assert naming.safe_user_id("sé ller") == "se-ller-6f59461d" and naming.safe_user_id("seller42") == "seller42"
