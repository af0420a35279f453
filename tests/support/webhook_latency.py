"""Publish → delivered: how long after a Publisher publishes does the webhook reach a receiver.

``python -m tests.support.webhook_latency [--records 50] [--burst]`` against DATABASE_URL (a
scratch database with the seed content, ``manage.py loaddata fixtures/*.json``). With
``TASK_QUEUE=1`` and ``REDIS_URL`` a worker must be running with the same DATABASE_URL, REDIS_URL
and ``WEBHOOKS_ALLOW_PRIVATE_TARGETS=1`` (``make worker``); without them every delivery is sent in
this process after its commit.

It starts a receiver on a free loopback port (tests/support/webhook_receiver.py), unpublishes
``--records`` published funding records, subscribes the receiver to "published", then publishes
them again: one at a time, each timed from the start of its publication to the arrival of its
signed webhook at the receiver; with ``--burst`` all of them in a row first, each still timed
from its own publication. The subscription and its deliveries are deleted at the end and the
records are left published, as they were.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import django


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--burst", action="store_true", help="publish them all, then wait")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for a delivery")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrationsupport.settings")
    os.environ["WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "1"
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from standardwebhooks import Webhook

    from funding.models import FundingRecord
    from migrationsupport import services
    from migrationsupport.webhooks.models import Subscription
    from tests.support.webhook_receiver import Receiver

    records = list(FundingRecord.objects.published().order_by("pk")[: args.records])
    if len(records) < args.records:
        raise SystemExit(f"Only {len(records)} published funding records in this database.")
    owner, _ = get_user_model()._default_manager.get_or_create(
        username="webhook-latency", defaults={"is_staff": True}
    )
    for record in records:
        services.unpublish(instance=record, user=None)

    with Receiver() as receiver:
        subscription = Subscription.objects.create(
            owner=owner,
            name="latency",
            target_url=receiver.url,
            events=["published"],
            record_types=["funding"],
        )
        started: dict[str, float] = {}
        try:
            for number, record in enumerate(records, start=1):
                started[record.slug] = time.time()
                with transaction.atomic():
                    services.publish(instance=record, user=None)
                if not args.burst:
                    receiver.wait_for(number, timeout=args.timeout)
            arrived = receiver.wait_for(len(records), timeout=args.timeout)
        finally:
            subscription.delete()
        if len(arrived) < len(records):
            raise SystemExit(f"{len(arrived)} of {len(records)} delivered in time (is a worker running?)")
        verifier = Webhook(subscription.secret)
        latencies = []
        for request in arrived:
            body = verifier.verify(request.body, request.headers)
            latencies.append((request.at - started[body["data"]["id"]]) * 1000)

    queue = "on" if os.environ.get("TASK_QUEUE") in {"1", "true"} else "off"
    mode = "burst" if args.burst else "one at a time"
    print(
        f"task queue {queue}, {len(latencies)} publications {mode}: publish → delivered "
        f"p50 {statistics.median(latencies):.0f} ms, p95 {percentile(latencies, 0.95):.0f} ms, "
        f"max {max(latencies):.0f} ms"
    )


if __name__ == "__main__":
    main()
