"""The one thread rule for ONNX Runtime sessions (ml/threads.py)."""

from __future__ import annotations

import pytest

from ml import threads


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv(threads.THREADS_ENV, raising=False)
    monkeypatch.delenv(threads.WORKERS_ENV, raising=False)


@pytest.mark.parametrize(("cores", "workers", "sessions", "expected"), [
    (2, 1, 2, threads.ThreadPlan(1, spinning=False)),  # a local worker on this machine: classifier + moderation
    (2, 2, 2, threads.ThreadPlan(1, spinning=False)),  # never below one thread
    (8, 2, 2, threads.ThreadPlan(2, spinning=False)),
    (8, 1, 1, threads.ThreadPlan(8, spinning=True)),  # alone on the machine: onnxruntime's own default
    (8, 3, 1, threads.ThreadPlan(2, spinning=False)),  # 8 // 3
    (16, 1, 2, threads.ThreadPlan(8, spinning=False)),
])
def test_cores_are_shared_out_and_spinning_is_off_when_shared(cores, workers, sessions, expected):
    assert threads.plan(sessions, workers, available=cores) == expected


def test_workers_come_from_imgpipe_workers(monkeypatch):
    assert threads.plan(2, available=8) == threads.ThreadPlan(4, spinning=False)
    monkeypatch.setenv(threads.WORKERS_ENV, "2")
    assert threads.plan(2, available=8) == threads.ThreadPlan(2, spinning=False)
    assert threads.workers_from_env() == 2


def test_imgpipe_ort_threads_overrides_the_count_not_the_spinning(monkeypatch):
    monkeypatch.setenv(threads.THREADS_ENV, "3")
    assert threads.plan(2, workers=2, available=2) == threads.ThreadPlan(3, spinning=False)
    assert threads.plan(1, workers=1, available=2) == threads.ThreadPlan(3, spinning=True)


def test_imgpipe_ort_threads_zero_is_onnxruntimes_own_default(monkeypatch):
    monkeypatch.setenv(threads.THREADS_ENV, "0")
    assert threads.plan(2, workers=2, available=2) == threads.ThreadPlan(0, spinning=True)


@pytest.mark.parametrize(("name", "raw"), [(threads.WORKERS_ENV, "0"), (threads.WORKERS_ENV, "-1"),
                                           (threads.WORKERS_ENV, "two"), (threads.THREADS_ENV, "-2")])
def test_a_malformed_setting_is_an_error_naming_it(monkeypatch, name, raw):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ValueError, match=name):
        threads.plan(2)


def test_session_options_carry_the_plan(monkeypatch):
    monkeypatch.setenv(threads.WORKERS_ENV, "2")
    options = threads.session_options(sessions=2)
    assert options.intra_op_num_threads == threads.plan(2).intra_op and options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_cores_respect_a_cgroup_quota(monkeypatch, tmp_path):
    quota = tmp_path / "cpu.max"
    quota.write_text("100000 100000\n")
    monkeypatch.setattr(threads, "CGROUP_CPU_MAX", quota)
    assert threads.cores() == 1
    quota.write_text("max 100000\n")
    assert threads.cores() >= 1
