"""``make bench`` (``python -m tests.support.bench``): throughput, latency, queries and memory of
the public pages and the API.

Runs, back to back on this machine, a hello-world Django view and a view that makes one query
for one row (same settings and middleware: the ceilings of any page), the overview, a region
page, the funding explorer with a filter and the API funding list, at the seed size and with +N
synthetic funding records, each with a warm page cache and with caching off (the baselines
again after every ``BASELINE_EVERY`` pages and at the end: each page is compared with them as
measured around it). It serves with
gunicorn (2 workers), loads with wrk (``make bench`` installs it), and prints a Markdown
table. With a streaming replica (``BENCH_REPLICA_URL``, which ``make bench`` sets after starting
tests/support/replica.sh) it adds a run with caching off whose reads go to the replica
(``DATABASE_REPLICA_URLS``): the same 2 app processes, one primary and one replica. The data
lives in its own database (``<name>_bench``, dropped and rebuilt),
never in the one DATABASE_URL names. It is a Django management command run from here rather
than registered by an app, so the product carries no benchmark code; its app processes use
``tests.support.bench_settings``, the only settings that route the two baseline views.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import dj_database_url
import django
import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.support.gunicorn import start_gunicorn
from tests.support.timings import machine_probe, probe_line

BENCH_SETTINGS = "tests.support.bench_settings"
#: The "cache" column of the run whose reads go to the replica (caching off).
REPLICA_RUN = "off, replica"
PAGES = [
    ("hello-world view", "/bench/hello/"),
    # The ceiling of a page that reads the database at all: one query for one row, no template.
    ("one-query view", "/bench/one-query/"),
    ("overview", "/"),
    ("region page", "/regions/western-balkans/"),
    ("funding explorer, filtered", "/funding/?region=western-balkans&year=2024"),
    ("API funding list", "/api/v1/funding/?region=western-balkans"),
]
#: The baselines are measured again after every this many pages of a run, and at its end: each
#: page is compared with them as measured around it. A run of ``--pages all`` lasts minutes, and
#: this machine's speed moved by half within one (7 December 2026: the probe read 71 ms before the
#: runs and 109 after them; with the cache on at +100 000, 16 of the 19 pages below 0.8 of a
#: hello-world view measured at the start of the run were the API answers, measured last).
BASELINE_EVERY = 10
#: An API record's own address (``/api/v1/<list>/<key>/``), which ``--pages all`` leaves out.
_API_DETAIL = re.compile(r"/api/v1/(?!funding/totals/)[^/]+/[^/?]+/")


def every_kind() -> list[tuple[str, str]]:
    """``--pages all``: the baselines, then one address of every HTML page kind and every API
    list (issue 16, point 3), chosen as ``tests.support.timings`` chooses them (the record of
    each kind with the most linked records), the explorer, the API list and the totals filtered
    by the largest region, the explorer's and the API list's last pages. Needs Django set up on
    the data to measure."""
    from tests.support.timings import addresses, filter_values

    region = filter_values()["region"]
    paths = [
        path
        for path in addresses(pairs=False)
        if not _API_DETAIL.fullmatch(path) and ("?" not in path or path.startswith("/search/"))
    ]
    paths += [f"/funding/?region={region}", f"/api/v1/funding/?region={region}"]
    paths += ["/funding/?page=last", "/api/v1/funding/?page=last"]
    paths.append(f"/api/v1/funding/totals/?region={region}")
    # The API's text search for a word every demo record holds (counted up to 1 000).
    paths.append("/api/v1/funding/?search=funding")
    return [*PAGES[:2], *((path, path) for path in paths)]


@dataclass
class Result:
    size: str
    cache: str
    page: str
    rps: float
    p50_ms: float
    p99_ms: float
    queries: int
    worker_mb: float
    errors: int
    #: Its place in its run (the baselines measured around it are compared with it).
    order: int = 0


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def first_group(pattern: str, text: str) -> str:
    """Group 1 of the first match of ``pattern`` in a tool's output; ``ValueError`` if none."""
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"{pattern!r} not found in: {text[:1000]}")
    return match.group(1)


def parse_wrk(output: str) -> tuple[float, float, float, int]:
    rps = float(first_group(r"Requests/sec:\s+([\d.]+)", output))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s))", output, re.M))

    def to_ms(text: str) -> float:
        match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
        if match is None:
            raise ValueError(f"Not a wrk duration: {text!r}")
        value, unit = match.groups()
        return _ms(value, unit)

    errors = 0
    for match in re.finditer(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        errors += int(match.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return rps, to_ms(latency["50"]), to_ms(latency["99"]), errors


class Command(BaseCommand):
    help = "Benchmark pages and API against a hello-world view with gunicorn and wrk."

    def add_arguments(self, parser):
        parser.add_argument("--extra", type=int, default=100_000, help="Synthetic funding records to add.")
        parser.add_argument("--duration", type=int, default=10, help="Seconds of load per page.")
        parser.add_argument("--connections", type=int, default=8)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--output", default="var/bench/results.md")
        parser.add_argument(
            "--pages",
            choices=("core", "all"),
            default="core",
            help="core: the baselines and four pages; all: every page kind and API list "
            "(``every_kind``, about 48 addresses: use a short --duration).",
        )
        parser.add_argument(
            "--timing-runs",
            type=int,
            default=3,
            help="At +N records, time every page kind and API endpoint in process (median of this "
            "many, tests/support/timings.py) and report the slowest ten; 0: skip.",
        )
        parser.add_argument(
            "--replica-url",
            default=os.environ.get("BENCH_REPLICA_URL", ""),
            help="A streaming replica of DATABASE_URL's server (only host and port are used); "
            "empty: no replica run.",
        )

    def handle(
        self, *args, extra, duration, connections, workers, output, replica_url, timing_runs, pages, **options
    ):
        db = settings.DATABASES["default"]
        if db["ENGINE"] != "django.db.backends.postgresql":
            raise CommandError("bench runs on PostgreSQL: set DATABASE_URL.")
        self.wrk = self._ensure_wrk()
        started = machine_probe()
        bench_db = f"{db['NAME']}_bench"
        self.bench_url = (
            f"postgres://{db['USER']}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{bench_db}"
        )
        self._recreate_database(db, bench_db)
        self.replica_url = ""
        if replica_url:
            replica = dj_database_url.parse(replica_url)
            self.replica_url = f"postgres://{db['USER']}@{replica['HOST']}:{replica['PORT']}/{bench_db}"
        base = Path(settings.BASE_DIR)
        self._manage("migrate", "--noinput", "-v0")
        self._manage("loaddata", *sorted(str(p) for p in (base / "fixtures").glob("*.json")), "-v0")
        self._manage("collectstatic", "--noinput", "-v0")

        results: list[Result] = []
        for size in ("seed", f"+{extra:,}".replace(",", " ")):
            if size != "seed":
                self.stdout.write(f"Adding {extra} synthetic funding records...")
                self._manage("generate_demo_data", "--funding", str(extra), "-v0")
                # Fresh planner statistics, as autovacuum would give a real database in time:
                # right after a bulk load PostgreSQL still plans for the seed's few rows.
                self._analyze()
            self.pages = PAGES if pages == "core" else self._every_kind()
            for cache in ("warm", "off"):
                queries = self._query_counts(cache)
                results += self._run(size, cache, queries, duration, connections, workers)
            if self.replica_url:
                self._wait_for_replica()
                # Same queries as "off", made on the replica.
                results += self._run(size, REPLICA_RUN, queries, duration, connections, workers)
        table = render(results) + "\n" + probe_line(started, "at the start")
        table += probe_line(machine_probe(), "after the runs")
        if timing_runs:
            table += "\n" + self._slowest(timing_runs)
        self.stdout.write(table)
        path = base / output
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(table)
        self.stdout.write(f"Written to {path}")

    # --- set-up ---------------------------------------------------------------------------

    def _ensure_wrk(self) -> str:
        found = shutil.which("wrk")
        if not found:
            raise CommandError("wrk is not installed: `make bench` installs it (apt-get install wrk).")
        return found

    def _recreate_database(self, db, name: str) -> None:
        connections.close_all()
        with psycopg.connect(
            dbname="postgres",
            user=db.get("USER") or None,
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            password=db.get("PASSWORD") or None,
            autocommit=True,
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')

    def _wait_for_replica(self, timeout: float = 120) -> None:
        """Until the replica has replayed the bench database as the primary has it now."""
        with psycopg.connect(self.bench_url, autocommit=True) as primary:
            row = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
            assert row is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.replica_url, autocommit=True, connect_timeout=2) as replica:
                    done = replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", row).fetchone()
                    if done and done[0]:
                        return
            except psycopg.OperationalError:
                pass  # the bench database is not replayed yet
            time.sleep(0.5)
        raise CommandError(f"The replica ({self.replica_url}) did not catch up in {timeout} s.")

    def _analyze(self) -> None:
        with psycopg.connect(self.bench_url, autocommit=True) as conn:
            conn.execute("ANALYZE")

    def _env(self, **extra) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.bench_url,
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-key-not-for-production",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SETTINGS_MODULE": BENCH_SETTINGS,
            # The anonymous throttles would answer 429 under the load itself.
            "API_ANON_RATE": "1000000/second",
            "EXPENSIVE_ANON_RATE": "1000000/second",
            "EXPORT_ANON_RATE": "1000000/second",
            "LOG_LEVEL": "WARNING",
            **extra,
        }

    @staticmethod
    def _cache_env(cache: str, *, prefix: str) -> dict[str, str]:
        """The page cache in Redis ("warm"; the settings refuse it without Redis), or none ("off")."""
        if cache != "warm":
            return {"PAGE_CACHE_SECONDS": "0"}
        redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
        return {"PAGE_CACHE_SECONDS": "600", "REDIS_URL": redis_url, "CACHE_KEY_PREFIX": prefix}

    def _slowest(self, runs: int) -> str:
        """The slowest ten addresses built in process, page cache off (tests/support/timings.py)."""
        self.stdout.write("Timing every page kind and API endpoint in process...")
        out = subprocess.run(
            [sys.executable, "-m", "tests.support.timings", "--runs", str(runs), "--top", "10"],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            cwd=settings.BASE_DIR,
            env=self._env(DJANGO_SETTINGS_MODULE="migrationsupport.settings", PAGE_CACHE_SECONDS="0"),
        ).stdout
        return out[out.index("Slowest") :]

    def _manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args], check=True, env=self._env(), cwd=settings.BASE_DIR
        )

    def _every_kind(self) -> list[tuple[str, str]]:
        """``every_kind()`` on the bench database, worked out in a child process."""
        code = (
            "import json, django; django.setup()\n"
            "from tests.support.bench import every_kind\n"
            "print(json.dumps(every_kind()))\n"
        )
        out = self._child(code, env=self._env(DJANGO_SETTINGS_MODULE="migrationsupport.settings"))
        return [tuple(page) for page in json.loads(out.strip().splitlines()[-1])]

    def _child(self, code: str, env: dict[str, str]) -> str:
        return subprocess.run(
            [sys.executable, "-c", code],
            check=True,
            stdout=subprocess.PIPE,  # stderr passes through: a failing page shows its traceback
            text=True,
            cwd=settings.BASE_DIR,
            env=env,
        ).stdout

    def _query_counts(self, cache: str) -> dict[str, int]:
        """Queries of one request per page (after a first one), measured in a child process."""
        code = (
            "import json, django; django.setup()\n"
            "from tests.support.bench import count_queries\n"
            f"print(json.dumps(count_queries({[p for _, p in self.pages]!r})))\n"
        )
        out = self._child(
            code, env=self._env(**self._cache_env(cache, prefix=f"bench-queries-{cache}-{os.getpid()}"))
        )
        return json.loads(out.strip().splitlines()[-1])

    # --- runs -----------------------------------------------------------------------------

    def _run(self, size, cache, queries, duration, connections, workers) -> list[Result]:
        if cache == REPLICA_RUN:
            env = self._env(**self._cache_env("off", prefix=""), DATABASE_REPLICA_URLS=self.replica_url)
        else:
            env = self._env(
                **self._cache_env(cache, prefix=f"bench-{size}-{cache}-{os.getpid()}".replace(" ", "")),
            )
        results: list[Result] = []
        baselines, pages = self.pages[:2], self.pages[2:]
        # The baselines first, after every BASELINE_EVERY pages, and last.
        order = [*baselines]
        for start in range(0, len(pages), BASELINE_EVERY):
            order += [*pages[start : start + BASELINE_EVERY], *baselines]
        with start_gunicorn(env=env, workers=workers, args=["--log-level", "warning"]) as server:
            for label, path in order:
                url = f"{server.url}{path}"
                for _ in range(20):  # warm up: imports, connections, the cache
                    urllib.request.urlopen(url, timeout=30).read()
                run = subprocess.run(
                    [self.wrk, "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                rps, p50, p99, errors = parse_wrk(run.stdout)
                peak = _worker_peak_mb(server.pid)
                results.append(
                    Result(size, cache, label, rps, p50, p99, queries[path], peak, errors, len(results))
                )
                self.stdout.write(f"  {size:>10} {cache:>4} {label:<28} {rps:8.0f} req/s  p99 {p99:6.1f} ms")
        return results


def count_queries(paths: list[str]) -> dict[str, int]:
    from django.db import connection

    client = Client(SERVER_NAME="127.0.0.1")
    counts = {}
    for path in paths:
        client.get(path)  # first request opens the connection
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        if response.status_code != 200:
            raise CommandError(f"{path} answered {response.status_code}")
        counts[path] = len(ctx.captured_queries)
    return counts


def _worker_peak_mb(master_pid: int) -> float:
    """The largest peak resident memory (VmHWM) among the master's worker processes."""
    peak = 0.0
    for child in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split():
        status = Path(f"/proc/{child}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            peak = max(peak, int(match.group(1)) / 1024)
    return peak


def baseline_at(results: list[Result], page: Result, baseline: str) -> float | None:
    """The ``baseline`` view's throughput at ``page``'s place in its run: between the
    measurements just before and just after it, in proportion to its place between them (the
    one there is at either end; None if the run has none)."""
    runs = [r for r in results if (r.size, r.cache, r.page) == (page.size, page.cache, baseline)]
    before = [r for r in runs if r.order <= page.order]
    after = [r for r in runs if r.order >= page.order]
    if not runs:
        return None
    if not before or not after:
        return (before[-1] if before else after[0]).rps
    low, high = before[-1], after[0]
    if high.order == low.order:
        return low.rps
    share = (page.order - low.order) / (high.order - low.order)
    return low.rps + (high.rps - low.rps) * share


def render(results: list[Result]) -> str:
    """The table: each page's throughput against the hello-world view and the one-query view
    measured around it in the same run (``baseline_at``; point 3: cache off against the
    one-query view, warm against hello-world). The baselines' own rows show how the machine's
    speed moved during the run."""
    header = (
        "data",
        "cache",
        "page",
        "req/s",
        "p50 ms",
        "p99 ms",
        "queries",
        "worker MB",
        "vs hello",
        "vs one-query",
        "errors",
    )
    lines = ["| " + " | ".join(header) + " |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        bases = (baseline_at(results, r, PAGES[0][0]), baseline_at(results, r, PAGES[1][0]))
        ratios = [f"{r.rps / base:.3f}" if base else "" for base in bases]
        cells = (r.size, r.cache, r.page, f"{r.rps:.0f}", f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}", r.queries)
        lines.append("| " + " | ".join(map(str, (*cells, f"{r.worker_mb:.0f}", *ratios, r.errors))) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrationsupport.settings")
    django.setup()
    Command().run_from_argv(["manage.py", "bench", *sys.argv[1:]])


if __name__ == "__main__":
    main()
