"""The address of the test database, for the processes tests start (a worker, gunicorn, a script
through PgBouncer): the same database the test itself uses."""

from __future__ import annotations

from django.db import connection


def child_database_url(*, host: str | None = None, port: int | str | None = None) -> str:
    """``postgres://user@host:port/name`` of the test database; ``host``/``port`` put something
    in front of it (a proxy, PgBouncer)."""
    db = connection.settings_dict
    host = host or db["HOST"] or "127.0.0.1"
    port = port or db["PORT"] or 5432
    return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"
