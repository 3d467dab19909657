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
