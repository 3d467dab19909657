"""Re-uploads: the newest version of an upload path is current; older ones are linked history."""

from __future__ import annotations

from dataclasses import replace

from shared.layout import Queue
from shared.ports import CurrentUpload
from shared.stages import cleanse, ingest
from shared.stages.reupload import current_version, link_reupload, link_versions
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


C = corpus.jpeg(corpus.photo(320, 240, seed=3))
# Runs of one upload path: (bytes, upload second). The third is the second's bytes again, the last an older
# version that arrives late.
HISTORY = ((A, 10), (B, 20), (B, 30), (C, 5))


def links(records) -> dict[str, tuple[str | None, str | None]]:
    return {r.upload_id: (r.supersedes, r.superseded_by) for r in records}


def test_the_batch_rule_links_versions_exactly_as_the_stage_does():
    """The bulk job folds each run's versions in with link_versions; the stage moves a pointer per event."""
    svc = services()
    arrived = []
    for data, second in HISTORY:
        arrived.append(upload(svc, data, second).upload_id)
        cleanse_all(svc)
    staged = svc.meta.find()
    batch: list = []
    for upload_id in arrived:  # one run per upload, in the order they arrived
        arriving = replace(svc.meta.get(upload_id), status="bronze", supersedes=None, superseded_by=None)
        batch.append(arriving)
        link_versions(batch, [arriving])
        arriving.status = "gold"
    assert links(batch) == links(staged)
    by_second = {r.upload_ts[17:19]: r for r in staged}
    assert by_second["20"].supersedes == by_second["10"].upload_id  # new bytes
    assert by_second["30"].supersedes is None and by_second["30"].superseded_by is None  # same bytes again
    assert by_second["05"].superseded_by == by_second["20"].upload_id  # late: the current one stays current


def test_versions_arriving_in_one_batch_are_taken_oldest_first_and_a_second_fold_changes_nothing():
    svc = services()
    records = [upload(svc, data, second) for data, second in ((B, 20), (A, 10), (C, 30))]
    changed = link_versions(records, records)
    old, mid, new = sorted(records, key=lambda r: r.upload_ts)
    assert (old.supersedes, old.superseded_by) == (None, mid.upload_id)
    assert (mid.supersedes, mid.superseded_by) == (old.upload_id, new.upload_id)
    assert (new.supersedes, new.superseded_by) == (mid.upload_id, None)
    assert {r.upload_id for r in changed} == {r.upload_id for r in records}
    before = links(records)
    assert link_versions(records, records) == [] and links(records) == before  # a retried batch
    assert current_version(records) is new
