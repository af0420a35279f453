"""Statements a connection repeats are prepared, with their values in their text, and answer as
before (migrationsupport/prepared.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from regions.models import Country
from tests.factories import CountryFactory

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]


def _prepared() -> dict[str, str]:
    """This session's prepared statements: text → parameter types."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, parameter_types::text FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def _names(code: str) -> list[str]:
    return list(Country.objects.filter(iso_code=code).values_list("name", flat=True))


def _sql(code: str) -> str:
    query = Country.objects.filter(iso_code=code).values_list("name", flat=True).query
    with connection.cursor() as cursor:
        return cursor.mogrify(*query.sql_with_params())


def test_a_statement_run_past_the_threshold_is_prepared_with_its_values_in_its_text():
    assert settings.DB_PREPARE_THRESHOLD == 2
    CountryFactory(name="Armenia", iso_code="AM")
    CountryFactory(name="Georgia", iso_code="GE")
    answers = [(_names("AM"), _names("GE")) for _ in range(4)]
    assert answers == [(["Armenia"], ["Georgia"])] * 4
    prepared = _prepared()
    # One statement for each set of values, prepared with no parameters: PostgreSQL plans it for
    # exactly those values.
    assert prepared[_sql("AM")] == "{}"
    assert prepared[_sql("GE")] == "{}"


def test_a_statement_run_fewer_times_is_not_prepared():
    CountryFactory(name="Armenia", iso_code="AM")
    for _ in range(settings.DB_PREPARE_THRESHOLD):
        assert _names("AM") == ["Armenia"]
    assert _sql("AM") not in _prepared()


def test_a_prepared_statement_answers_from_the_data_as_it_is_now():
    country = CountryFactory(name="Armenia", iso_code="AM")
    for _ in range(4):
        _names("AM")
    assert _sql("AM") in _prepared()
    Country.objects.filter(pk=country.pk).update(name="Republic of Armenia")
    assert _names("AM") == ["Republic of Armenia"]


def test_after_a_rollback_statements_are_prepared_afresh_and_answer():
    CountryFactory(name="Armenia", iso_code="AM")
    for _ in range(4):
        _names("AM")
    assert _sql("AM") in _prepared()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")
    # psycopg deallocated every statement on the rollback (to the savepoint).
    assert _sql("AM") not in _prepared()
    answers = [_names("AM") for _ in range(4)]
    assert answers == [["Armenia"]] * 4
    assert _sql("AM") in _prepared()


def test_executemany_does_not_prepare_each_row_s_statement():
    # psycopg's executemany() asks for its statement to be prepared at once; with the values
    # in the text every row is another statement, prepared once and never run again.
    before = len(_prepared())
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE prepared_rows (n integer)")
        cursor.executemany("INSERT INTO prepared_rows VALUES (%s)", [(n,) for n in range(20)])
        cursor.execute("SELECT count(*), sum(n) FROM prepared_rows")
        assert cursor.fetchone() == (20, 190)
    assert len(_prepared()) == before


def _threshold(**env: str) -> str:
    """``DB_PREPARE_THRESHOLD`` as a fresh process reads it from these variables."""
    code = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.DB_PREPARE_THRESHOLD)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={
            **{name: value for name, value in os.environ.items() if not name.startswith("DB_P")},
            "DATABASE_URL": "postgres://u@db:5432/ms",
            "DEBUG": "0",
            "SECRET_KEY": "test-only",
            "DJANGO_SETTINGS_MODULE": "migrationsupport.settings",
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("env", "threshold"),
    [
        ({}, "2"),
        ({"DB_PGBOUNCER": "1"}, "None"),
        ({"DB_PREPARE_THRESHOLD": ""}, "None"),
        # PgBouncer 1.21 and later, with max_prepared_statements, keeps them.
        ({"DB_PGBOUNCER": "1", "DB_PREPARE_THRESHOLD": "5"}, "5"),
    ],
)
def test_off_behind_pgbouncer_unless_asked_for(env, threshold):
    assert _threshold(**env) == threshold
