"""Caching of public pages and anonymous API answers that never serves stale content.

Every cached answer is stored under the current *content version*, a counter kept in the
cache itself (Redis when REDIS_URL is set, so every app process shares it). Any save, delete
or many-to-many change of a record bumps the counter, so the next request in any process
builds its answer afresh; old entries are never read again and expire on their own. Edits are
rare next to reads, so invalidating everything at once is both simplest and always correct.

With Redis, each process also keeps the pages it served last in its own memory (the "local"
cache alias), under the same versioned keys, and a copy of the version that Redis tells it to
drop the moment the version changes (``migrationsupport/version_copy.py``): a hit of a page then
makes no round trip to Redis at all, and sees every change made before the request began, less
the network's delay (at most 1 s should that connection die unnoticed). An anonymous API answer
is counted against the rate on another connection of the process's own, without waiting for
Redis's reply (``migrationsupport/rate_count.py``).

With read replicas (``migrationsupport/db_router.py``) a page may be built from a replica that
has not yet replayed the edit that bumped the version; stored under the new version, such a page
would stay stale (an unpublished record still on it) for ``PAGE_CACHE_SECONDS``. So after an edit
commits, for as long as a replica in use may lag behind it (``REPLICA_MAX_LAG_SECONDS`` +
``REPLICA_CHECK_SECONDS``), pages read from a replica are served but not stored.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.exceptions import DisallowedHost
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers, set_response_etag
from rest_framework.exceptions import Throttled

from . import asof
from .api_defaults import (
    COUNTED_ATTRIBUTE,
    RATE_LIMIT_HEADERS,
    CachedAnswerThrottle,
    count_in_window,
    rate_limit_headers,
    redis_client,
    remember_rate,
)
from .db_router import request_read_replica
from .rate_count import rate_count
from .version_copy import version_copy

logger = logging.getLogger(__name__)

VERSION_KEY = "content-version"
REPLICAS_CATCHING_UP_KEY = "content-changed-recently"
LOCAL_ALIAS = "local"
# Larger answers (a CSV of 10 000 rows) are left to Redis. 512 kB holds the funding explorer's
# page at +100 000 records (271 kB: read from Redis, a hit cost ~0.75-1 ms against ~0.4-0.55 ms
# from here, docs/performance.md); at most 100 pages, 50 MiB a process in the worst case.
LOCAL_MAX_BYTES = 512 * 1024
API_PREFIX = "/api/"


def _version_and_api_count(request) -> tuple[int, CachedAnswerThrottle | None, int | None]:
    """The content version, and this anonymous API request counted against the API's rate:
    without waiting for Redis (``rate_count``) with the version copy on, the version first (a
    request whose version cannot be read is served from the database and counted by the view's
    throttle, once); else one round trip to Redis for both (``count_in_window``)."""
    limiter = CachedAnswerThrottle()
    counter = limiter.window_key(request, None)
    if counter is None:
        return content_version(), None, None
    pool = _version_pool() if settings.API_COUNT_WITHOUT_WAITING else None
    count = None
    if pool is not None:
        version = content_version()
        count = rate_count.add(pool, cache.make_key(counter), limiter.duration)
    if count is None:
        count, read = count_in_window(cache, counter, limiter.duration, read=VERSION_KEY)
        # None: not set yet, or lost; content_version() starts it afresh.
        version = content_version() if read is None else int(read)
    remember_rate(request, limit=limiter.num_requests, count=count, reset=limiter.window_end)
    # Counted here once, for the view's throttle too (should reading the page fail after this).
    setattr(request, COUNTED_ATTRIBUTE, count)
    return version, limiter, count


def api_throttled(wait: float | None, headers: dict[str, str] | None = None) -> JsonResponse:
    """The answer DRF gives past the API's rate: 429, its message and ``Retry-After``."""
    response = JsonResponse({"detail": str(Throttled(wait).detail)}, status=429, headers=headers)
    if wait is not None:
        response["Retry-After"] = str(math.ceil(wait))
    return response


def content_version() -> int:
    """The content version: this process's copy while Redis has not changed it, else read."""
    pool = _version_pool()
    if pool is None:
        return _read_version()
    key = cache.make_key(VERSION_KEY)
    known, generation = version_copy.get(pool, key)
    if known is not None:
        return known
    read_at = time.monotonic()
    version = _read_version()
    version_copy.keep(pool, key, version, read_at, generation)
    return version


def _version_pool():
    """The Redis connection pool behind the cache, when processes keep a copy of the version."""
    if not settings.PAGE_CACHE_VERSION_COPY:
        return None
    client = redis_client(cache)
    return client.connection_pool if client is not None else None


def _read_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        # add() so concurrent first requests agree on one starting value. The clock, not 1: if
        # Redis loses the counter (a restart, an eviction), it must not restart at a number whose
        # pages may still be stored somewhere.
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(VERSION_KEY) or 1
    return version


def bump_content_version(**_kwargs) -> None:
    """Make every cached page stale at once (a signal receiver, also called after bulk writes),
    once the writing transaction commits (at once outside one).

    Not before: a request that read the new version while the edit was not yet committed would
    build its page from the old rows and store it under the new version, where it would stay,
    stale, for ``PAGE_CACHE_SECONDS``. After the commit, a page built from the old rows has
    the old version in its key.
    """
    transaction.on_commit(_bump, robust=True)
    if settings.DATABASE_REPLICAS:
        transaction.on_commit(_replicas_catching_up)


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not set yet (or lost): start afresh, as content_version() does
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
        cache.incr(VERSION_KEY)
    except Exception:  # the cache is down: nothing is being served from it either
        logger.warning("Could not bump the content version", exc_info=True)
    finally:
        version_copy.forget()  # this process's next request reads the new version, at once


def _replicas_catching_up() -> None:
    try:
        window = settings.REPLICA_MAX_LAG_SECONDS + settings.REPLICA_CHECK_SECONDS
        cache.set(REPLICAS_CATCHING_UP_KEY, 1, timeout=window)
    except Exception:
        logger.warning("Could not mark the replicas as catching up", exc_info=True)


def _read_from_a_lagging_replica() -> bool:
    """This request read a replica while one may still be replaying the last edit."""
    if not request_read_replica():
        return False
    try:
        return cache.get(REPLICAS_CATCHING_UP_KEY) is not None
    except Exception:
        return True


def _cacheable_request(request) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if any(request.path.startswith(prefix) for prefix in settings.PAGE_CACHE_EXCLUDE):
        return False
    # Officers see previews and their own session: never cache or serve cached pages to them.
    return settings.SESSION_COOKIE_NAME not in request.COOKIES and "HTTP_AUTHORIZATION" not in request.META


def _key(request, host: str, version: int | str) -> str:
    """Pages embed absolute addresses (sitemaps, the API's ``url`` fields, CSV ``page_url``), built
    from the request's host and scheme: an answer is only ever served back to the same ones."""
    accept = request.META.get("HTTP_ACCEPT", "")
    raw = f"{request.method}|{request.scheme}://{host}{request.get_full_path()}|{accept}"
    return f"page:{version}:{hashlib.sha256(raw.encode()).hexdigest()}"


def _lean_copy(response) -> HttpResponse:
    """The status, headers and bytes of a rendered response, and nothing else.

    A pickled DRF ``Response`` also carries its ``data`` (every serialized record again), several
    times the size of its JSON, and unpickling that on every hit cost more than the hit saved
    (docs/performance.md). Its ETag is computed here, once: otherwise ConditionalGetMiddleware
    hashes the whole body again on every hit.
    """
    lean = HttpResponse(response.content, status=response.status_code)
    for name, value in response.items():
        if name not in RATE_LIMIT_HEADERS:  # the first client's count: each hit gets its own
            lean[name] = value
    if not lean.has_header("ETag"):
        set_response_etag(lean)
    return lean


def _local_cache():
    """This process's own page store, when the shared cache is another server (settings)."""
    return caches[LOCAL_ALIAS] if LOCAL_ALIAS in settings.CACHES else None


def _keep_locally(key: str, page) -> None:
    if (local := _local_cache()) is not None and len(page.content) <= LOCAL_MAX_BYTES:
        local.set(key, page, settings.PAGE_CACHE_SECONDS)


def _cached_page(key: str):
    local = _local_cache()
    if local is not None and (page := local.get(key)) is not None:
        return page
    page = cache.get(key)
    if page is not None:
        _keep_locally(key, page)
    return page


def _store_page(key: str, page) -> None:
    cache.set(key, page, settings.PAGE_CACHE_SECONDS)
    _keep_locally(key, page)


class PublicPageCacheMiddleware:
    """Serve anonymous GETs of public pages and the API from the cache, keyed by content version."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.PAGE_CACHE_SECONDS or not _cacheable_request(request):
            return self.get_response(request)
        try:
            # A Host outside ALLOWED_HOSTS: CommonMiddleware answers 400; the cache is not asked.
            host = request.get_host()
        except DisallowedHost:
            return self.get_response(request)
        try:
            if request.path.startswith(API_PREFIX):
                version, limiter, count = _version_and_api_count(request)
            else:
                version, limiter, count = content_version(), None, None
            # A past moment's answer never changes: not keyed (nor made stale) by the version.
            key = _key(request, host, "as-of" if asof.requested(request) else version)
            cached = _cached_page(key)
        except Exception:  # the cache is down: serve from the database
            logger.warning("Page cache unavailable", exc_info=True)
            return self.get_response(request)
        # The API's rate counts what a client reads, cached or built alike.
        if (
            limiter is not None
            and count is not None
            and cached is not None
            and not limiter.allow_count(count)
        ):
            return api_throttled(limiter.wait(), rate_limit_headers(request))
        if cached is not None:
            # ``cached`` is this request's own copy (the caches unpickle a new one on each read).
            cached["X-Cache"] = "hit"
            for name, value in rate_limit_headers(request).items():
                cached[name] = value
            return cached
        response = self.get_response(request)
        if self._storable(response):
            if hasattr(response, "render") and callable(response.render) and not response.is_rendered:
                response.render()
            if _read_from_a_lagging_replica():
                return response
            patch_vary_headers(response, ("Accept", "Cookie"))
            try:
                _store_page(key, _lean_copy(response))
            except Exception:
                logger.warning("Could not store a page in the cache", exc_info=True)
            response["X-Cache"] = "miss"
        return response

    @staticmethod
    def _storable(response) -> bool:
        return (
            response.status_code in (200, 301, 404)
            and not response.streaming
            and not response.cookies
            and "no-store" not in response.get("Cache-Control", "")
            and "private" not in response.get("Cache-Control", "")
        )
