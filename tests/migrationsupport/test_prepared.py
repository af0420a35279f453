"""Statements a connection repeats are prepared, with their values in their text, and answer as
before (migrationsupport/prepared.py)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from migrationsupport import asof
from regions.models import Country
from tests.factories import CountryFactory

pytestmark = pytest.mark.django_db


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


def test_a_prepared_statement_is_logged_as_the_statement_run():
    CountryFactory(name="Armenia", iso_code="AM")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(4):
            _names("AM")
    assert _sql("AM") in _prepared()
    assert [query["sql"] for query in queries.captured_queries] == [_sql("AM")] * 4


def test_nothing_is_prepared_while_a_request_reads_the_past(monkeypatch):
    # An as_of request's tables are another schema's, with the same statements' texts.
    monkeypatch.setattr(asof, "reading_the_past", lambda: True)
    CountryFactory(name="Armenia", iso_code="AM")
    for _ in range(4):
        assert _names("AM") == ["Armenia"]
    assert _sql("AM") not in _prepared()


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
