"""Work a request should not wait for, run after its transaction commits.

With ``TASK_QUEUE=1`` (and ``REDIS_URL``) the work goes to a Redis queue that separate worker
processes serve (RQ through django-rq: ``make worker``, i.e. ``manage.py rqworker default
--with-scheduler``); the request returns as soon as its transaction has committed. Without it,
the embedded default of ``make run`` and the test suite, the same function runs in the request's
own process once the transaction commits.

RQ rather than Celery: Redis is already the site's cache, RQ's worker is one command with no
broker of its own to run, and retries with back-off (``Retry``) come with it. Django 5.2 has no
tasks framework yet (it arrives in 6.0, without a worker).

``run_after_commit(func)`` queues ``func`` at most once while a run of it is waiting: a burst of
saves (an import, a bulk publish) queues one run, not one per record. A marker in Redis says a
run is waiting; the job removes it when it starts, so a change committed while the job runs
queues the next one. Queued work must therefore be idempotent and read what to do from the
database, never from arguments captured at enqueue time.

``enqueue_each(func, *args, retry_intervals=..., queue=...)`` is for work that is one job per call
(a webhook delivery): no marker, each call its own job, retried by RQ after each interval in turn.
Webhook deliveries have a queue of their own, ``webhooks``, served by a worker that does not fork
per job (``make worker`` starts both; docs/performance.md has why).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from functools import partial

from django.conf import settings
from django.db import transaction
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry

logger = logging.getLogger(__name__)

QUEUE = "default"
# How long a "run waiting" marker holds if no worker ever takes the job (a stopped worker):
# after that the next change queues another run.
PENDING_SECONDS = 600
# A failed run is tried again after these many seconds (RQ's scheduler, started by the worker).
RETRY_INTERVALS = [10, 60, 300]


def queued() -> bool:
    return bool(getattr(settings, "TASK_QUEUE", False))


def _connection() -> Redis:
    return Redis.from_url(str(settings.RQ_QUEUES[QUEUE]["URL"]))


def _name(func: Callable[[], object]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def _pending_key(func: Callable[[], object]) -> str:
    return f"tasks:pending:{_name(func)}"


def run_queued(name: str) -> None:
    """What the worker runs: clear the "waiting" marker, then the function named."""
    module, _, attribute = name.rpartition(".")
    func = getattr(importlib.import_module(module), attribute)
    _connection().delete(_pending_key(func))
    func()


def enqueue(func: Callable[[], object], *, inline: Callable[[], object] | None = None) -> None:
    """Queue one run of ``func`` unless one is already waiting. Without a queue, or if Redis
    fails, run ``inline`` (``func`` by default) here instead: a lighter version of the work for a
    request to wait for, when there is one."""
    inline = inline or func
    if not queued():
        inline()
        return
    try:
        redis = _connection()
        if not redis.set(_pending_key(func), 1, nx=True, ex=PENDING_SECONDS):
            return  # a queued run has not started yet: it will see this change too
        Queue(QUEUE, connection=redis).enqueue(
            run_queued,
            _name(func),
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=settings.RQ_QUEUES[QUEUE]["DEFAULT_TIMEOUT"],
            description=_name(func),
        )
    except RedisError:
        logger.warning("Task queue unreachable: running %s in this process", _name(inline), exc_info=True)
        inline()


def enqueue_each(
    func: Callable[..., object], *args: object, retry_intervals: Sequence[int], queue: str = QUEUE
) -> None:
    """Queue ``func(*args)`` on ``queue`` as a job of its own, retried (when it raises) after each
    of ``retry_intervals`` seconds in turn; without the queue, or when Redis fails, run it here
    once (an error is logged, never raised: the caller's work is done)."""
    if queued():
        try:
            Queue(queue, connection=_connection()).enqueue(
                func,
                *args,
                retry=Retry(max=len(retry_intervals), interval=list(retry_intervals))
                if retry_intervals
                else None,
                job_timeout=settings.RQ_QUEUES[queue]["DEFAULT_TIMEOUT"],
                description=f"{_name(func)}{args!r}",
            )
            return
        except RedisError:
            logger.warning("Task queue unreachable: running %s in this process", _name(func), exc_info=True)
    try:
        func(*args)
    except Exception:
        logger.exception("%s%r failed", _name(func), args)


def run_after_commit(func: Callable[[], object], *, inline: Callable[[], object] | None = None) -> None:
    """Queue ``func`` (or run ``inline``, as ``enqueue`` does) once the current transaction
    commits; a failure is logged, never turned into an error for the write that has already
    committed."""
    transaction.on_commit(partial(enqueue, func, inline=inline), robust=True)
