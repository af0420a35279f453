"""Queries whose speed at 100 000 records rests on an index can use that index.

With sequential scans priced out (``enable_seqscan = off``) PostgreSQL picks an index whenever
one fits the query; the plan names it. The plan is read, never timed (the rows it compared are
counted by ``EXPLAIN ANALYZE``; a search suggestion's own timeout is set to 1 ms to see it end).
"""

from __future__ import annotations

from typing import cast

import pytest
from django.contrib import admin
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from rest_framework.request import Request

from agreements.models import Document
from funding import selectors
from funding.api import FundingRecordViewSet
from funding.listings import fulfilment_links
from funding.models import Fulfilment, FundingRecord
from migrationsupport import search
from migrationsupport.api_defaults import BoundedSearchFilter
from migrationsupport.models import Status
from migrationsupport.search import SUGGESTION_CANDIDATES, priced_operators, search_suggestion
from tests.factories import CountryFactory, DocumentFactory, FulfilmentFactory, FundingRecordFactory
from tests.pages import text_of

pytestmark = pytest.mark.django_db

# Links between other records in the fulfilment test.
LINKS = 300
# Documents in the suggestion test: as many as at +100 000 funding records, where PostgreSQL
# read their table rather than the index.
DOCUMENTS = 5000


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_admin_funding_search_uses_a_trigram_index_per_field():
    model_admin = admin.site._registry[FundingRecord]
    request = RequestFactory().get("/admin/funding/fundingrecord/", {"q": "border"})
    found, _ = model_admin.get_search_results(request, FundingRecord.objects.all(), "border")

    text = plan(found.order_by().values("pk"))

    for index in ("funding_title_trgm_idx", "funding_slug_trgm_idx", "funding_implementer_trgm_idx"):
        assert index in text, text


def test_the_api_funding_search_uses_a_trigram_index_per_field():
    """``/api/v1/funding/?search=`` matches the title, the description and the implementer:
    each through its own trigram index (the description without one read every record, 226 ms
    at +100 000: docs/performance.md)."""
    request = Request(RequestFactory().get("/api/v1/funding/", {"search": "border"}))
    view = FundingRecordViewSet(request=request, action="list", format_kwarg=None)
    found = BoundedSearchFilter().filter_queryset(request, FundingRecord.objects.all(), view)

    text = plan(found.order_by().values("pk"))

    for index in ("funding_title_trgm_idx", "funding_description_trgm_idx", "funding_implementer_trgm_idx"):
        assert index in text, text


def test_a_records_fulfilment_links_are_read_by_their_two_indexes():
    """A commitment's page reads what it fulfils and the first links reported against it: each
    side of the condition by the index on its own column, never every link (``OR pk IN (...)``
    on its own read all 19 935 links at +100 000 records: docs/performance.md)."""
    commitment = FundingRecordFactory(measure="committed")
    FulfilmentFactory(fulfilling=commitment)
    FulfilmentFactory(fulfilled=commitment, fulfilling=FundingRecordFactory(measure="paid"))
    # Other links, so that the statistics show a table in which one record has few of them.
    source = commitment.source
    pledges, payments = (
        FundingRecord.objects.bulk_create(
            FundingRecord(title=f"{measure} {n}", slug=f"{measure}-{n}", measure=measure, source=source)
            for n in range(LINKS)
        )
        for measure in ("pledged", "paid")
    )
    Fulfilment.objects.bulk_create(
        Fulfilment(fulfilled=pledge, fulfilling=payment, status=Status.PUBLISHED)
        for pledge, payment in zip(pledges, payments, strict=True)
    )
    with CaptureQueriesContext(connection) as queries:
        fulfils, fulfilled_by, _more = fulfilment_links(commitment, against=True)
    assert (len(fulfils), len(fulfilled_by), len(queries)) == (1, 1, 1)

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Fulfilment._meta.db_table}, {FundingRecord._meta.db_table}")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {queries[0]['sql']}")
        text = "\n".join(row[0] for row in cursor.fetchall())

    assert "BitmapOr" in text, text
    assert f"Index Cond: (fulfilling_id = {commitment.pk})" in text, text
    assert f"Index Cond: (fulfilled_id = {commitment.pk})" in text, text


def test_a_records_latest_dates_and_its_follow_ups_are_read_by_primary_key():
    """A commitment's page dates its figure and the payments reported against it in one query:
    both lists of ids read by the primary key, never every record (the two lists ORed read all
    100 000 at +100 000 records, 17 ms: docs/performance.md)."""
    commitment = FundingRecordFactory(
        measure="committed", period_start="2024-01-01", period_start_precision="year"
    )
    payments = [
        FundingRecordFactory(measure="paid", period_start="2025-01-01", period_start_precision="year")
    ]
    FundingRecord.objects.bulk_create(
        FundingRecord(title=f"other {n}", slug=f"other-{n}", measure="paid", source=commitment.source)
        for n in range(LINKS)
    )
    records = FundingRecord.objects.published().filter(pk=commitment.pk)
    with CaptureQueriesContext(connection) as queries:
        promised, follow_up = selectors._latest_dates(records, follow_up=frozenset(p.pk for p in payments))
    assert (str(promised["committed"]), str(follow_up["paid"])) == ("2024", "2025")

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {FundingRecord._meta.db_table}")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {queries[0]['sql']}")
        text = "\n".join(row[0] for row in cursor.fetchall())

    # Not every record scanned and tested against the two lists: a filter of hashed subplans
    # ORed ("(hashed SubPlan 2) OR (hashed SubPlan 3)" in PostgreSQL 15's words).
    filters = [line for line in text.splitlines() if "Filter:" in line]
    ored = [line for line in filters if "hashed SubPlan" in line and " OR " in line]
    assert not ored, text


def test_the_records_linked_to_a_country_have_an_index_of_their_own():
    """A search naming a country ranks the records linked to it that mention a word of the query:
    their ids come from an index on (country, record) alone, without reading each link's row
    (Django's own index on the country points at the rows: 7 818 links read for Syria at +100 000
    records, 2.5-3.8 ms of 3.3-4.7; docs/performance.md)."""
    table = FundingRecord.countries.through._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    indexes = [found["columns"] for found in constraints.values() if found["index"]]
    covering = [columns for columns in indexes if columns[0] == "country_id"]
    assert ["country_id", "fundingrecord_id"] in covering, covering


@pytest.mark.django_db(transaction=True)  # as a request reads it: in no transaction yet
def test_a_suggestion_reads_the_titles_through_their_trigram_indexes():
    """A search with few results looks for titles spelled like it: pg_trgm prices its operators
    as cheap as ``=``, so PostgreSQL compared every document's title when their table looked
    small (5 010 at +100 000 records: 24 ms of the query's 38). The suggestion is read with
    operators priced as what they cost, and the documents' trigram index then serves it."""
    source = DocumentFactory(title="Action plan for Morocco").source
    Document.objects.bulk_create(
        Document(title=f"Readmission {n}", slug=f"readmission-{n}", source=source, status=Status.PUBLISHED)
        for n in range(DOCUMENTS)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Document._meta.db_table}")
    with CaptureQueriesContext(connection) as queries:
        assert search_suggestion("Morrocco") == "Morocco"  # like a word of the title
    statements = [query["sql"] for query in queries]
    titles = next(n for n, sql in enumerate(statements) if "suggested" in sql)
    assert statements[titles - 1] == priced_operators(), statements
    assert statements[titles + 1] == "COMMIT", statements  # the same transaction, ended with it

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(priced_operators())
        cursor.execute(f"EXPLAIN {statements[titles]}")
        text = "\n".join(row[0] for row in cursor.fetchall())
    assert "document_title_trgm_idx" in text, text


def _sentences(count: int) -> None:
    """``count`` published funding records whose titles begin alike, as the demo data's do."""
    first = cast(FundingRecord, FundingRecordFactory(title="Synthetic funding 0"))
    FundingRecord.objects.bulk_create(
        FundingRecord(
            title=f"Synthetic funding {n}",
            slug=f"synthetic-{n}",
            source=first.source,
            status=Status.PUBLISHED,
        )
        for n in range(1, count)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {FundingRecord._meta.db_table}")


def _rows_compared(node: dict, table: str, operator: str) -> int:
    """The rows of ``table`` a plan compared with ``operator`` (pg_trgm's ``%``, which also
    finds ``%>``; full text's ``@@``): those a scan with it in its filter or recheck condition
    returned or removed."""
    compared = 0
    conditions = node.get("Filter", "") + node.get("Recheck Cond", "")
    if node.get("Relation Name") == table and operator in conditions:
        returned = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
        compared = (
            returned + node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
        )
    return compared + sum(_rows_compared(child, table, operator) for child in node.get("Plans", ()))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("query", "suggested"),
    [
        ("Syrai", "Syria"),  # shares two trigrams with every "Synthetic ..." title: 0.33 alike as a whole
        ("Synthetik", "Synthetic"),  # like a word of every title
    ],
)
def test_a_suggestion_reads_a_bounded_number_of_sentence_titles(query, suggested):
    """A title that is a sentence is compared by its words, and only until
    ``SUGGESTION_CANDIDATES`` are found alike: the titles compared do not grow with the records
    whose titles share the query's trigrams (compared whole too, "Syrai" had every funding title
    compared at +100 000: 639 ms; docs/performance.md)."""
    CountryFactory(name="Syria", iso_code="SY")
    _sentences(3 * SUGGESTION_CANDIDATES)
    with CaptureQueriesContext(connection) as queries:
        assert search_suggestion(query) == suggested
    statement = next(sql for sql in (run["sql"] for run in queries) if "suggested" in sql)

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(priced_operators())
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}")
        [[explained]] = cursor.fetchone()
    compared = _rows_compared(explained["Plan"], FundingRecord._meta.db_table, "%")
    assert compared <= SUGGESTION_CANDIDATES, compared  # of 300 alike


@pytest.mark.parametrize("query", ["synthetic", "synth"])  # a word, a word's beginning
def test_a_search_ranks_a_bounded_number_of_matches(query, monkeypatch):
    """A word every record holds is ranked among the first ``RANKED_MATCHES`` + 1 matches found,
    not among all of them (every one was read and ranked: 62 ms of SQL at +100 000 funding
    records; docs/performance.md)."""
    monkeypatch.setattr(search, "RANKED_MATCHES", 50)
    _sentences(300)
    with CaptureQueriesContext(connection) as queries:
        groups = {group.label: group for group in search.search_records(query)}
    assert (groups["Funding"].matched, groups["Funding"].more) == (50, True)
    statement = next(run["sql"] for run in queries if "ts_rank" in run["sql"] and "funding_" in run["sql"])

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}")
        [[explained]] = cursor.fetchone()
    read = _rows_compared(explained["Plan"], FundingRecord._meta.db_table, "@@")
    assert 0 < read <= 51, read  # of 300 matching


def _statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_suggestion_that_takes_too_long_is_given_up_without_an_error(client, monkeypatch):
    """A misspelt word sharing most trigrams with a word of many titles ("fundng", "funding")
    makes each of them a candidate the index cannot rule out, compared one by one (330 ms at
    +100 000): past ``SUGGESTION_TIMEOUT_MS`` the page offers no suggestion, and answers."""
    CountryFactory(name="Funding", iso_code="FU")  # a name alike as a whole: the suggestion
    _sentences(5000)
    before = _statement_timeout()
    assert search.SUGGESTION_TIMEOUT_MS >= 1000  # tests/conftest.py: ample for 5 000 titles
    assert search_suggestion("fundng") == "Funding"
    assert "Did you mean Funding" in text_of(client.get("/search/", {"q": "fundng"}))

    monkeypatch.setattr(search, "SUGGESTION_TIMEOUT_MS", 1)  # comparing 5 000 titles takes longer
    assert search_suggestion("fundng") is None
    response = client.get("/search/", {"q": "fundng"})
    assert response.status_code == 200
    assert "Did you mean" not in text_of(response)
    assert _statement_timeout() == before  # the timeout ended with the suggestion's transaction
    assert FundingRecord.objects.count() == 5000
