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
