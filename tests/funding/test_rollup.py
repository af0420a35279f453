"""The stored totals of every published funding record (funding.rollup) are the computed ones,
after any sequence of edits, publications and deletions, by any write path, and concurrent
saves; and they are never read while a change has made them stale."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funding import rollup
from funding.models import FundingRecord, FundingTotalsRow, FundingTotalsState
from funding.selectors import computed_rows, funding_totals
from migrationsupport.models import Status
from tests.factories import (
    CountryFactory,
    FundingRecordFactory,
    InstrumentFactory,
    RegionFactory,
    SourceFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

M = Decimal(1_000_000)


def _key(row: dict) -> tuple:
    return tuple(str(row[column]) for column in rollup._COLUMNS)


def assert_stored_equals_computed() -> None:
    published = FundingRecord.objects.published()
    for group_by in rollup.STORED_GROUPINGS:
        stored = rollup.stored_rows(group_by)
        assert stored is not None, "the totals are stale after a rebuild"
        assert sorted(map(_key, stored)) == sorted(map(_key, computed_rows(published, group_by)))


def test_the_published_set_is_recognised_whatever_a_page_joins_and_nothing_else_is():
    assert rollup.is_published_set(FundingRecord.objects.published())
    assert rollup.is_published_set(FundingRecord.objects.for_public())
    assert rollup.is_published_set(FundingRecord.objects.published().select_related("instrument"))
    assert not rollup.is_published_set(FundingRecord.objects.all())
    assert not rollup.is_published_set(FundingRecord.objects.published().filter(donor="eu"))
    assert not rollup.is_published_set(FundingRecord.objects.none())


@pytest.mark.parametrize(
    "write",
    [
        "save",
        "update",
        "delete",
        "add region",
        "remove country",
        "add theme",
        "add overlap",
        "raw sql",
        "delete a linked region",
    ],
)
def test_every_write_path_makes_the_stored_totals_stale(write):
    region, country, theme = RegionFactory(), CountryFactory(), ThemeFactory()
    whole = FundingRecordFactory(amount=10 * M, countries=[country])
    other = FundingRecordFactory(amount=3 * M)
    assert rollup.rebuild()
    assert rollup.stored_rows(None) is not None
    assert not rollup.rebuild()  # nothing changed since: no work
    if write == "save":
        whole.amount = 11 * M
        whole.save()
    elif write == "update":
        FundingRecord.objects.filter(pk=whole.pk).update(status=Status.DRAFT)
    elif write == "delete":
        other.delete()
    elif write == "add region":
        whole.regions.add(region)
    elif write == "remove country":
        whole.countries.remove(country)
    elif write == "add theme":
        whole.themes.add(theme)
    elif write == "add overlap":
        whole.may_overlap.add(other)
    elif write == "raw sql":
        with connection.cursor() as cursor:
            cursor.execute("UPDATE funding_fundingrecord SET amount = amount + 1 WHERE id = %s", [other.pk])
    else:  # the link goes by cascade, with no signal for the record
        linked = RegionFactory()
        whole.regions.add(linked)
        assert rollup.rebuild()
        linked.delete()
    assert rollup.stored_rows(None) is None
    assert rollup.stored_rows("region") is None
    assert rollup.rebuild()
    assert_stored_equals_computed()


def test_rows_built_by_another_definition_of_the_totals_are_stale():
    FundingRecordFactory(amount=10 * M)
    assert rollup.rebuild()
    assert rollup.stored_rows(None) is not None
    FundingTotalsState.objects.filter(name="definition").update(value=rollup.DEFINITION + 1)
    assert rollup.stored_rows(None) is None  # e.g. a deploy changed the totals query
    assert rollup.rebuild()
    assert_stored_equals_computed()


def test_pages_read_the_stored_totals_when_current_and_compute_them_when_stale(django_assert_num_queries):
    FundingRecordFactory(amount=10 * M, measure="mobilised")
    rollup.rebuild()
    with django_assert_num_queries(1):  # the stored rows, no label query without a grouping
        (total,) = funding_totals(records=FundingRecord.objects.published())
    assert total.upper == 10 * M
    # A stored row that differs from the records shows which path answered.
    FundingTotalsRow.objects.filter(grouping="", row_kind="total").update(amount=12 * M)
    assert funding_totals(records=FundingRecord.objects.published())[0].upper == 12 * M
    FundingRecordFactory(amount=1 * M, measure="mobilised", status=Status.DRAFT)  # stale now
    with django_assert_num_queries(2):  # the stale answer, then the computed one
        (total,) = funding_totals(records=FundingRecord.objects.published())
    assert total.upper == 10 * M


# --- random edits, publications and deletions ------------------------------------------------

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("create"),
            st.sampled_from([None, 1, 4, 7, 30]),  # amount, millions
            st.sampled_from(["mobilised", "committed"]),
            st.sampled_from(["eu", "european_commission"]),
            st.integers(min_value=-1, max_value=5),  # parent: an index into the records, or none
            st.booleans(),  # published
            st.sets(st.integers(0, 1), max_size=2),  # regions
            st.sets(st.integers(0, 2), max_size=2),  # countries
            st.sets(st.integers(0, 1), max_size=1),  # key areas
            st.integers(min_value=-1, max_value=1),  # instrument, or none
            st.sampled_from([None, 2023, 2024]),  # a period within one year, or none
        ),
        st.tuples(st.just("amount"), st.integers(0, 5), st.integers(1, 40)),
        st.tuples(st.just("publish"), st.integers(0, 5), st.booleans()),
        st.tuples(st.just("delete"), st.integers(0, 5)),
        st.tuples(st.just("region"), st.integers(0, 5), st.integers(0, 1)),
        st.tuples(st.just("overlap"), st.integers(0, 5), st.integers(0, 5)),
        st.tuples(st.just("rebuild")),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_stored_totals_match_the_computed_ones_after_random_edits(operations):
    with transaction.atomic():  # each example starts from an empty table
        apply_and_check(operations)
        transaction.set_rollback(True)


def apply_and_check(operations) -> None:
    source = SourceFactory()
    regions = [RegionFactory(source=source) for _ in range(2)]
    countries = [CountryFactory(source=source) for _ in range(3)]
    themes = [ThemeFactory(source=source) for _ in range(2)]
    instruments = [InstrumentFactory(source=source) for _ in range(2)]
    records: list[FundingRecord] = []
    for operation in operations:
        kind, *args = operation
        wrote = True
        if kind == "create":
            records.append(_create(args, records, source, regions, countries, themes, instruments))
        elif kind == "rebuild":
            rollup.rebuild()
            assert_stored_equals_computed()
            wrote = False
        elif not records:
            wrote = False
        else:
            wrote = _edit(kind, args, records, regions)
        if wrote:
            assert rollup.stored_rows(None) is None, f"{kind} left the stored totals current"
    rollup.rebuild()
    assert_stored_equals_computed()


def _create(args, records, source, regions, countries, themes, instruments) -> FundingRecord:
    amount, measure, donor, parent, published, in_regions, in_countries, in_themes, instrument, year = args
    whole = records[parent] if 0 <= parent < len(records) and records[parent].pk else None
    if whole is not None and len(list(whole.ancestors())) >= 3:
        whole = None  # records nest at most four levels deep
    record: FundingRecord = FundingRecordFactory.create(
        source=source,
        amount=None if amount is None else amount * M,
        measure=whole.measure if whole else measure,
        donor="european_commission" if whole else donor,
        parent=whole,
        status=Status.PUBLISHED if published else Status.DRAFT,
        instrument=instruments[instrument] if instrument >= 0 else None,
        period_start=None if year is None else f"{year}-01-01",
        period_start_precision="" if year is None else "year",
        period_end=None if year is None else f"{year}-01-01",
        period_end_precision="" if year is None else "year",
        regions=[regions[i] for i in in_regions],
        countries=[countries[i] for i in in_countries],
        themes=[themes[i] for i in in_themes],
    )
    return record


def _edit(kind, args, records, regions) -> bool:
    record = records[args[0] % len(records)]
    if record.pk is None:  # deleted already
        return False
    if kind == "amount":
        measure = record.measure or "committed"
        FundingRecord.objects.filter(pk=record.pk).update(amount=args[1] * M, measure=measure)
    elif kind == "publish":
        record.status = Status.PUBLISHED if args[1] else Status.DRAFT
        record.save()
    elif kind == "delete":
        if FundingRecord.objects.filter(parent=record).exists():
            return False  # a whole with parts cannot be deleted
        record.delete()
        record.pk = None
    elif kind == "region":
        if record.regions.filter(pk=regions[args[1]].pk).exists():
            return False  # already linked: add() writes nothing, and nothing is stale
        record.regions.add(regions[args[1]])
    else:  # overlap
        other = records[args[1] % len(records)]
        if other.pk is None or other.pk == record.pk:
            return False
        record.may_overlap.add(other)
    return True


# --- concurrent saves -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_leave_the_stored_totals_current_and_correct():
    """Four threads save, publish and unpublish records at once, each save its own transaction
    followed by the rebuild its commit schedules; rebuilds wait for each other (advisory lock),
    so no row is stored twice, and the last one sees every commit."""
    source = SourceFactory()
    region = RegionFactory(source=source)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(number: int) -> None:
        try:
            start.wait()
            for step in range(6):
                with transaction.atomic():
                    record: FundingRecord = FundingRecordFactory.create(
                        source=source,
                        amount=(number * 10 + step + 1) * M,
                        measure="committed",
                        regions=[region],
                        status=Status.PUBLISHED if step % 2 == 0 else Status.DRAFT,
                    )
                if step == 3:
                    with transaction.atomic():
                        record.status = Status.PUBLISHED
                        record.save()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert FundingRecord.objects.count() == 24
    assert_stored_equals_computed()
    (total,) = funding_totals(records=FundingRecord.objects.published())
    published = FundingRecord.objects.published()
    assert total.upper == sum(r.amount for r in published)
