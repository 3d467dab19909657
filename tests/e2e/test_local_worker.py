"""The local worker keeps Service Bus' promises where a worker dies or one job of a batch fails."""

from __future__ import annotations

from shared.jobhost.worker import handle, work
from shared.local.bootstrap import bootstrap
from shared.records import Status
from shared.runner import ingest_all, pending_uploads
from shared.settings import RetryPolicy, Settings
from tests.e2e.test_local_operations import put_photo
from tests.unit.fakes import FixedClassifier


def test_a_job_that_kills_its_worker_on_every_delivery_is_dead_lettered(tmp_path):
    # Like Service Bus' maxDeliveryCount: a poison message (say, an image that gets the worker OOM-killed)
    # must not be handed out again on every run, forever.
    put_photo(tmp_path)
    rt = bootstrap(Settings(data_dir=tmp_path, retry=RetryPolicy(max_attempts=3)), classifier="none")
    try:
        ingest_all(rt, pending_uploads(rt))
        for _ in range(3):  # three runs, each killed while holding the job
            assert len(rt.jobs.claim(("cleanse",))) == 1
            rt.jobs.release_expired()  # what the next run does first
        assert work(rt.services, rt.jobs) == 1
        (record,) = rt.services.meta.find()
        (letter,) = rt.jobs.dead()
    finally:
        rt.close()
    assert record.status == Status.FAILED and "3 deliveries" in record.reason_detail and letter.attempts == 4


class BrittleClassifier(FixedClassifier):
    """Fails in an unexpected way on one image, as a model bug would: transient, and only that image's."""

    def __init__(self) -> None:
        super().__init__()
        self.brittle: bytes | None = None

    def classify(self, images):
        if self.brittle in images:
            raise RuntimeError("model crashed on this image")
        return super().classify(images)


def test_one_failing_image_does_not_sink_the_other_jobs_of_its_classify_batch(tmp_path):
    for i in range(3):
        put_photo(tmp_path, f"u1/{i}.jpg", seed=i)
    model = BrittleClassifier()
    settings = Settings(data_dir=tmp_path, retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    rt = bootstrap(settings, classifier_factory=lambda: model)
    try:
        ingest_all(rt, pending_uploads(rt))
        while jobs := rt.jobs.claim(("cleanse",)):  # cleanse only, so that the classify jobs form one batch
            handle(rt.services, jobs)
            rt.jobs.complete(jobs[0])
        first = rt.services.meta.find()[0]
        model.brittle = rt.store.get(first.cleansed_path)
        work(rt.services, rt.jobs)
        statuses = {r.upload_id: r.status for r in rt.services.meta.find()}
    finally:
        rt.close()
    assert statuses.pop(first.upload_id) == Status.FAILED and set(statuses.values()) == {Status.CLASSIFIED}
