"""The local queue keeps the promises the app relies on in Service Bus."""

from __future__ import annotations

import pytest

from shared.adapters.sqlite_db import connect
from shared.local.jobs import SqliteJobQueue
from shared.settings import RetryPolicy


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


def test_send_is_deduplicated_by_message_id(queue):
    q, _ = queue
    q.send("ingest", "a", {"upload_id": "a"})
    q.send("ingest", "a", {"upload_id": "a"})
    assert q.counts() == {"ingest:pending": 1}


def test_a_crashed_consumers_lease_expires_and_the_job_is_redelivered(queue):
    q, clock = queue
    q.send("ingest", "a", {})
    (job,) = q.claim(("ingest",), lease=30)
    assert q.claim(("ingest",), lease=30) == []
    clock.now += 31
    (again,) = q.claim(("ingest",), lease=30)
    assert again.message_id == job.message_id and again.attempts == 2


def test_failures_back_off_exponentially_then_dead_letter(queue):
    q, clock = queue
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=60)
    q.send("ingest", "a", {})
    delays = []
    for _ in range(3):
        (job,) = q.claim(("ingest",))
        dead = q.fail(job, "boom", policy)
        if not dead:
            delays.append(q.next_available(("ingest",)) - clock.now)
            assert q.claim(("ingest",)) == []
            clock.now = q.next_available(("ingest",))
    assert dead and delays == [1.0, 2.0]
    (letter,) = q.dead()
    assert letter.last_error == "boom" and letter.attempts == 3
    assert q.replay("a") == 1 and q.claim(("ingest",))[0].attempts == 1


def test_classify_jobs_are_claimed_in_batches_never_mixed_with_another_queue(queue):
    q, clock = queue
    for i in range(5):
        q.send("classify", str(i), {})
    clock.now += 1  # the ingest job is ready later, so which queue comes first is not left to chance
    q.send("ingest", "x", {})
    both = ("ingest", "classify")
    first = q.claim(both, batch={"classify": 4})
    assert len(first) == 4 and {j.queue for j in first} == {"classify"}
    (last,) = q.claim(both, batch={"classify": 4})
    assert last.queue == "classify" and {j.message_id for j in [*first, last]} == {"0", "1", "2", "3", "4"}
    assert [j.queue for j in q.claim(both, batch={"classify": 4})] == ["ingest"]
