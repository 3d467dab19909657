"""The reconciliation sweep against Azurite and the Cosmos DB stand-in (issue 9, item 10).

The clock is moved forward instead of waiting: the sweep reads "now" from the services' clock.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from shared import naming
from shared.adapters.memory import RecordingQueue
from shared.azure import handlers
from shared.azure.bootstrap import AzureApp, bootstrap
from shared.layout import Queue
from shared.reconcile import MAX_DELIVERIES, reconcile
from shared.records import RETRIES_EXHAUSTED, Status
from shared.runtime import DeadLetter
from shared.settings import ReconcilePolicy, Settings
from tests.corpus import jpeg, photo

POLICY = ReconcilePolicy(grace_minutes=15, stuck_minutes=60, lookback_hours=72, limit=100)


def app(minutes_later: float = 0) -> AzureApp:
    """The Functions app's services on the stand-ins, with a clock ``minutes_later`` than now."""
    built = bootstrap(Settings.from_env(), queue=RecordingQueue(), classifier="none", create_missing=True)
    later = datetime.now(UTC) + timedelta(minutes=minutes_later)
    built.services.clock = lambda: later
    return built


def lost_upload(rt: AzureApp, name: str, seed: int = 1) -> str:
    """An upload whose event never fired: the blob exists, nothing else."""
    rt.store.put(name, jpeg(photo(320, 240, seed=seed)))
    return naming.upload_id_for(name, rt.store.info(name).version)


def sent(rt: AzureApp) -> list[tuple[str, str]]:
    assert isinstance(rt.services.queue, RecordingQueue)
    return [(q, mid) for q, mid, _ in rt.services.queue.sent]


class StaticDeadLetters:
    """A dead-letter queue holding fixed letters (the Service Bus DLQ adapter has its own tests)."""

    def __init__(self, letters: list[DeadLetter]) -> None:
        self.letters = letters

    def counts(self) -> dict[str, int]:
        return {}

    def list(self, limit: int = 100) -> list[DeadLetter]:
        return self.letters[:limit]

    def replay(self, message_id: str | None = None) -> int:
        return 0


def test_an_upload_whose_event_never_fired_is_ingested_by_the_sweep(azure_env: dict[str, str]) -> None:
    rt = app(minutes_later=30)
    upload_id = lost_upload(rt, "uploads/seller1/lost.jpg")
    report = reconcile(rt.services, None, POLICY)
    record = rt.meta.get(upload_id)
    assert record is not None and record.status == Status.BRONZE and rt.store.exists(record.raw_path)
    assert report.ingested == [upload_id] and report.examined == 1 and report.next_token is None
    assert sent(rt) == [(Queue.CLEANSE, upload_id)]
    again = reconcile(rt.services, None, POLICY)
    assert again.ingested == [] and again.examined == 1  # it has a record now


def test_a_young_upload_is_left_to_its_event(azure_env: dict[str, str]) -> None:
    rt = app(minutes_later=1)
    upload_id = lost_upload(rt, "uploads/seller1/new.jpg")
    report = reconcile(rt.services, None, POLICY)
    assert report.too_young == 1 and report.ingested == [] and rt.meta.get(upload_id) is None


def test_two_concurrent_sweeps_ingest_a_lost_upload_once(azure_env: dict[str, str]) -> None:
    first, second = app(minutes_later=30), app(minutes_later=30)
    ids = [lost_upload(first, f"uploads/seller{i}/lost.jpg", seed=i) for i in range(4)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def sweep(rt: AzureApp) -> None:
        try:
            start.wait()
            reconcile(rt.services, None, POLICY)
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(rt,)) for rt in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    records = first.meta.find()
    assert sorted(r.upload_id for r in records) == sorted(ids)
    assert all(r.status == Status.BRONZE and r.sha256 for r in records)
    assert len(list(first.store.list("bronze"))) == len(ids)  # one bronze copy each, not two


def test_a_record_stuck_past_the_deadline_is_driven_again(azure_env: dict[str, str]) -> None:
    now = app()
    upload_id = lost_upload(now, "uploads/seller1/stuck.jpg")
    handlers.ingest(now.services, "uploads/seller1/stuck.jpg")  # ingested; its cleanse message then got lost
    assert reconcile(app(minutes_later=30).services, None, POLICY).redriven == []  # not late yet
    later = app(minutes_later=120)
    report = reconcile(later.services, None, POLICY)
    assert report.redriven == [f"{Queue.CLEANSE}/{upload_id}"] and report.ingested == []
    assert sent(later) == [(Queue.CLEANSE, upload_id)]


def test_a_dead_lettered_message_marks_its_record_failed(azure_env: dict[str, str]) -> None:
    """The host's count is unknown to the app, so the broker dead-lettered the last delivery, not the app."""
    rt = app()
    upload_id = lost_upload(rt, "uploads/seller1/dead.jpg")
    handlers.ingest(rt.services, "uploads/seller1/dead.jpg")
    letter = DeadLetter(Queue.CLEANSE, upload_id, MAX_DELIVERIES, "Message could not be consumed after 5 "
                        "delivery attempts.", 5, None, json.dumps({"upload_id": upload_id}))
    junk = DeadLetter(Queue.CLEANSE, "junk", "bad_message", "not JSON", 1, None, "not json")
    report = reconcile(rt.services, StaticDeadLetters([junk, letter]), POLICY)
    record = rt.meta.get(upload_id)
    assert record is not None and (record.status, record.reason) == (Status.FAILED, RETRIES_EXHAUSTED)
    assert "delivery attempts" in (record.reason_detail or "") and report.marked_failed == [upload_id]
    assert reconcile(rt.services, StaticDeadLetters([letter]), POLICY).marked_failed == []  # already failed


def test_the_sweep_is_bounded_and_continues_from_its_token(azure_env: dict[str, str]) -> None:
    rt = app(minutes_later=30)
    ids = {lost_upload(rt, f"uploads/s{i}/p.jpg", seed=i) for i in range(5)}
    small = ReconcilePolicy(grace_minutes=15, stuck_minutes=60, lookback_hours=72, limit=2)
    ingested: list[str] = []
    tokens: list[str | None] = []
    for _ in range(3):
        report = reconcile(rt.services, None, small, tokens[-1] if tokens else None)
        ingested += report.ingested
        tokens.append(report.next_token)
    assert sorted(ingested) == sorted(ids) and tokens == ["uploads/s1/p.jpg", "uploads/s3/p.jpg", None]


def test_the_timer_keeps_its_token_in_its_state_blob(azure_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
                                                     ) -> None:
    rt = app(minutes_later=30)
    for i in range(3):
        lost_upload(rt, f"uploads/s{i}/p.jpg", seed=i)
    rt.services.settings = rt.settings.with_(reconcile=ReconcilePolicy(limit=2))
    first = json.loads(handlers.reconcile(rt.services, None))
    assert first["next_token"] == "uploads/s1/p.jpg" and len(first["last_run"]["ingested"]) == 2
    second = json.loads(handlers.reconcile(rt.services, json.dumps(first)))
    assert second["next_token"] is None and len(second["last_run"]["ingested"]) == 1
    assert json.loads(handlers.reconcile(rt.services, "not json"))["last_run"]["examined"] == 2  # starts over
