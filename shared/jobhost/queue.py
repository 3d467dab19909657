"""In-process queues on SQLite, with the semantics the app relies on in Service Bus.

- ``send`` of a message already waiting or in flight is dropped: one job per
  (queue, message_id) at a time. A message that was done (or dead) is armed
  again, because a new send means new work (a rule change, a resumed run);
- a consumer takes a job with a lease (peek-lock); a crashed worker's lease
  expires and the job is delivered again (at-least-once);
- a failure is retried with exponential backoff; after the last attempt the
  job is dead-lettered with its reason and error text, and ``replay`` sends it again.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from shared.ports import JobQueue

PENDING, RUNNING, DONE, DEAD = "pending", "running", "done", "dead"


@dataclass(frozen=True)
class Job:
    queue: str
    message_id: str
    body: dict[str, Any]
    attempts: int
    last_error: str | None = None
    updated_at: float = 0.0
    dead_reason: str | None = None


class SqliteJobQueue(JobQueue):
    def __init__(self, conn: sqlite3.Connection, clock: Any = time.time) -> None:
        self.conn = conn
        self.clock = clock

    def send(self, queue: str, message_id: str, body: dict[str, Any]) -> bool:
        """True when this armed a job; False when the same message was already waiting or in flight."""
        now = self.clock()
        cur = self.conn.execute(
            "INSERT INTO jobs (queue, message_id, body, available_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (queue, message_id) DO UPDATE SET state = 'pending',"
            " body = excluded.body, attempts = 0, available_at = excluded.available_at, last_error = NULL,"
            " dead_reason = NULL, lease_until = NULL, updated_at = excluded.updated_at"
            " WHERE jobs.state IN ('done', 'dead')",
            (queue, message_id, json.dumps(body), now, now, now),
        )
        return bool(cur.rowcount)

    def claim(self, queues: tuple[str, ...], lease: float = 300.0, batch: dict[str, int] | None = None) -> list[Job]:
        """Take the next ready job, plus more of its queue up to ``batch[queue]``, under a lease."""
        now = self.clock()
        marks = ",".join("?" * len(queues))
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            first = self.conn.execute(
                f"SELECT queue FROM jobs WHERE queue IN ({marks}) AND available_at <= ? AND"
                f" (state = 'pending' OR (state = 'running' AND lease_until < ?)) ORDER BY available_at LIMIT 1",
                (*queues, now, now),
            ).fetchone()
            if first is None:
                self.conn.execute("COMMIT")
                return []
            rows = self.conn.execute(
                "UPDATE jobs SET state = 'running', lease_until = ?, attempts = attempts + 1, updated_at = ?"
                " WHERE rowid IN (SELECT rowid FROM jobs WHERE queue = ? AND available_at <= ? AND"
                " (state = 'pending' OR (state = 'running' AND lease_until < ?)) ORDER BY available_at LIMIT ?)"
                " RETURNING queue, message_id, body, attempts, last_error, updated_at, dead_reason",
                (now + lease, now, first["queue"], now, now, (batch or {}).get(first["queue"], 1)),
            ).fetchall()
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return [_job(r) for r in rows]

    def complete(self, job: Job) -> None:
        self._set(job, DONE, None, None)

    def retry(self, job: Job, error: str, delay: float) -> None:
        """Give the job back, to be delivered again after ``delay`` seconds (the backoff)."""
        self._set(job, PENDING, error, self.clock() + delay)

    def give_back(self, job: Job) -> None:
        """Return a job untouched, its attempt not spent: the pipeline failed, not the job."""
        self.conn.execute(
            "UPDATE jobs SET state = 'pending', attempts = MAX(attempts - 1, 0), lease_until = NULL, updated_at = ?"
            " WHERE queue = ? AND message_id = ? AND state = 'running'", (self.clock(), job.queue, job.message_id))

    def dead_letter(self, job: Job, reason: str, error: str) -> None:
        self._set(job, DEAD, error, None, reason)

    def _set(self, job: Job, state: str, error: str | None, available_at: float | None,
             reason: str | None = None) -> None:
        # Only the delivery that holds the job settles it: a job armed again meanwhile is left alone.
        self.conn.execute(
            "UPDATE jobs SET state = ?, last_error = COALESCE(?, last_error), lease_until = NULL,"
            " available_at = COALESCE(?, available_at), dead_reason = ?, updated_at = ?"
            " WHERE queue = ? AND message_id = ? AND state = 'running'",
            (state, error, available_at, reason, self.clock(), job.queue, job.message_id),
        )

    def release_expired(self) -> int:
        """Make every running job claimable now (the caller knows no other worker is alive)."""
        cur = self.conn.execute("UPDATE jobs SET state = 'pending', lease_until = NULL WHERE state = 'running'")
        return cur.rowcount

    def next_available(self, queues: tuple[str, ...]) -> float | None:
        """When the next pending job becomes ready (None when nothing is pending)."""
        marks = ",".join("?" * len(queues))
        row = self.conn.execute(
            f"SELECT MIN(available_at) AS t FROM jobs WHERE queue IN ({marks}) AND state = 'pending'", queues
        ).fetchone()
        return row["t"]

    def active(self, queues: tuple[str, ...]) -> int:
        marks = ",".join("?" * len(queues))
        row = self.conn.execute(
            f"SELECT COUNT(*) AS n FROM jobs WHERE queue IN ({marks}) AND state IN ('pending', 'running')", queues
        ).fetchone()
        return int(row["n"])

    def dead(self, limit: int | None = None) -> list[Job]:
        rows = self.conn.execute(
            "SELECT queue, message_id, body, attempts, last_error, updated_at, dead_reason FROM jobs"
            " WHERE state = 'dead' ORDER BY updated_at LIMIT ?", (-1 if limit is None else limit,)
        )
        return [_job(r) for r in rows]

    def replay(self, message_id: str | None = None) -> int:
        """Send dead-lettered jobs again with fresh attempts (all of them when message_id is None)."""
        sql = ("UPDATE jobs SET state = 'pending', attempts = 0, dead_reason = NULL, available_at = ?, updated_at = ?"
               " WHERE state = 'dead'")
        args: list[object] = [self.clock(), self.clock()]
        if message_id is not None:
            sql += " AND message_id = ?"
            args.append(message_id)
        return self.conn.execute(sql, args).rowcount

    def counts(self, since: float | None = None) -> dict[str, int]:
        """Jobs per ``queue:state``; with ``since``, only jobs touched since then (one run's share)."""
        rows = self.conn.execute("SELECT queue || ':' || state AS k, COUNT(*) AS n FROM jobs WHERE updated_at >= ?"
                                 " GROUP BY queue, state", (since or 0.0,))
        return {r["k"]: r["n"] for r in rows}


def _job(row: sqlite3.Row) -> Job:
    return Job(row["queue"], row["message_id"], json.loads(row["body"]), row["attempts"], row["last_error"],
               row["updated_at"], row["dead_reason"])
