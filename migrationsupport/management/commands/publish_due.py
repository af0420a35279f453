"""``manage.py publish_due``: publish every draft whose scheduled ``publish_at`` has come.

Meant for cron (e.g. every five minutes). Safe to run as often as wanted and in several places
at once: see ``migrationsupport.services.publish_due``.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from migrationsupport import services


class Command(BaseCommand):
    help = "Publish the drafts whose scheduled publication time has come."

    def handle(self, *args, **options):
        published = services.publish_due()
        if not published:
            if options["verbosity"] > 1:
                self.stdout.write("Nothing is due.")
            return
        for label, count in sorted(published.items()):
            self.stdout.write(f"Published {count} {label} record{'s' if count != 1 else ''}.")
