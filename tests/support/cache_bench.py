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


def counted_served_hit(path: str = "/api/v1/funding/", rounds: int = 5, seconds: int = 5) -> None:
    """Issue 16, point 8, as the site serves it: a cached anonymous API answer through gunicorn
    (one worker) under wrk, counted against the API's rate, against the same answer from a
    second gunicorn whose settings turn the rate off (``tests.support.uncounted_settings``).
    Both run at once and are loaded in turn; the measure is each worker's CPU time (user +
    system, from /proc) per request, which other jobs on the machine do not inflate as they do
    the wall clock, and req/s for reference.

    DATABASE_URL=… PYTHONPATH=. .venv/bin/python -c \
        "from tests.support.cache_bench import counted_served_hit; counted_served_hit()"
    """
    import shutil
    import subprocess
    import urllib.request
    from pathlib import Path

    from tests.support.bench import first_group
    from tests.support.gunicorn import start_gunicorn

    ticks = os.sysconf("SC_CLK_TCK")

    def worker_cpu(master: int) -> float:
        (child,) = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    wrk = shutil.which("wrk")
    assert wrk, "wrk is not installed: make bench-deps"
    base = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-key-not-for-production",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        "PAGE_CACHE_SECONDS": "600",
        "API_ANON_RATE": "1000000/second",
        "CACHE_KEY_PREFIX": f"served-hit-{os.getpid()}",
        "LOG_LEVEL": "WARNING",
    }
    kinds = {
        "not counted": {**base, "DJANGO_SETTINGS_MODULE": "tests.support.uncounted_settings"},
        "counted": {**base, "DJANGO_SETTINGS_MODULE": "migrationsupport.settings"},
    }
    servers = {
        name: start_gunicorn(env=env, workers=1, args=["--log-level", "warning"])
        for name, env in kinds.items()
    }
    cpu: dict[str, list[float]] = {name: [] for name in kinds}
    rps: dict[str, list[float]] = {name: [] for name in kinds}
    try:
        for name, server in servers.items():
            for _ in range(20):  # imports, connections, the cached answer
                with urllib.request.urlopen(f"{server.url}{path}", timeout=30) as answer:
                    headers = answer.headers
            assert headers["X-Cache"] == "hit", headers
            assert ("X-RateLimit-Remaining" in headers) == (name == "counted"), headers
        for _ in range(rounds):
            for name, server in servers.items():
                before = worker_cpu(server.pid)
                run = subprocess.run(
                    [wrk, "-t1", "-c4", f"-d{seconds}s", f"{server.url}{path}"],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                used = worker_cpu(server.pid) - before
                requests = int(first_group(r"(\d+) requests in", run.stdout))
                assert "Non-2xx" not in run.stdout, run.stdout
                cpu[name].append(used / requests * 1e6)
                rps[name].append(float(first_group(r"Requests/sec:\s+([\d.]+)", run.stdout)))
    finally:
        for server in servers.values():
            server.stop()
    medians = {name: statistics.median(values) for name, values in cpu.items()}
    for name in kinds:
        print(
            f"{name}: {medians[name]:.0f} µs of worker CPU per request, "
            f"{statistics.median(rps[name]):.0f} req/s (median of {rounds} x {seconds} s)"
        )
    print(f"ratio counted / not counted (CPU per request): {medians['counted'] / medians['not counted']:.3f}")
