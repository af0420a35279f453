"""``manage.py restore FILE``: bring a backup back into an empty database."""

from __future__ import annotations

import subprocess

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from .backup import pg_environment


class Command(BaseCommand):
    help = "Restore a dump written by `manage.py backup` into an empty database."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        db = settings.DATABASES["default"]
        tables = connection.introspection.table_names()
        if db["ENGINE"] == "django.db.backends.postgresql":
            if tables:
                raise CommandError(
                    f"The database {db['NAME']} is not empty ({len(tables)} tables): restore into a new, "
                    "empty database (createdb), so nothing is overwritten."
                )
            connection.close()
            result = subprocess.run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={db['NAME']}",
                    file,
                ],
                env=pg_environment(db),
                capture_output=True,
                text=True,
            )
            if result.returncode:
                raise CommandError(f"pg_restore failed: {result.stderr.strip()}")
        else:
            # dumpdata output: migrate the empty database, then load (natural keys, in one transaction).
            call_command("migrate", verbosity=0, interactive=False)
            call_command("loaddata", file, verbosity=0)
        self.stdout.write(f"Restored {file} into {db['NAME']}.")
