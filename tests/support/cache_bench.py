"""The cost of the two Redis reads of a cached page (the content version, then a 50 kB page) with
Django's own Redis backend and with django-redis, in one process on the same Redis.

    PYTHONPATH=. DEBUG=1 .venv/bin/python -m tests.support.cache_bench [redis://127.0.0.1:6379/12]
"""

from __future__ import annotations

import os
import statistics
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrationsupport.settings")
    import django

    django.setup()
    from django.core.cache.backends.redis import RedisCache
    from django_redis.cache import RedisCache as DjangoRedisCache

    url = sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/12"
    backends = {"Django's RedisCache": RedisCache(url, {}), "django-redis": DjangoRedisCache(url, {})}
    for name, cache in backends.items():
        cache.set("cache-bench-version", 123)
        cache.set("cache-bench-page", b"x" * 50_000)
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(5000):
                cache.get("cache-bench-version")
                cache.get("cache-bench-page")
            runs.append((time.perf_counter() - start) / 5000 * 1000)
        cache.delete_many(["cache-bench-version", "cache-bench-page"])
        print(f"{name}: {statistics.median(runs):.3f} ms per read pair (median of 5 x 5000)")


if __name__ == "__main__":
    main()


def counted_hit() -> None:
    """What counting an anonymous API answer adds to a cache hit (issue 16, point 8): the content
    version read alone, against the version read and the rate counter in one Redis script call.

    PYTHONPATH=. DEBUG=1 REDIS_URL=redis://127.0.0.1:6379/12 PAGE_CACHE_SECONDS=600 \\
        .venv/bin/python -c "from tests.support.cache_bench import counted_hit; counted_hit()"
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrationsupport.settings")
    import django

    django.setup()
    from django.test import RequestFactory

    from migrationsupport import cache

    request = RequestFactory().get("/api/v1/funding/", REMOTE_ADDR="192.0.2.1")
    cache.content_version()
    timings: dict[str, list[float]] = {"version read (a hit before)": [], "version read + counter": []}
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(5000):
            cache.content_version()
        timings["version read (a hit before)"].append((time.perf_counter() - start) / 5000 * 1e6)
        start = time.perf_counter()
        for _ in range(5000):
            cache._version_and_api_count(request)
        timings["version read + counter"].append((time.perf_counter() - start) / 5000 * 1e6)
    for name, runs in timings.items():
        print(f"{name}: {statistics.median(runs):.1f} µs (median of 7 x 5000)")
