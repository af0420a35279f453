import datetime
from decimal import Decimal

import pytest

from funding.filters import FundingFilter
from funding.models import FundingRecord
from tests.factories import CountryFactory, FundingRecordFactory, RegionFactory

pytestmark = pytest.mark.django_db


def year(y):
    return {"period_start": datetime.date(y, 1, 1), "period_start_precision": "year"}


def ids(params):
    filterset = FundingFilter(params, queryset=FundingRecord.objects.published())
    assert filterset.is_valid(), filterset.errors
    return {record.slug for record in filterset.qs}


def test_region_filter_includes_sub_regions_and_lists_each_record_once():
    south = RegionFactory(slug="south")
    north_africa = RegionFactory(slug="north-africa", parent=south)
    FundingRecordFactory(slug="both", regions=[south, north_africa])
    FundingRecordFactory(slug="sub", regions=[north_africa])
    FundingRecordFactory(slug="elsewhere", regions=[RegionFactory()])
    filterset = FundingFilter({"region": "south"}, queryset=FundingRecord.objects.published())
    assert sorted(r.slug for r in filterset.qs) == ["both", "sub"]


def test_year_filter_matches_periods_that_lie_within_the_year():
    FundingRecordFactory(slug="since-2021", **year(2021))
    FundingRecordFactory(
        slug="2024-2025", **year(2024), period_end=datetime.date(2025, 1, 1), period_end_precision="year"
    )
    FundingRecordFactory(
        slug="in-2023", **year(2023), period_end=datetime.date(2023, 1, 1), period_end_precision="year"
    )
    FundingRecordFactory(slug="undated")
    # "Since 2021" and "for 2024 and 2025" are not money for any single year.
    assert ids({"year": 2025}) == set()
    assert ids({"year": 2023}) == {"in-2023"}
    assert ids({"year": 2020}) == set()
    # A year range still reaches every period that touches it.
    assert ids({"year_min": 2025, "year_max": 2025}) == {"since-2021", "2024-2025"}


def test_country_by_iso_code_and_amount_range():
    turkiye = CountryFactory(iso_code="TR")
    FundingRecordFactory(slug="tr", countries=[turkiye], amount=Decimal(900_000_000))
    FundingRecordFactory(slug="other", amount=Decimal(13_000_000))
    assert ids({"country": "TR"}) == {"tr"}
    assert ids({"amount_min": "100000000"}) == {"tr"}
    assert ids({"amount_max": "100000000"}) == {"other"}


def test_top_level_and_parent_filters():
    parent = FundingRecordFactory(slug="package", amount=Decimal(60))
    FundingRecordFactory(slug="part", parent=parent, amount=Decimal(47))
    assert ids({"top_level": "true"}) == {"package"}
    assert ids({"parent": "package"}) == {"part"}


@pytest.mark.parametrize(
    "value, expected",
    [
        *((yes, {"package"}) for yes in ("true", "True", "1", "yes", "on", " TRUE ")),
        *((no, {"part"}) for no in ("false", "0", "No", "off")),
        ("", {"package", "part"}),
        ("unknown", {"package", "part"}),  # the explorer's "Any" until December 2026
    ],
)
def test_top_level_reads_every_usual_spelling_of_yes_and_no(value, expected):
    parent = FundingRecordFactory(slug="package")
    FundingRecordFactory(slug="part", parent=parent)
    assert ids({"top_level": value}) == expected


@pytest.mark.parametrize("value", ["maybe", "2", "-1", "truthy", "a\x00b"])
def test_top_level_refuses_what_is_neither_yes_nor_no(value):
    """Not "any": an answer with every record under a filter the reader thinks was applied."""
    filterset = FundingFilter({"top_level": value}, queryset=FundingRecord.objects.published())
    assert not filterset.is_valid()
    assert filterset.errors["top_level"] == ["Enter true or false."]


def test_unknown_or_draft_slug_is_an_invalid_filter():
    FundingRecordFactory(slug="draft-parent", status="draft")
    for params in ({"region": "nowhere"}, {"parent": "draft-parent"}, {"amount_min": "abc"}):
        assert not FundingFilter(params, queryset=FundingRecord.objects.published()).is_valid()


def test_the_form_class_is_built_once_and_each_form_has_its_own_fields(monkeypatch):
    """``SharedFormFilterSet``: django-filter's form class (and every filter's form field) once
    per FilterSet class, not per request; each form still validates its own data with copies
    of the fields, and a new region is a valid choice at once (querysets are not evaluated)."""
    import django_filters

    built = []
    make = django_filters.FilterSet.get_form_class

    def counted(self):
        built.append(type(self))
        return make(self)

    monkeypatch.setattr(django_filters.FilterSet, "get_form_class", counted)
    monkeypatch.setattr(FundingFilter, "_shared_form", None)
    first = FundingFilter({"donor": "eu"}, queryset=FundingRecord.objects.published())
    assert first.is_valid(), first.errors
    RegionFactory(slug="new-region")
    second = FundingFilter({"region": "new-region", "year": "0"}, queryset=FundingRecord.objects.published())
    assert not second.is_valid() and list(second.errors) == ["year"]
    assert second.form.cleaned_data["region"].slug == "new-region"
    assert built == [FundingFilter]
    assert type(first.form) is type(second.form)
    assert first.form.fields["region"] is not second.form.fields["region"]
    second.form.fields["donor"].choices = []
    assert FundingFilter({"donor": "eu"}, queryset=FundingRecord.objects.published()).is_valid()
