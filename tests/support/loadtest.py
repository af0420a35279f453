"""``make loadtest`` (``python -m tests.support.loadtest``): 64 concurrent connections for 30 s on the
public pages and the API.

Serves the seed with gunicorn on loopback, in its own database (``<name>_loadtest``, dropped and
rebuilt, never the one DATABASE_URL names) with Redis as the shared cache, and drives it with wrk:
one run over the public pages, one over the API, and the pages again with the page cache off.
Every request of a run rotates through its list of addresses. The pass mark is zero socket errors
and zero answers outside 2xx/3xx (so zero 5xx); the command fails otherwise. Prints a Markdown
table (docs/reliability.md keeps the last one).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import django
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tests.support.bench import Command as BenchCommand
from tests.support.bench import first_group, parse_wrk
from tests.support.gunicorn import start_gunicorn

PAGES = [
    "/",
    "/regions/",
    "/regions/western-balkans/",
    "/countries/",
    "/funding/",
    "/funding/?region=western-balkans&year=2024",
    "/instruments/",
    "/agreements/",
    "/agreements/timeline/",
    "/documents/",
    "/themes/",
    "/search/?q=border",
]
API = [
    "/api/v1/funding/",
    "/api/v1/funding/?region=western-balkans",
    "/api/v1/agreements/",
    "/api/v1/countries/",
    "/api/v1/regions/",
    "/api/v1/documents/",
    "/api/v1/instruments/",
    "/api/v1/funding/?format=csv",
]

# wrk script: rotate through the addresses, count answers by class in every thread, and print
# the totals (wrk's own summary only says "Non-2xx or 3xx").
LUA = """
local paths = {%(paths)s}
local threads = {}
local counter = 0
function setup(thread) table.insert(threads, thread) end
function init(args) s2 = 0; s3 = 0; s4 = 0; s5 = 0 end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
function response(status, headers, body)
  if status >= 500 then s5 = s5 + 1 elseif status >= 400 then s4 = s4 + 1
  elseif status >= 300 then s3 = s3 + 1 else s2 = s2 + 1 end
end
function done(summary, latency, requests)
  local t2, t3, t4, t5 = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    t2 = t2 + t:get("s2"); t3 = t3 + t:get("s3"); t4 = t4 + t:get("s4"); t5 = t5 + t:get("s5")
  end
  io.write(string.format("STATUS 2xx=%%d 3xx=%%d 4xx=%%d 5xx=%%d\\n", t2, t3, t4, t5))
end
"""


@dataclass
class Run:
    name: str
    cache: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    ok: int
    client_errors: int
    server_errors: int
    errors: int  # socket errors + non-2xx/3xx, as wrk counts them


class Command(BaseCommand):
    help = "Hold 64 connections for 30 s on the public pages and the API (gunicorn + wrk); fail on any error."

    def add_arguments(self, parser):
        parser.add_argument("--duration", type=int, default=30, help="Seconds per run.")
        parser.add_argument("--connections", type=int, default=64)
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 1) * 2))
        parser.add_argument("--output", default="var/loadtest/results.md")

    def handle(self, *args, duration, connections, threads, workers, output, **options):
        db = settings.DATABASES["default"]
        if db["ENGINE"] != "django.db.backends.postgresql":
            raise CommandError("loadtest runs on PostgreSQL: set DATABASE_URL.")
        # The set-up steps of `manage.py bench`, pointed at a database of our own.
        setup = BenchCommand(stdout=self.stdout, stderr=self.stderr)
        self.wrk = setup._ensure_wrk()
        name = f"{db['NAME']}_loadtest"
        setup.bench_url = (
            f"postgres://{db['USER']}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"
        )
        self.setup = setup
        self.stdout.write(f"Building {name} with the seed...")
        setup._recreate_database(db, name)
        base = Path(settings.BASE_DIR)
        setup._manage("migrate", "--noinput", "-v0")
        setup._manage("loaddata", *sorted(str(p) for p in (base / "fixtures").glob("*.json")), "-v0")
        setup._manage("collectstatic", "--noinput", "-v0")

        runs = [
            self._run("public pages", PAGES, "warm", duration, connections, threads, workers),
            self._run("API", API, "warm", duration, connections, threads, workers),
            self._run("public pages", PAGES, "off", duration, connections, threads, workers),
        ]
        table = render(runs, connections, duration, workers)
        self.stdout.write(table)
        path = base / output
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(table)
        self.stdout.write(f"Written to {path}")
        failed = [run for run in runs if run.errors or run.server_errors]
        if failed:
            raise CommandError(f"{len(failed)} run(s) had errors or 5xx answers: see the table.")

    def _run(self, name, paths, cache, duration, connections, threads, workers) -> Run:
        env = self.setup._env(
            DJANGO_SETTINGS_MODULE="migrationsupport.settings",
            PAGE_CACHE_SECONDS="600" if cache == "warm" else "0",
            REDIS_URL=os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/13"),
            CACHE_KEY_PREFIX=f"loadtest-{name}-{cache}-{os.getpid()}".replace(" ", "-"),
        )
        args = ["--backlog", "2048", "--log-level", "warning"]
        with start_gunicorn(env=env, workers=workers, args=args) as server:
            for path in paths:  # every address answers before the load starts
                with urllib.request.urlopen(f"{server.url}{path}", timeout=30) as response:
                    response.read()
            lua = ", ".join(f'"{path}"' for path in paths)
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                script.write(LUA % {"paths": lua})
            try:
                result = subprocess.run(
                    [
                        self.wrk,
                        f"-t{threads}",
                        f"-c{connections}",
                        f"-d{duration}s",
                        "--timeout",
                        "10s",
                        "--latency",
                        "-s",
                        script.name,
                        server.url,
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=duration + 60,
                )
            finally:
                os.unlink(script.name)
        rps, p50, p99, errors = parse_wrk(result.stdout)
        counts = dict(re.findall(r"(\dxx)=(\d+)", result.stdout))
        total = int(first_group(r"(\d+) requests in", result.stdout))
        run = Run(
            name,
            cache,
            total,
            rps,
            p50,
            p99,
            int(counts["2xx"]) + int(counts["3xx"]),
            int(counts["4xx"]),
            int(counts["5xx"]),
            errors,
        )
        self.stdout.write(
            f"  {name:<13} cache {cache:<4} {total:7d} requests {rps:7.0f} req/s p99 {p99:6.1f} ms "
            f"5xx {run.server_errors} errors {run.errors}"
        )
        return run


def render(runs: list[Run], connections: int, duration: int, workers: int) -> str:
    lines = [
        f"{connections} connections, {duration} s per run, gunicorn with {workers} sync workers, "
        "seed data, Redis cache.",
        "",
        "| run | page cache | requests | req/s | p50 ms | p99 ms | 2xx/3xx | 4xx | 5xx | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        cells = (
            r.name,
            r.cache,
            r.requests,
            f"{r.rps:.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            r.ok,
            r.client_errors,
            r.server_errors,
            r.errors,
        )
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrationsupport.settings")
    django.setup()
    Command().run_from_argv(["manage.py", "loadtest", *sys.argv[1:]])


if __name__ == "__main__":
    main()
