"""Re-uploads: the newest version of an upload path is current; older ones are linked history."""

from __future__ import annotations

from dataclasses import replace

from shared.layout import Queue
from shared.ports import CurrentUpload
from shared.stages import cleanse, ingest
from shared.stages.reupload import link_reupload
from tests import corpus
from tests.unit.fakes import WHEN, services

A, B = (corpus.jpeg(corpus.photo(320, 240, seed=s)) for s in (1, 2))


def upload(svc, data: bytes, seconds: int):
    info = svc.store.put_upload("uploads/u/shoe.jpg", data, WHEN.replace(second=seconds))
    return ingest(svc, info)


def cleanse_all(svc):
    return [cleanse(svc, body) for body in svc.queue.drain(Queue.CLEANSE)]


def test_new_bytes_supersede_the_older_version_both_ways():
    svc = services()
    old = upload(svc, A, 1)
    cleanse_all(svc)
    new = upload(svc, B, 2)
    cleanse_all(svc)
    assert svc.meta.get(new.upload_id).supersedes == old.upload_id
    assert svc.meta.get(old.upload_id).superseded_by == new.upload_id
    assert svc.meta.get_current("uploads/u/shoe.jpg").upload_id == new.upload_id


def test_an_older_version_processed_late_does_not_become_current():
    svc = services()
    old = upload(svc, A, 1)
    new = upload(svc, B, 2)
    body_old, body_new = svc.queue.drain(Queue.CLEANSE)
    cleanse(svc, body_new)  # the newer one is cleansed first (another worker, a replay)
    late = cleanse(svc, body_old)
    assert late.upload_id == old.upload_id and late.superseded_by == new.upload_id
    assert svc.meta.get(new.upload_id).supersedes is None
    assert svc.meta.get_current("uploads/u/shoe.jpg").upload_id == new.upload_id


def test_a_stage_that_died_after_moving_the_pointer_links_the_same_pair_when_run_again():
    svc = services()
    old = upload(svc, A, 1)
    cleanse_all(svc)
    new = upload(svc, B, 2)
    pointer = svc.meta.get_current("uploads/u/shoe.jpg")
    svc.meta.set_current(CurrentUpload(pointer.upload_path, new.upload_id, old.upload_id, pointer.etag))  # then died
    record = svc.meta.get(new.upload_id)
    link_reupload(svc, record)
    assert record.supersedes == old.upload_id and svc.meta.get(old.upload_id).superseded_by == new.upload_id


def test_identical_bytes_are_a_duplicate_not_a_new_version():
    svc = services()
    first = upload(svc, A, 1)
    cleanse_all(svc)
    again = upload(svc, A, 2)
    (dup,) = cleanse_all(svc)
    assert dup.status == "duplicate" and dup.duplicate_of == first.upload_id and dup.supersedes is None
    assert svc.meta.get_current("uploads/u/shoe.jpg").upload_id == first.upload_id
    assert again.upload_id != first.upload_id


def test_a_concurrent_writer_of_the_old_record_does_not_lose_the_link():
    svc = services()
    old = upload(svc, A, 1)
    cleanse_all(svc)
    new = upload(svc, B, 2)
    real_put = svc.meta.put

    def racing_put(record):
        if record.upload_id == old.upload_id and record.superseded_by and not racing_put.done:
            racing_put.done = True  # another stage writes the old record between our read and our write
            real_put(replace(svc.meta.get(old.upload_id), reason_detail="touched by another stage"))
        real_put(record)

    racing_put.done = False
    svc.meta.put = racing_put
    cleanse_all(svc)
    final = svc.meta.get(old.upload_id)
    assert racing_put.done and final.superseded_by == new.upload_id
    assert final.reason_detail == "touched by another stage"  # the other writer's change survives too
