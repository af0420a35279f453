"""Stop with one clear sentence when the PostgreSQL server of DATABASE_URL cannot be reached."""

from __future__ import annotations

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Check that the configured PostgreSQL server answers (used by `make test`)."

    def handle(self, *args, **options):
        db = settings.DATABASES["default"]
        if db["ENGINE"] != "django.db.backends.postgresql":
            raise CommandError(
                "The test suite runs on PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name "
                f"(it is set to the {db['ENGINE'].rsplit('.', 1)[-1]} engine)."
            )
        where = f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"
        try:
            # The maintenance database: the test run creates its own test database next to it.
            psycopg.connect(
                dbname="postgres",
                user=db.get("USER") or None,
                password=db.get("PASSWORD") or None,
                host=db.get("HOST") or None,
                port=db.get("PORT") or None,
                connect_timeout=5,
            ).close()
        except psycopg.OperationalError as exc:
            raise CommandError(
                f"PostgreSQL is not reachable at {where} ({str(exc).strip().splitlines()[0]}): start it with "
                "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, "
                "or set DATABASE_URL to a PostgreSQL server you can reach."
            ) from exc
        self.stdout.write(f"PostgreSQL answers at {where}.")
