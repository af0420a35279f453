"""``manage.py prune_as_of_snapshots``: drop the as_of snapshot schemas past
``AS_OF_MAX_SNAPSHOTS`` (least recently used first) and any left by a build cut short
(migrationsupport/asof.py). Building a snapshot prunes too; this is for cron, or ``--keep 0``
after a restore of the history, which changes what past snapshots should hold."""

from django.core.management.base import BaseCommand

from migrationsupport import asof


class Command(BaseCommand):
    help = "Drop the least recently used as_of snapshot schemas past AS_OF_MAX_SNAPSHOTS."

    def add_arguments(self, parser):
        parser.add_argument("--keep", type=int, default=None, help="Keep this many (default: the setting).")

    def handle(self, *args, keep: int | None, **options):
        if not asof.enabled():
            self.stdout.write("as_of snapshots need PostgreSQL; this database has none.")
            return
        dropped = asof.prune(keep)
        for schema in dropped:
            self.stdout.write(f"Dropped {schema}")
        self.stdout.write(f"Dropped {len(dropped)} snapshot(s).")
