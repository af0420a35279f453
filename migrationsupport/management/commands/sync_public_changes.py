"""``sync_public_changes``: make the change log agree with what is published.

Records made without signals (``bulk_create``, ``QuerySet.update``, SQL) have no public change
rows; this adds a baseline row for each published record the log does not show as public and a
deletion row for each it shows as public that no longer is, so replaying ``/api/v1/changes/``
from the start gives the published data (``changes.sync_public_changes``). Safe to run again.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from migrationsupport.changes import sync_public_changes


class Command(BaseCommand):
    help = "Add the public change rows missing for records written without signals."

    def handle(self, *args, **options):
        added = sync_public_changes()
        for label, count in added.items():
            self.stdout.write(f"{label}: {count}")
        if not added:
            self.stdout.write("Nothing to add.")
