"""The API's fast paths against DRF's own, in one process (docs/performance.md, 3 December 2026).

``python -m tests.support.api_fast_paths ADDRESS...`` against DATABASE_URL: for each address, the
median (``RUNS``, default 7) wall and process CPU time of the old path (``RecordPlan.plan`` giving
None, the totals' ``to_representation`` DRF's) then of the new one, the queries, the size and
whether both bodies are the same bytes. One process, one after the other: on a shared machine
the CPU time compares what wall time cannot.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import django


def measure(client, path: str, runs: int) -> tuple[float, float, int, bytes]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)
    wall, cpu = [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            start, start_cpu = time.perf_counter(), time.process_time()
            body = client.get(path).getvalue()
            cpu.append((time.process_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
    return statistics.median(wall), statistics.median(cpu), len(queries.captured_queries), body


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrationsupport.settings")
    os.environ["PAGE_CACHE_SECONDS"] = "0"
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    for rate in ("API_ANON_RATE", "EXPENSIVE_ANON_RATE", "EXPORT_ANON_RATE"):
        os.environ[rate] = "1000000/second"
    django.setup()
    import pytest
    from django.test import Client

    from funding.serializers import FundingPartSerializer, FundingTotalSerializer
    from migrationsupport.api import records
    from migrationsupport.api.records import RecordPlan
    from migrationsupport.serializers import ApiConventionsMixin

    client = Client(SERVER_NAME="127.0.0.1")
    runs = int(os.environ.get("RUNS", "7"))
    print("| address | old wall | new wall | old CPU | new CPU | queries old/new | bytes | same |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for path in sys.argv[1:]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(RecordPlan, "plan", classmethod(lambda cls, *args, **kwargs: None))
            patch.setattr(records, "_public_plans", {})  # none kept from, or for, the new path
            for serializer in (FundingTotalSerializer, FundingPartSerializer):
                patch.setattr(serializer, "to_representation", ApiConventionsMixin.to_representation)
            old_wall, old_cpu, old_queries, old_body = measure(client, path, runs)
        wall, cpu, queries, body = measure(client, path, runs)
        print(
            f"| `{path}` | {old_wall:.0f} | {wall:.0f} | {old_cpu:.1f} | {cpu:.1f} | "
            f"{old_queries}/{queries} | {len(body)} | {old_body == body} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
