import datetime
from decimal import Decimal

import pytest

from funding.models import FundingRecord
from funding.selectors import funding_totals
from tests.factories import FundingRecordFactory, InstrumentFactory, RegionFactory

pytestmark = pytest.mark.django_db

M = Decimal(1_000_000)


@pytest.fixture
def western_balkans_tree():
    """The seed's nesting: €350m since 2021 ⊃ €60m package ⊃ €47m + €13m."""
    region = RegionFactory(name="Western Balkans")
    total = FundingRecordFactory(amount=350 * M, qualifier="more_than", regions=[region])
    package = FundingRecordFactory(amount=60 * M, parent=total, regions=[region])
    FundingRecordFactory(amount=47 * M, parent=package, regions=[region])
    FundingRecordFactory(amount=13 * M, parent=package, regions=[region])
    return region, total, package


def test_total_never_counts_a_child_inside_its_parent(western_balkans_tree):
    result = funding_totals(records=FundingRecord.objects.all())
    assert result.amount == 350 * M
    assert result.qualifier == "more_than"
    assert str(result.amount_display) == "more than €350\u00a0million"


def test_children_count_when_their_parent_is_filtered_out(western_balkans_tree):
    _, total, package = western_balkans_tree
    children = FundingRecord.objects.filter(parent=package)
    assert funding_totals(records=children).amount == 60 * M
    assert funding_totals(records=children).qualifier == "exact"
    # The package and its parts, without the €350m: the package counts, the parts are inside it.
    assert funding_totals(records=FundingRecord.objects.exclude(pk=total.pk)).amount == 60 * M


def test_grandchild_is_not_counted_when_only_the_grandparent_is_in_the_set(western_balkans_tree):
    _, _, package = western_balkans_tree
    records = FundingRecord.objects.exclude(pk=package.pk)
    assert funding_totals(records=records).amount == 350 * M


def test_record_linked_to_several_regions_counts_once_overall_and_once_per_region():
    north, east = RegionFactory(name="North"), RegionFactory(name="East")
    FundingRecordFactory(amount=10 * M, regions=[north, east])
    FundingRecordFactory(amount=5 * M, regions=[north])
    # A filter that joins the many-to-many relation would repeat the shared record.
    records = FundingRecord.objects.filter(regions__in=[north, east])
    assert records.count() == 3
    assert funding_totals(records=records).amount == 15 * M
    by_region = {t.label: t.amount for t in funding_totals(records=records, group_by="region")}
    assert by_region == {"North": 15 * M, "East": 10 * M}


def test_grouping_by_region_leaves_out_a_child_only_when_its_parent_is_in_the_same_region():
    north, east = RegionFactory(name="North"), RegionFactory(name="East")
    parent = FundingRecordFactory(amount=20 * M, regions=[north])
    FundingRecordFactory(amount=8 * M, parent=parent, regions=[north, east])
    by_region = {
        t.label: t.amount for t in funding_totals(records=FundingRecord.objects.all(), group_by="region")
    }
    assert by_region == {"North": 20 * M, "East": 8 * M}


def test_grouping_by_instrument_and_year(western_balkans_tree):
    ipa = InstrumentFactory(short_name="IPA III")
    FundingRecord.objects.update(instrument=ipa)
    FundingRecordFactory(
        amount=36 * M, period_start=datetime.date(2023, 6, 1), period_start_precision="month"
    )
    by_instrument = {
        t.label: t.amount for t in funding_totals(records=FundingRecord.objects.all(), group_by="instrument")
    }
    assert by_instrument == {"IPA III": 350 * M, "No instrument": 36 * M}
    by_year = {
        t.label: t.amount for t in funding_totals(records=FundingRecord.objects.all(), group_by="year")
    }
    assert by_year == {"Not stated": 350 * M, "2023": 36 * M}


def test_mixed_qualifiers_make_an_about_total():
    FundingRecordFactory(amount=6000 * M, qualifier="almost")
    FundingRecordFactory(amount=33000 * M, qualifier="more_than")
    assert funding_totals(records=FundingRecord.objects.all()).qualifier == "about"


def test_records_without_a_figure_are_not_counted():
    FundingRecordFactory(amount=None)
    FundingRecordFactory(amount=5 * M)
    result = funding_totals(records=FundingRecord.objects.all())
    assert (result.amount, result.records) == (5 * M, 1)


def test_totals_take_one_query(western_balkans_tree, django_assert_num_queries):
    with django_assert_num_queries(1):
        funding_totals(records=FundingRecord.objects.published())
    # The grouped total: the aggregate, then the region names.
    with django_assert_num_queries(2):
        funding_totals(records=FundingRecord.objects.published(), group_by="region")


def test_total_counts_the_parts_it_leaves_out(western_balkans_tree):
    FundingRecordFactory(amount=None)  # no figure: neither counted nor left out

    result = funding_totals(records=FundingRecord.objects.all())

    # The €350m counts; the €60m package and its €47m and €13m parts are inside it.
    assert (result.records, result.nested) == (1, 3)
    by_region = funding_totals(records=FundingRecord.objects.all(), group_by="region")
    assert [(t.amount, t.records, t.nested) for t in by_region] == [(350 * M, 1, 3)]


def test_total_of_an_empty_set_is_zero():
    result = funding_totals(records=FundingRecord.objects.none())
    assert (result.amount, result.records, result.nested, result.qualifier) == (0, 0, 0, "exact")
    assert funding_totals(records=FundingRecord.objects.none(), group_by="year") == []
