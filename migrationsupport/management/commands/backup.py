"""``manage.py backup``: a consistent dump of the whole database, history included.

PostgreSQL: ``pg_dump --format=custom`` (one snapshot, so the dump is consistent while the site
keeps serving). SQLite: ``dumpdata`` with natural keys. Restore with ``manage.py restore FILE``.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from migrationsupport import asof
from migrationsupport.models import AsOfSnapshot


def pg_environment(db: dict) -> dict[str, str]:
    """libpq's environment for the configured database (the password never on a command line)."""
    env = {**os.environ, "PGDATABASE": db["NAME"]}
    for key, var in (("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD"), ("HOST", "PGHOST"), ("PORT", "PGPORT")):
        if db.get(key):
            env[var] = str(db[key])
    return env


class Command(BaseCommand):
    help = "Write a consistent dump of the database (pg_dump on PostgreSQL, dumpdata on SQLite)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", help="File to write (default: var/backups/<timestamp>.dump or .json)."
        )

    def handle(self, *args, output=None, **options):
        db = settings.DATABASES["default"]
        postgres = db["ENGINE"] == "django.db.backends.postgresql"
        stamp = datetime.datetime.now(tz=datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        path = Path(
            output or settings.BASE_DIR / "var" / "backups" / f"{stamp}.{'dump' if postgres else 'json'}"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        if postgres:
            result = subprocess.run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    # as_of snapshots are derived from the history and rebuilt when asked for.
                    f"--exclude-schema={asof.SCHEMA_PREFIX}*",
                    f"--exclude-table-data={AsOfSnapshot._meta.db_table}",
                    f"--file={path}",
                ],
                env=pg_environment(db),
                capture_output=True,
                text=True,
            )
            if result.returncode:
                raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        else:
            call_command(
                "dumpdata",
                natural_foreign=True,
                natural_primary=True,
                exclude=["contenttypes", "auth.permission", "sessions"],
                output=str(path),
                verbosity=0,
            )
        self.stdout.write(str(path))
