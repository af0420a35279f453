"""Statements this site runs again and again are parsed and planned once per connection (PostgreSQL
with psycopg 3; docs/performance.md, "prepared statements").

PostgreSQL plans every statement it is sent, and for this site's joined queries planning often
takes longer than running them (a funding list's page: 1.8 ms of planning, 3.2 ms of running at
+100 000 records). Django binds parameters into the SQL text on the client (psycopg's
``ClientCursor``), and psycopg never prepares such a cursor's statements. ``PreparingCursor`` is
Django's cursor with psycopg's automatic preparation turned back on: a statement whose text this
connection has already run ``DB_PREPARE_THRESHOLD`` times is prepared, then executed by name.

Its values are part of its text, so it is prepared with no parameters: PostgreSQL plans it for
exactly those values, as it does now, and never swaps in a generic plan chosen for other values
(which server-side binding would risk for filters as uneven as ``amount >= x``). A page's fixed
statements (its lists, the published regions, the stored totals' lookups) are prepared after a
few requests; a statement with values never seen on the connection is run as before. psycopg keeps
at most 100 prepared statements a connection (least recently used first out) and drops them all
after this connection rolls back or runs a ``DROP``/``ALTER``; PostgreSQL plans a statement again
when a table it reads changes (``ANALYZE``, a new column), but refuses to run it once a column it
returns has changed type ("cached plan must not change result type"): reload the workers after
such a migration (docs/deployment.md). Never prepared: executemany()'s statements, and any while
a request reads an ``as_of`` snapshot's schema.

Off (``DB_PREPARE_THRESHOLD`` empty) behind PgBouncer in transaction mode before 1.22, which
keeps no prepared statement across transactions (docs/deployment.md).
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.db.backends.signals import connection_created


def install(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: this connection prepares the statements it repeats."""
    threshold = settings.DB_PREPARE_THRESHOLD
    if connection.vendor != "postgresql" or threshold is None:
        return
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return
    connection.connection.cursor_factory = _cursor_class()
    connection.connection.prepare_threshold = threshold


@cache
def _cursor_class():
    # Imported here: the PostgreSQL backend needs psycopg, which SQLite development does without.
    # The two methods override psycopg's private ones (pinned below 3.4, tests/migrationsupport/
    # test_prepared.py checks both the statements prepared and their answers).
    from django.db.backends.postgresql.base import Cursor
    from psycopg import pq
    from psycopg._preparing import Prepare

    from . import asof

    class PreparingCursor(Cursor):
        """Django's client-side binding cursor whose repeated statements psycopg prepares."""

        def _get_prepared(self, pgq, prepare=None):
            # executemany() runs its statements in a pipeline, or without one asks for each to be
            # prepared at once: here each row's values make another statement, never run again.
            # Nor while a request reads an ``as_of`` snapshot: the same text then names that
            # schema's tables, whose columns may be of another type than today's.
            if prepare or self._conn._pipeline or asof.reading_the_past():
                return Prepare.NO, b""
            return self._conn._prepared.get(pgq, prepare)

        def _send_query_prepared(self, name, pgq, *, binary=None):
            # The values are in the statement's text: it runs with none (a client-side query's
            # ``params`` are those values again, as literals).
            self._query = pgq  # what Django logs as the statement run (``last_executed_query``)
            self._pgconn.send_query_prepared(name, None, result_format=pq.Format.TEXT)

    return PreparingCursor


def connect() -> None:
    connection_created.connect(install, dispatch_uid="prepared-statements", weak=False)
