"""The local queue keeps the promises the app relies on in Service Bus."""

from __future__ import annotations

import pytest

from shared.adapters.sqlite_db import connect
from shared.jobhost.queue import SqliteJobQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def queue(tmp_path):
    clock = Clock()
    conn = connect(tmp_path / "db.sqlite")
    yield SqliteJobQueue(conn, clock=clock), clock
    conn.close()


def test_a_message_waiting_or_in_flight_is_sent_once_a_finished_one_is_armed_again(queue):
    q, _ = queue
    assert q.send("cleanse", "a", {"upload_id": "a"}) is True
    assert q.send("cleanse", "a", {"upload_id": "a"}) is False
    assert q.counts() == {"cleanse:pending": 1}
    (job,) = q.claim(("cleanse",))
    assert q.send("cleanse", "a", {"upload_id": "a"}) is False  # in flight: its worker will finish it
    q.complete(job)
    assert q.send("cleanse", "a", {"upload_id": "a"}) is True  # done: a new send is new work (a rule change)
    (again,) = q.claim(("cleanse",))
    assert again.attempts == 1


def test_a_crashed_consumers_lease_expires_and_the_job_is_redelivered(queue):
    q, clock = queue
    q.send("cleanse", "a", {})
    (job,) = q.claim(("cleanse",), lease=30)
    assert q.claim(("cleanse",), lease=30) == []
    clock.now += 31
    (again,) = q.claim(("cleanse",), lease=30)
    assert again.message_id == job.message_id and again.attempts == 2


def test_a_retry_waits_its_delay_and_a_dead_letter_keeps_reason_and_error_until_replayed(queue):
    q, clock = queue
    q.send("cleanse", "a", {})
    (job,) = q.claim(("cleanse",))
    q.retry(job, "boom", 2.0)
    assert q.claim(("cleanse",)) == [] and q.next_available(("cleanse",)) == clock.now + 2.0
    clock.now += 2.0
    (job,) = q.claim(("cleanse",))
    q.dead_letter(job, "retries_exhausted", "boom again")
    (letter,) = q.dead()
    assert (letter.dead_reason, letter.last_error, letter.attempts) == ("retries_exhausted", "boom again", 2)
    assert q.send("cleanse", "b", {}) and q.counts() == {"cleanse:dead": 1, "cleanse:pending": 1}
    assert q.replay("a") == 1 and q.dead() == []
    assert {j.message_id: j.attempts for j in q.claim(("cleanse",), batch={"cleanse": 2})} == {"a": 1, "b": 1}


def test_only_the_delivery_holding_a_job_settles_it(queue):
    q, clock = queue
    q.send("cleanse", "a", {})
    (stale,) = q.claim(("cleanse",), lease=10)
    clock.now += 11  # its worker hangs; the lease expires and another worker takes the job
    (current,) = q.claim(("cleanse",), lease=10)
    q.complete(current)
    q.dead_letter(stale, "retries_exhausted", "late")  # the hung worker wakes up: the job is done already
    assert q.counts() == {"cleanse:done": 1}


def test_classify_jobs_are_claimed_in_batches_never_mixed_with_another_queue(queue):
    q, clock = queue
    for i in range(5):
        q.send("classify", str(i), {})
    clock.now += 1  # the cleanse job is ready later, so which queue comes first is not left to chance
    q.send("cleanse", "x", {})
    both = ("cleanse", "classify")
    first = q.claim(both, batch={"classify": 4})
    assert len(first) == 4 and {j.queue for j in first} == {"classify"}
    (last,) = q.claim(both, batch={"classify": 4})
    assert last.queue == "classify" and {j.message_id for j in [*first, last]} == {"0", "1", "2", "3", "4"}
    assert [j.queue for j in q.claim(both, batch={"classify": 4})] == ["cleanse"]
