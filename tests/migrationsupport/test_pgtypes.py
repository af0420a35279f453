"""Timestamps read by psycopg's C loader give what Django's own loader gives (migrationsupport/pgtypes.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader

pytestmark = pytest.mark.django_db

TEXTS = [
    "2026-12-05 21:15:01.123456+00",
    "2026-12-05 23:30:00-08",  # the next day in UTC
    "2024-02-29 12:00:00+05:30",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "1969-12-31 23:59:59.5+00",
    None,
]
QUERY = "SELECT value::timestamptz FROM unnest(%s::text[]) WITH ORDINALITY AS t (value, n) ORDER BY n"


def _read(*, django_loader: bool) -> list:
    with connection.cursor() as cursor:
        if django_loader:
            register_tzloader(connection.timezone, cursor.cursor)
        cursor.execute(QUERY, [TEXTS])
        return [row[0] for row in cursor.fetchall()]


def test_a_timestamp_reads_as_django_s_own_loader_reads_it():
    loader = connection.connection.adapters.get_loader(1184, 0)  # timestamptz, text
    assert loader.__name__ == "FastTzLoader"
    fast, django = _read(django_loader=False), _read(django_loader=True)
    assert fast == django
    assert [value.tzinfo if value else None for value in fast] == [
        value.tzinfo if value else None for value in django
    ]
    assert fast[0].isoformat() == "2026-12-05T21:15:01.123456+00:00"
    assert fast[1].isoformat() == "2026-12-06T07:30:00+00:00"
    # Django's check before each cursor finds this connection's loader already set for its zone.
    assert loader.timezone == connection.timezone
