"""How long an officer's save waits, and when the stored funding totals are current again.

``python -m tests.support.save_latency [--saves 3]`` against DATABASE_URL (usually a database
with ``generate_demo_data --funding 100000``): saves one published funding record ``--saves``
times, each in its own transaction, and prints how long the save took (with ``TASK_QUEUE=0`` it
includes the rebuild that follows the commit) and when ``funding.rollup.stored_rows`` answered
again. With ``TASK_QUEUE=1`` and ``REDIS_URL`` a worker must be running (``make worker``).
It edits the record's title (a trailing ``*`` added and removed): use a scratch database.
"""

from __future__ import annotations

import argparse
import os
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for current totals")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrationsupport.settings")
    django.setup()
    from django.db import transaction

    from funding import rollup
    from funding.models import FundingRecord

    rollup.rebuild()
    record = FundingRecord.objects.published().order_by("pk").first()
    if record is None:
        raise SystemExit("No published funding record in this database.")
    for number in range(args.saves):
        start = time.perf_counter()
        with transaction.atomic():
            record.title = record.title.rstrip("*") + ("*" if number % 2 == 0 else "")
            record.save()
        saved = time.perf_counter() - start
        while rollup.stored_rows(None) is None:
            if time.perf_counter() - start > args.timeout:
                raise SystemExit(
                    f"The totals were not current after {args.timeout:.0f} s (is a worker running?)"
                )
            time.sleep(0.05)
        current = time.perf_counter() - start
        queue = "on" if os.environ.get("TASK_QUEUE") in {"1", "true"} else "off"
        print(f"task queue {queue}: save returned in {saved * 1000:.0f} ms, ", end="")
        print(f"totals current after {current * 1000:.0f} ms")


if __name__ == "__main__":
    main()
