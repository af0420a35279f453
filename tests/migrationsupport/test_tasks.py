"""Work after commit (migrationsupport.tasks): in the request's process by default, on the Redis
queue with TASK_QUEUE=1, served by the real worker (`manage.py rqworker`, as `make worker` runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction
from redis import Redis
from rq import Queue

from funding import rollup
from migrationsupport import tasks
from tests.factories import FundingRecordFactory
from tests.support.database import child_database_url

BASE_DIR = Path(__file__).resolve().parents[2]
# A Redis database of its own, emptied before each test (the cache tests use 15).
REDIS_URL = "redis://127.0.0.1:6379/14"
# Used by this module alone: `make test TEST_WORKERS=2` (pytest-xdist, --dist loadfile) runs its
# tests in one process.

calls: list[str] = []


def record_call() -> None:
    calls.append("ran")


@pytest.fixture
def queue(settings):
    settings.TASK_QUEUE = True
    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 60}}
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    calls.clear()
    yield Queue(tasks.QUEUE, connection=redis)
    redis.flushdb()


def _run_worker() -> subprocess.CompletedProcess:
    """The real worker, in burst mode (it stops when the queue is empty), on the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": child_database_url(),
        "REDIS_URL": REDIS_URL,
        "TASK_QUEUE": "1",
        "DEBUG": "0",
        "SECRET_KEY": "test-only",
        "DATABASE_REPLICA_URLS": "",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "rqworker", tasks.QUEUE, "--burst"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db
def test_without_the_queue_the_work_runs_here_after_commit_and_not_before(
    settings, django_capture_on_commit_callbacks
):
    settings.TASK_QUEUE = False
    calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.run_after_commit(record_call)
        assert calls == []  # not before the commit
    assert calls == ["ran"]


@pytest.mark.django_db
def test_with_the_queue_a_burst_of_commits_queues_one_run_and_nothing_runs_here(
    queue, django_capture_on_commit_callbacks
):
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.run_after_commit(record_call)
    assert calls == []
    assert queue.count == 1
    job = queue.jobs[0]
    assert job.args == (f"{__name__}.record_call",)

    tasks.run_queued(*job.args)  # the job starts: its marker goes, so the next change queues again
    assert calls == ["ran"]
    with django_capture_on_commit_callbacks(execute=True):
        tasks.run_after_commit(record_call)
    assert queue.count == 2


@pytest.mark.django_db
def test_an_unreachable_queue_runs_the_work_here(settings, django_capture_on_commit_callbacks):
    settings.TASK_QUEUE = True
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "DEFAULT_TIMEOUT": 60}}
    calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.run_after_commit(record_call)
    assert calls == ["ran"]


@pytest.mark.django_db
@pytest.mark.parametrize("queue_url", [None, "redis://127.0.0.1:1/0"])
def test_work_run_here_is_the_inline_version_when_one_is_given(
    settings, django_capture_on_commit_callbacks, queue_url
):
    """Without the queue, or when it is unreachable, the request runs ``inline``, never the
    queued ``func`` (the funding totals: the published ones only, not the whole rebuild)."""
    settings.TASK_QUEUE = queue_url is not None
    if queue_url:
        settings.RQ_QUEUES = {"default": {"URL": queue_url, "DEFAULT_TIMEOUT": 60}}
    calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.run_after_commit(record_call, inline=lambda: calls.append("inline"))
    assert calls == ["inline"]


@pytest.mark.skipif(not rollup.enabled(), reason="stored totals are PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_a_save_returns_before_the_totals_are_rebuilt_and_the_worker_rebuilds_them(queue):
    rollup.rebuild(force=True)
    assert rollup.stored_rows(None) is not None

    with transaction.atomic():
        FundingRecordFactory()
    # The save committed without rebuilding: the totals are stale (readers compute them) and
    # one rebuild waits on the queue.
    assert rollup.stored_rows(None) is None
    assert queue.count == 1

    result = _run_worker()
    assert result.returncode == 0, result.stderr
    assert queue.count == 0
    assert len(queue.failed_job_registry) == 0, result.stderr
    stored = rollup.stored_rows(None)
    assert stored is not None, result.stderr
    assert sum(row["records"] for row in stored if row["row_kind"] == "total") == 1
