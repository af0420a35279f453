"""Timestamps read by psycopg's C loader (PostgreSQL with psycopg 3).

Django reads every ``timestamptz`` through a loader of its own (``psycopg_any.BaseTzLoader``):
psycopg's pure-Python parser, then the time zone put in. At ~3.7 µs a value against psycopg's
C loader's fraction of one, that was ~4 ms of a region page's CPU at +100 000 records (two per
record shown: created and updated; docs/performance.md). ``FastTzLoader`` gives the same value:
psycopg's own loader (C when ``psycopg[binary]`` is installed) parses it in the session's time
zone, which Django sets to the connection's (UTC with ``USE_TZ``), and the time zone is put in
as Django's loader puts it (None: a naive value) only when it is another one.
"""

from __future__ import annotations

from django.db.backends.signals import connection_created


def install(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: this connection reads timestamps with ``FastTzLoader``."""
    if connection.vendor != "postgresql":
        return
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader
    from psycopg import adapters
    from psycopg.postgres import types
    from psycopg.pq import Format

    native = adapters.get_loader(types["timestamptz"].oid, Format.TEXT)

    class FastTzLoader(BaseTzLoader):
        # What Django's loader of this connection has: create_cursor() compares it.
        timezone = connection.timezone

        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self._native = native(oid, context)

        def load(self, data):
            value = self._native.load(data)
            return value if value.tzinfo is self.timezone else value.replace(tzinfo=self.timezone)

    connection.connection.adapters.register_loader("timestamptz", FastTzLoader)


def connect() -> None:
    connection_created.connect(install, dispatch_uid="fast-timestamptz", weak=False)
