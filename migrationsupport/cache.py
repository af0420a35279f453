"""Caching of public pages and anonymous API answers that never serves stale content.

Every cached answer is stored under the current *content version*, a counter kept in the
cache itself (Redis when REDIS_URL is set, so every app process shares it). Any save, delete
or many-to-many change of a record bumps the counter, so the next request in any process
builds its answer afresh; old entries are never read again and expire on their own. Edits are
rare next to reads, so invalidating everything at once is both simplest and always correct.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers

logger = logging.getLogger(__name__)

VERSION_KEY = "content-version"


def content_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        # add() so concurrent first requests agree on one starting value.
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY) or 1
    return version


def bump_content_version(**_kwargs) -> None:
    """Make every cached page stale at once (a signal receiver, also called after bulk writes)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not set yet (or evicted): any new value differs from what pages used
        cache.add(VERSION_KEY, 1, timeout=None)
        cache.incr(VERSION_KEY)
    except Exception:  # the cache is down: nothing is being served from it either
        logger.warning("Could not bump the content version", exc_info=True)


def _cacheable_request(request) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if any(request.path.startswith(prefix) for prefix in settings.PAGE_CACHE_EXCLUDE):
        return False
    # Officers see previews and their own session: never cache or serve cached pages to them.
    return settings.SESSION_COOKIE_NAME not in request.COOKIES and "HTTP_AUTHORIZATION" not in request.META


def _key(request, version: int) -> str:
    accept = request.META.get("HTTP_ACCEPT", "")
    raw = f"{request.method}|{request.get_full_path()}|{accept}"
    return f"page:{version}:{hashlib.sha256(raw.encode()).hexdigest()}"


def _lean_copy(response) -> HttpResponse:
    """The status, headers and bytes of a rendered response, and nothing else.

    A pickled DRF ``Response`` also carries its ``data`` (every serialized record again): the API
    funding list stored 370 kB for 53 kB of JSON, and unpickling that on every hit cost more
    than the hit saved.
    """
    lean = HttpResponse(response.content, status=response.status_code)
    for name, value in response.items():
        lean[name] = value
    return lean


class PublicPageCacheMiddleware:
    """Serve anonymous GETs of public pages and the API from the cache, keyed by content version."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.PAGE_CACHE_SECONDS or not _cacheable_request(request):
            return self.get_response(request)
        try:
            key = _key(request, content_version())
            cached = cache.get(key)
        except Exception:  # the cache is down: serve from the database
            logger.warning("Page cache unavailable", exc_info=True)
            return self.get_response(request)
        if cached is not None:
            cached["X-Cache"] = "hit"
            return cached
        response = self.get_response(request)
        if self._storable(response):
            if hasattr(response, "render") and callable(response.render) and not response.is_rendered:
                response.render()
            patch_vary_headers(response, ("Accept", "Cookie"))
            try:
                cache.set(key, _lean_copy(response), settings.PAGE_CACHE_SECONDS)
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
