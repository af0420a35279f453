"""Smoke check of a freshly set-up site: the seed loaded once, and a page of each kind answers."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client

# One page of each kind, with the seed's records and the filters that join the most tables: the
# database-specific parts (ordering, search, totals) run on the SQLite default as well.
PAGES = (
    "/",
    "/regions/western-balkans/",
    "/countries/TR/",
    "/funding/?region=western-balkans&year=2024",
    "/funding/export.csv?region=western-balkans",
    "/agreements/",
    "/agreements/timeline/",
    "/documents/",
    "/search/?q=border",
    "/api/v1/funding/?region=western-balkans",
    "/api/v1/funding/totals/?group_by=region",
    # Every record type's objects (their to-many relations read with them on PostgreSQL only).
    "/api/v1/changes/?page_size=100",
    "/sitemap.xml",
    # Pledges followed through (the closure query has a form of its own for PostgreSQL).
    "/conferences/brussels-conference-viii-2024/",
    "/donors/eu/",
)


class Command(BaseCommand):
    help = "Check that every fixture object is in the database exactly once and that the pages answer 200."

    def handle(self, *args, **options):
        expected: Counter[str] = Counter()
        for path in sorted(Path(settings.FIXTURE_DIRS[0]).glob("*.json")):
            expected.update(obj["model"] for obj in json.loads(path.read_text()))
        for label, count in sorted(expected.items()):
            found = apps.get_model(label).objects.count()
            if found != count:
                raise CommandError(f"{label}: {found} rows, the fixtures hold {count}.")
        client = Client(SERVER_NAME="localhost")
        for page in PAGES:
            status = client.get(page).status_code
            if status != 200:
                raise CommandError(f"{page} answered {status}.")
        self.stdout.write(
            f"Smoke check passed: {sum(expected.values())} seed records, {len(PAGES)} pages answer 200."
        )
