"""Smoke check of a freshly set-up site: the seed loaded once, and the home page answers."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client


class Command(BaseCommand):
    help = "Check that every fixture object is in the database exactly once and that / answers 200."

    def handle(self, *args, **options):
        expected: Counter[str] = Counter()
        for path in sorted(Path(settings.FIXTURE_DIRS[0]).glob("*.json")):
            expected.update(obj["model"] for obj in json.loads(path.read_text()))
        for label, count in sorted(expected.items()):
            found = apps.get_model(label).objects.count()
            if found != count:
                raise CommandError(f"{label}: {found} rows, the fixtures hold {count}.")
        response = Client(SERVER_NAME="localhost").get("/")
        if response.status_code != 200:
            raise CommandError(f"The home page answered {response.status_code}.")
        self.stdout.write(f"Smoke check passed: {sum(expected.values())} seed records, / answers 200.")
