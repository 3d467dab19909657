"""The one settlement policy as a table, and the batch-isolation helper both adapters use."""

from __future__ import annotations

import pytest

from shared import errors
from shared.records import RETRIES_EXHAUSTED
from shared.settlement import Settlement, Verdict, run_isolated, settle

BAD = errors.PermanentError(errors.BAD_MESSAGE, "not JSON")
FLAKY = errors.TransientError("storage timed out")
BUG = KeyError("oops")


@pytest.mark.parametrize(("error", "attempt", "expected"), [
    (None, 1, Settlement(Verdict.COMPLETE)),
    (None, 5, Settlement(Verdict.COMPLETE)),  # success on the last delivery is success
    (BAD, 1, Settlement(Verdict.DEAD_LETTER, errors.BAD_MESSAGE, "bad_message: not JSON")),
    (BAD, None, Settlement(Verdict.DEAD_LETTER, errors.BAD_MESSAGE, "bad_message: not JSON")),
    (FLAKY, 1, Settlement(Verdict.RETRY, detail="storage timed out")),
    (FLAKY, 4, Settlement(Verdict.RETRY, detail="storage timed out")),
    (FLAKY, 5, Settlement(Verdict.DEAD_LETTER, RETRIES_EXHAUSTED, "storage timed out", mark_failed=True)),
    (FLAKY, 7, Settlement(Verdict.DEAD_LETTER, RETRIES_EXHAUSTED, "storage timed out", mark_failed=True)),
    (BUG, 5, Settlement(Verdict.DEAD_LETTER, RETRIES_EXHAUSTED, "KeyError: 'oops'", mark_failed=True)),
    # A broker that did not say which delivery this is: never assume the last (nor the first).
    (FLAKY, None, Settlement(Verdict.RETRY, detail="storage timed out")),
])
def test_policy(error, attempt, expected):
    assert settle(error, attempt, max_attempts=5) == expected


def test_a_long_error_text_is_capped():
    outcome = settle(errors.TransientError("x" * 5000), 5, 5)
    assert len(outcome.detail or "") == 1024


def test_a_failing_batch_is_retried_item_by_item_and_each_keeps_its_own_error():
    calls = []

    def handle(batch):
        calls.append(list(batch))
        if 2 in batch:
            raise ValueError("two")

    results = run_isolated(handle, [1, 2, 3])
    assert [(item, type(err).__name__ if err else None) for item, err in results] == [
        (1, None), (2, "ValueError"), (3, None)]
    assert calls == [[1, 2, 3], [1], [2], [3]]


def test_a_batch_that_succeeds_runs_once():
    calls = []
    assert run_isolated(calls.append, ["a", "b"]) == [("a", None), ("b", None)] and calls == [["a", "b"]]


def test_the_job_host_adapter_applies_each_verdict(tmp_path):
    from shared.adapters.sqlite_db import connect
    from shared.jobhost.queue import SqliteJobQueue
    from shared.jobhost.worker import apply
    from shared.records import Record, Status
    from shared.settings import RetryPolicy
    from tests.unit.fakes import services

    svc = services()
    svc.settings = svc.settings.with_(retry=RetryPolicy(max_attempts=2, base_delay=4.0))
    upload_id = "a" * 32
    svc.meta.put(Record(upload_id=upload_id, user_id="u", status=Status.BRONZE, upload_ts="t", ingest_ts="t",
                        raw_name="a.jpg", raw_path="bronze/a.jpg", raw_size=1, sha256="s"))
    jobs = SqliteJobQueue(connect(tmp_path / "jobs.db"), clock=lambda: 100.0)
    for mid in ("done", "again", "junk", upload_id):
        jobs.send("cleanse", mid, {"upload_id": upload_id} if mid == upload_id else {})
    claimed = {j.message_id: j for j in jobs.claim(("cleanse",), batch={"cleanse": 4})}
    apply(svc, jobs, claimed["done"], settle(None, 1, 2))
    apply(svc, jobs, claimed["again"], settle(FLAKY, 1, 2))
    apply(svc, jobs, claimed["junk"], settle(BAD, 1, 2))
    apply(svc, jobs, claimed[upload_id], settle(FLAKY, 2, 2))
    assert jobs.counts() == {"cleanse:done": 1, "cleanse:pending": 1, "cleanse:dead": 2}
    assert jobs.next_available(("cleanse",)) == 104.0  # the backoff of attempt 1
    assert {(d.message_id, d.dead_reason) for d in jobs.dead()} == {("junk", "bad_message"),
                                                                     (upload_id, RETRIES_EXHAUSTED)}
    assert svc.meta.get(upload_id).status == Status.FAILED  # marked before it left for the DLQ


def test_the_service_bus_adapter_applies_each_verdict():
    from shared.azure.settle import Delivery, apply
    from tests.integration.triggers import RecordingActions
    from tests.unit.fakes import services

    class Message:
        def __init__(self, mid: str) -> None:
            self.message_id = mid

    actions = RecordingActions()
    svc = services()
    deliveries = {m: Delivery(Message(m), b"{}", m, 1) for m in ("ok", "flaky", "junk", "last")}
    assert apply(svc, "cleanse", deliveries["ok"], settle(None, 1, 3), actions)
    assert not apply(svc, "cleanse", deliveries["flaky"], settle(FLAKY, 1, 3), actions)  # the caller raises
    assert apply(svc, "cleanse", deliveries["junk"], settle(BAD, 1, 3), actions)
    assert apply(svc, "cleanse", deliveries["last"], settle(FLAKY, 3, 3), actions)
    assert actions.completed == ["ok"]
    assert [(m, r) for m, r, _ in actions.dead_lettered] == [("junk", "bad_message"), ("last", RETRIES_EXHAUSTED)]
