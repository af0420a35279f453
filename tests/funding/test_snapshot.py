"""The totals and sizes of filter combinations computed in memory (funding.snapshot) are the rows
the totals query computes from the records, after any sequence of edits, publications and
deletions; they are never read from data a write has changed since, nor for a set other than the
one the filters selected."""

from __future__ import annotations

import datetime
import pickle
from collections import Counter
from decimal import Decimal
from itertools import combinations, product

import django_filters
import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings

from funding import rollup, snapshot
from funding.filters import FundingFilter
from funding.models import FundingRecord
from funding.selectors import GROUPINGS, computed_rows, funding_totals, funding_totals_and_groups
from migrationsupport.models import Status
from regions.models import Region
from tests.factories import FundingRecordFactory, RegionFactory
from tests.funding.test_rollup import OPERATIONS, apply_and_check

pytestmark = pytest.mark.django_db

M = Decimal(1_000_000)


def _rows(rows: list[dict]) -> Counter:
    """Rows as a multiset of their printed values (the order of rows means nothing, and 5.00 and
    5 print differently: the API would too)."""
    return Counter(tuple(str(row[column]) for column in rollup._COLUMNS) for row in rows)


def _filtered(**data) -> FundingFilter:
    return _filtered_from(FundingRecord.objects.published(), **data)


def _filtered_from(records, **data) -> FundingFilter:
    filterset = FundingFilter(data=data, queryset=records)
    assert filterset.is_valid(), filterset.errors
    return filterset


def _singles() -> list[dict]:
    """Filters whose values the random examples' records have (the region and its sub-region
    while published)."""
    regions = list(Region.objects.published().order_by("pk").values_list("slug", flat=True))
    return [
        *({"region": slug} for slug in regions),
        {"donor": "eu"},
        {"donor": "european_commission"},
        {"kind": "programme"},
        {"year_min": "2024"},
        {"year_max": "2023"},
        {"amount_min": "5000000"},
        {"top_level": "false"},
    ]


def _combinations() -> list[dict]:
    """Pairs, and one triple, of ``_singles``."""
    singles = _singles()
    regions = [single["region"] for single in singles if "region" in single]
    pairs = [one | other for one, other in combinations(singles, 2) if one.keys() != other.keys()]
    triple = {"region": regions[0], "donor": "european_commission", "year_min": "2024"}
    return [*pairs, triple, {"amount_min": "5000000"}, {"amount_max": "5000000"}]  # thresholds alone


# The explorer's order, and the API's by amount.
ORDERINGS = (
    (F("period_start").desc(nulls_last=True), F("amount").desc(nulls_last=True), "title", "pk"),
    (F("amount").desc(nulls_last=True), "pk"),
)


def _generation() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(snapshot.GENERATION_SQL, [rollup.DEFINITION])
        row = cursor.fetchone()
    return row[0] if row else None


def assert_memory_equals_computed() -> None:
    generation = _generation()
    assert generation is not None, "the data is not current after a rebuild"
    for data in _combinations():
        records = _filtered(**data).qs
        for group_by in (None, *GROUPINGS):
            found = snapshot.combination_rows(records, group_by, generation)
            assert found is not None, f"{data} was not answered in memory after a rebuild"
            assert _rows(found) == _rows(computed_rows(records, group_by)), (data, group_by)
        assert snapshot.combination_size(records, generation) == records.count(), data
        if len(data) == 1:  # a threshold alone: counted by SQL (its stored size)
            continue
        # Pages in the list's order, as SQL cuts them (ties broken by title, then id).
        snapshot.counted(records, generation)
        for ordering in (ORDERINGS[0], ORDERINGS[1]):
            ordered = records.order_by(*ordering)
            ids = list(ordered.values_list("pk", flat=True))
            assert snapshot.page_ids(ordered, 0, 100) == ids, (data, ordering)
            assert snapshot.page_ids(ordered, 1, 3) == ids[1:3], (data, ordering)
    # Pages past the first of one filter, or none (the public's set, and the staff's with
    # drafts), cut from the snapshot as SQL cuts them; the first, by SQL.
    base_sets = (FundingRecord.objects.published(), FundingRecord.objects.all())
    singles = [{}, *_singles(), {"amount_max": "5000000"}]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(snapshot, "DEEP_ROWS", 1)  # read from the second row
        for base, data, ordering in product(base_sets, singles, ORDERINGS):
            ordered = _filtered_from(base, **data).qs.order_by(*ordering)
            ids = list(ordered.values_list("pk", flat=True))
            assert snapshot.page_ids(ordered, 1, 100) == ids[1:100], (data, ordering)
            assert snapshot.page_ids(ordered, 2, 4) == ids[2:4], (data, ordering)
            assert snapshot.page_ids(ordered, 0, 100) is None, (data, ordering)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_combinations_in_memory_match_the_computed_totals_after_random_edits(operations):
    """Every pair of a region (with its sub-region, or the sub-region), donor, kind, year bound,
    amount bound and "parts only", and a triple, in every grouping: the same rows and size as
    computed from the records, after random edits and a rebuild."""
    with transaction.atomic():  # each example starts from an empty table
        apply_and_check(operations, check=assert_memory_equals_computed)
        transaction.set_rollback(True)


@pytest.fixture
def nested():
    """A whole in two regions with a part by a narrower donor, and a record of its own."""
    region, other = RegionFactory(slug="r"), RegionFactory(slug="o")
    whole = FundingRecordFactory(
        amount=10 * M,
        regions=[region, other],
        donor="eu",
        period_start=datetime.date(2024, 1, 1),
        period_start_precision="year",
    )
    FundingRecordFactory(amount=4 * M, regions=[region], donor="european_commission", parent=whole)
    FundingRecordFactory(amount=3 * M, regions=[region], donor="eu")
    assert rollup.rebuild()
    return whole


def test_a_combination_is_totalled_in_memory_in_one_query(
    nested, client, monkeypatch, django_assert_num_queries
):
    records = _filtered(region="r", donor="eu").qs
    (total,) = funding_totals(records=records)  # reads the snapshot and the two filters' records
    # The EU's: the whole and the record of its own; the part is the Commission's.
    assert (total.upper, total.records, total.nested) == (13 * M, 2, 0)
    with django_assert_num_queries(1):  # the totals' one query says the data is current
        funding_totals(records=records)
    with django_assert_num_queries(1):
        assert rollup.count(records) == 2
    # Answered from memory: a cent more for each record in the snapshot shows in the total.
    snapshot._snapshots.latest.low += 1
    (total,) = funding_totals(records=records)
    assert total.upper == 13 * M + Decimal("0.02")
    snapshot._snapshots.latest.low -= 1
    addresses = ("/api/v1/funding/totals/?region=r&amount_min=1", "/funding/?region=r&donor=eu")
    answers = {address: client.get(address).content for address in addresses}
    # The same bytes as computed by SQL.
    monkeypatch.setattr(snapshot, "combination_of", lambda records, **kwargs: None)
    for address in addresses:
        assert client.get(address).content == answers[address], address
    # The whole and the record of its own, the part inside its whole, "of which" the Commission's.
    assert b'"upper":13000000.00' in answers[addresses[0]]
    assert b'"nested":1' in answers[addresses[0]]
    assert b'"donor":"european_commission","amount":4000000.00' in answers[addresses[0]]


def _pages_cut(monkeypatch) -> list:
    """What each ``snapshot.page_ids`` call answers from now on (None: the page cut by SQL)."""
    used: list = []
    page_ids = snapshot.page_ids

    def recorded(*args):
        used.append(page_ids(*args))
        return used[-1]

    monkeypatch.setattr(snapshot, "page_ids", recorded)
    return used


@pytest.mark.parametrize(
    "query",
    [
        "region=r&amount_min=1&page_size=1",
        "region=r&amount_min=1&page_size=1&page=2",
        "region=r&amount_min=1&page_size=2&page=last&ordering=-amount",
        "region=r&amount_min=1&page_size=1&page=3&ordering=title",
        "region=r&donor=eu&ordering=-updated_at",
    ],
)
def test_a_combination_s_pages_are_cut_in_memory_as_sql_cuts_them(nested, client, monkeypatch, query):
    used = _pages_cut(monkeypatch)
    in_memory = client.get(f"/api/v1/funding/?{query}")
    assert in_memory.status_code == 200
    assert used and used[-1] is not None, "the page was cut by SQL"
    monkeypatch.setattr(snapshot, "page_ids", lambda *args: None)
    assert client.get(f"/api/v1/funding/?{query}").content == in_memory.content
    assert in_memory.json()["results"]


@pytest.mark.parametrize("staff", [False, True])
@pytest.mark.parametrize(
    ("query", "later"),
    [
        ("page_size=1", False),
        ("page_size=1&page=2", True),
        ("page_size=1&page=last&ordering=title", True),
        ("region=r&page_size=1&page=2&ordering=-amount", True),
        ("amount_min=1&page_size=2&page=2", True),
    ],
)
def test_a_later_page_of_one_filter_or_none_is_cut_in_memory_as_sql_cuts_it(
    nested, client, django_user_model, monkeypatch, query, later, staff
):
    # First in every order asked for: a draft in the public's pages would move every page.
    FundingRecordFactory(
        title="A draft",
        amount=20 * M,
        regions=[nested.regions.get(slug="r")],
        period_start=datetime.date(2026, 1, 1),
        period_start_precision="year",
        status=Status.DRAFT,
    )
    assert rollup.rebuild()
    if staff:  # drafts too
        client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.org", "pw"))
    monkeypatch.setattr(snapshot, "DEEP_ROWS", 1)  # read from the second row
    used = _pages_cut(monkeypatch)
    in_memory = client.get(f"/api/v1/funding/?{query}")
    assert in_memory.status_code == 200
    assert used and (used[-1] is not None) == later, used
    monkeypatch.setattr(snapshot, "page_ids", lambda *args: None)
    by_sql = client.get(f"/api/v1/funding/?{query}")
    assert by_sql.content == in_memory.content
    assert by_sql.json()["results"]
    assert by_sql.json()["count"] == (4 if staff else 3)  # the draft for staff only


def test_a_page_before_deep_rows_reads_nothing_into_the_snapshot(
    nested, monkeypatch, django_assert_num_queries
):
    """Before ``DEEP_ROWS``, a later page of one filter is cut from the snapshot only when the
    snapshot, the filter's records and the order are all held: it never pays their reading."""
    monkeypatch.setattr(snapshot._snapshots, "latest", None)  # a new process
    monkeypatch.setattr(snapshot, "DEEP_ROWS", 2)
    ordered = _filtered(region="r").qs.order_by(*ORDERINGS[0])
    ids = list(ordered.values_list("pk", flat=True))
    with django_assert_num_queries(0):
        assert snapshot.page_ids(ordered, 1, 2) is None  # cut by SQL
    assert snapshot.page_ids(ordered, 2, 3) == ids[2:3]  # deep: reads the snapshot, records, order
    with django_assert_num_queries(1):  # the generation
        assert snapshot.page_ids(ordered, 1, 2) == ids[1:2]
    # Another filter's records are not held: cut by SQL, no query spent.
    other = _filtered(region="o").qs.order_by(*ORDERINGS[0])
    with django_assert_num_queries(0):
        assert snapshot.page_ids(other, 1, 2) is None


@pytest.mark.parametrize("query", ["search=border", "updated_since=2020-01-01"])
def test_a_later_page_narrowed_beyond_the_filters_is_cut_by_sql(nested, client, monkeypatch, query):
    """The API's search, and any other narrowing the filters' set does not hold, changes the
    set's SQL: never paged from the filters' records."""
    for number in range(2):
        FundingRecordFactory(title=f"Border {number}", amount=M, regions=[nested.regions.get(slug="r")])
    assert rollup.rebuild()
    monkeypatch.setattr(snapshot, "DEEP_ROWS", 1)
    used = _pages_cut(monkeypatch)
    assert client.get("/api/v1/funding/?region=r&page_size=1&page=2").status_code == 200
    assert used[-1] is not None  # the same set without the narrowing: from the snapshot
    del used[:]
    response = client.get(f"/api/v1/funding/?region=r&{query}&page_size=1&page=2")
    assert response.status_code == 200, response.content
    assert response.json()["count"] > 1
    # A search's pages are ``MatchPaginator``'s (not asked); the other narrowing's: not answered.
    assert used == ([] if query.startswith("search=") else [None])


@pytest.mark.parametrize("bound", ["amount_min", "amount_max"])
def test_an_amount_threshold_is_compared_in_memory_as_postgresql_compares_it(nested, bound):
    region = nested.regions.get(slug="r")
    FundingRecordFactory(amount=3 * M + Decimal("0.01"), regions=[region], donor="eu")
    FundingRecordFactory(amount=None, regions=[region], donor="eu")
    FundingRecordFactory(amount=5 * M, regions=[region], donor="eu", status=Status.DRAFT)
    assert rollup.rebuild()
    generation = _generation()
    assert rollup.count(_filtered(region="r", donor="eu").qs) == 4  # reads the region's records
    # Published records with an amount only (the draft is not, nor the one without an amount).
    held = snapshot._snapshots.latest
    assert (
        held.threshold_mask("amount_min", Decimal(0)).sum()
        == FundingRecord.objects.published().filter(amount__gte=0).count()
        == 4
    )
    thresholds = ["3000000", "3000000.01", "3000000.02", "-1", "0", "10000000", "999999999999"]
    _assert_compared_in_memory(bound, thresholds, generation, (None, "region"))


def _assert_compared_in_memory(bound: str, values: list[str], generation: int, groupings: tuple) -> None:
    """Each value of the threshold ``bound``, with the region "r" and alone (grouped: read from
    memory, ``threshold_alone``), answered from the values held (no query reads its records),
    with the computed rows and size."""
    for value in values:
        records = _filtered(region="r", **{bound: value}).qs
        with CaptureQueriesContext(connection) as queries:
            size = snapshot.combination_size(records, generation)
        assert not any("ARRAY_AGG" in query["sql"] for query in queries.captured_queries), value
        assert size == records.count(), (bound, value)
        for group_by in groupings:
            found = snapshot.combination_rows(records, group_by, generation)
            assert found is not None
            assert _rows(found) == _rows(computed_rows(records, group_by)), (bound, value)
        alone = _filtered(**{bound: value}).qs
        for group_by in ("region", "country"):
            found = snapshot.combination_rows(alone, group_by, generation)
            assert found is not None
            assert _rows(found) == _rows(computed_rows(alone, group_by)), (bound, value, "alone")


def _period(start: int | None, end: int | None) -> dict:
    return {
        "period_start": datetime.date(start, 3, 1) if start else None,
        "period_start_precision": "month" if start else "",
        "period_end": datetime.date(end, 7, 1) if end else None,
        "period_end_precision": "month" if end else "",
    }


@pytest.mark.parametrize("bound", ["year_min", "year_max"])
def test_a_year_threshold_is_compared_in_memory_as_postgresql_compares_it(nested, bound):
    # Periods of every shape: none, ongoing (a start, no end), an end alone, one year, several;
    # a draft; ``nested``'s whole starts in 2024 with no end.
    region = nested.regions.get(slug="r")
    for start, end in ((None, None), (2023, None), (None, 2024), (2022, 2022), (2021, 2024)):
        FundingRecordFactory(amount=2 * M, regions=[region], donor="eu", **_period(start, end))
    FundingRecordFactory(
        amount=5 * M, regions=[region], donor="eu", status=Status.DRAFT, **_period(2020, 2020)
    )
    assert rollup.rebuild()
    generation = _generation()
    assert rollup.count(_filtered(region="r", donor="eu").qs) == 7  # reads the region's records
    # A fraction too: Django's lookup drops it (2022.5 is 2022), and so does the snapshot.
    years = ["1", "2019", "2020", "2021", "2022", "2022.5", "2023.9", "2024", "2025", "9999"]
    _assert_compared_in_memory(bound, years, generation, (None, "region", "year"))


def test_one_filter_alone_is_not_a_combination(nested):
    assert snapshot.combination_of(_filtered(region="r").qs) is None
    assert snapshot.combination_of(_filtered().qs) is None
    assert snapshot.combination_of(_filtered(region="r", donor="eu").qs) is not None
    # A threshold alone only when its grouped totals are asked for (its size and overall totals
    # are stored rows); no other filter alone, ever.
    assert snapshot.combination_of(_filtered(amount_min="1").qs) is None
    assert snapshot.combination_of(_filtered(amount_min="1").qs, threshold_alone=True) is not None
    assert snapshot.combination_of(_filtered(year_max="2024").qs, threshold_alone=True) is not None
    assert snapshot.combination_of(_filtered(region="r").qs, threshold_alone=True) is None
    assert snapshot.combination_of(_filtered().qs, threshold_alone=True) is None


@pytest.mark.parametrize(
    ("bound", "value"),
    [("amount_min", "4000000"), ("amount_max", "4000000"), ("year_min", "2024"), ("year_max", "2024")],
)
def test_a_threshold_alone_is_grouped_in_memory_and_counted_from_its_stored_rows(
    nested, bound, value, django_assert_num_queries
):
    records = _filtered(**{bound: value}).qs
    assert funding_totals_and_groups(records=records, group_by="region")  # reads the snapshot
    with django_assert_num_queries(2):  # the memory row, then the region labels
        funding_totals_and_groups(records=records, group_by="region")
    used = []
    rows = snapshot.combination_rows
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(snapshot, "combination_rows", lambda *args: used.append(args[1]) or rows(*args))
        grouped = funding_totals_and_groups(records=records, group_by="region")
        overall = funding_totals(records=records)
    assert used == ["region"]  # the grouped totals from memory, the overall ones not
    assert grouped[0] == overall
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(snapshot, "combination_rows", lambda *args: None)  # as if moved on
        with CaptureQueriesContext(connection) as queries:
            assert funding_totals_and_groups(records=records, group_by="region") == grouped
    # Then the stored rows, still current, not the totals computed from every record.
    assert "funding_fundingrangetotalsrow" in queries.captured_queries[1]["sql"]


def test_a_lone_filters_set_is_its_single_as_the_filters_chained_would_build_it(nested):
    filterset = _filtered(region="r")
    records = filterset.qs
    (single,) = records.query.funding_combination.singles
    chained = django_filters.FilterSet.filter_queryset(filterset, FundingRecord.objects.published())
    assert str(records.query) == str(single.query) == str(chained.query)
    assert records.query is not single.query and not hasattr(single.query, "funding_combination")
    # Copied (a cache, a pickled queryset), a set compares its queries again: still the set.
    both = _filtered(donor="eu", year_max="2030").qs  # (a region's set does not pickle: its through model)
    assert snapshot.combination_of(both) is not None
    copied = pickle.loads(pickle.dumps(both))
    assert copied.query.funding_combination.checked == []
    assert snapshot.combination_of(copied) is not None


def test_a_set_changed_after_filtering_is_not_answered_from_its_filters(nested):
    records = _filtered(region="r", donor="eu").qs
    # The set itself is found its filters' (and its SQL compiled once for the request: the
    # combination remembers its query); a clone changed since carries the same combination.
    assert snapshot.combination_of(records) is not None
    narrower = records.filter(amount__gt=5 * M)
    assert narrower.query.funding_combination is records.query.funding_combination
    assert snapshot.combination_of(narrower) is None
    assert snapshot.combination_of(records) is not None
    assert rollup.count(narrower) == 1
    assert [total.upper for total in funding_totals(records=narrower)] == [10 * M]


def test_a_write_since_the_rebuild_is_never_read_from_memory(nested, django_assert_num_queries, monkeypatch):
    monkeypatch.setattr(snapshot, "DEEP_ROWS", 1)
    records = _filtered(region="r", donor="eu").qs
    assert rollup.count(records) == 2
    one_filter = _filtered(region="r").qs.order_by(*ORDERINGS[0])
    assert snapshot.page_ids(one_filter, 1, 3) is not None
    FundingRecordFactory(amount=1 * M, regions=[nested.regions.get(slug="r")], donor="eu")
    # Stale until the rebuild: counted and totalled by SQL, in the same one query each; a
    # later page of one filter cut by SQL (the one query saying the data moved on).
    assert _generation() is None
    with django_assert_num_queries(1):
        assert snapshot.page_ids(one_filter, 1, 3) is None
    with django_assert_num_queries(1):
        assert rollup.count(records) == 3
    with django_assert_num_queries(1):
        assert [total.upper for total in funding_totals(records=records)] == [14 * M]
    assert rollup.rebuild()
    assert rollup.count(records) == 3
    assert [total.upper for total in funding_totals(records=records)] == [14 * M]


def test_the_records_read_into_a_snapshot_are_checked_against_its_generation(nested):
    """A filter's records read after another rebuild than the one asked for are not used."""
    records = _filtered(region="r", donor="eu").qs
    generation = _generation()
    assert snapshot.combination_size(records, generation) == 2
    assert rollup.rebuild(force=True)
    assert _generation() != generation
    # A filter this snapshot has not read yet: read now, it is another generation's data.
    assert snapshot.combination_size(_filtered(region="o", donor="eu").qs, generation) is None
    assert snapshot.combination_size(_filtered(region="o", donor="eu").qs, _generation()) == 1
    assert snapshot._snapshots.latest.generation == _generation()


def test_the_past_is_read_by_sql_not_from_todays_snapshot(client):
    """An ``as_of`` request reads its own schema's records: today's snapshot neither answers it
    nor is replaced by one of the past (each would be read again, in turn)."""
    with time_machine.travel(datetime.datetime(2024, 3, 1, 12, tzinfo=datetime.UTC), tick=True):
        region = RegionFactory(slug="r")
        FundingRecordFactory(amount=1 * M, regions=[region], donor="eu")
    with time_machine.travel(datetime.datetime(2024, 3, 2, 12, tzinfo=datetime.UTC), tick=True):
        FundingRecordFactory(amount=2 * M, regions=[region], donor="eu")
    assert rollup.rebuild()
    with time_machine.travel(datetime.datetime(2024, 3, 5, 12, tzinfo=datetime.UTC)):
        assert client.get("/api/v1/funding/?region=r&donor=eu").json()["count"] == 2  # in memory
        today = snapshot._snapshots.latest
        past = client.get("/api/v1/funding/totals/?region=r&donor=eu&as_of=2024-03-01").json()
        assert client.get("/api/v1/funding/?region=r&donor=eu&as_of=2024-03-01").json()["count"] == 1
    assert [(total["upper"], total["records"]) for total in past["totals"]] == [(1_000_000, 1)]
    assert snapshot._snapshots.latest is today
