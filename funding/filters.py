"""The funding FilterSet: one definition shared by the explorer page, its CSV and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from migrationsupport.filters import (
    DecimalColumnFilter,
    RelatedChoiceFilter,
    SharedFormFilterSet,
    YesNoFilter,
    published_choices,
)
from migrationsupport.models import Qualifier, Theme
from regions.filters import RegionTreeFilter, RelatedCountryCodeFilter

from .models import Donor, FundingKind, FundingRecord, Instrument, PledgingConference


class FundingFilter(SharedFormFilterSet):
    region = RegionTreeFilter(
        field_name="regions", label="Region", help_text="Region slug; includes its sub-regions."
    )
    country = RelatedCountryCodeFilter(
        field_name="countries",
        label="Country",
        help_text="ISO 3166-1 alpha-2, alpha-3 or numeric code, e.g. TR, TUR or 792.",
    )
    instrument = django_filters.ModelChoiceFilter(
        to_field_name="slug", queryset=published_choices(Instrument), label="Instrument"
    )
    theme = RelatedChoiceFilter(
        field_name="themes", to_field_name="slug", queryset=published_choices(Theme), label="Key area"
    )
    donor = django_filters.ChoiceFilter(choices=Donor.choices, label="Donor")
    kind = django_filters.ChoiceFilter(choices=FundingKind.choices, label="Kind")
    qualifier = django_filters.ChoiceFilter(choices=Qualifier.choices, label="Qualifier")
    year = django_filters.NumberFilter(
        method="filter_year",
        min_value=1,
        max_value=9999,
        label="Year",
        help_text="Records whose whole period lies within this year (not \u201csince 2011\u201d "
        "or \u201cfor 2024 and 2025\u201d figures).",
    )
    year_min = django_filters.NumberFilter(
        method="filter_year_min",
        min_value=1,
        max_value=9999,
        label="From year",
        help_text="Periods that end in or after this year.",
    )
    year_max = django_filters.NumberFilter(
        method="filter_year_max",
        min_value=1,
        max_value=9999,
        label="To year",
        help_text="Periods that start in or before this year.",
    )
    amount_min = DecimalColumnFilter(field_name="amount", lookup_expr="gte", label="Minimum amount (EUR)")
    amount_max = DecimalColumnFilter(field_name="amount", lookup_expr="lte", label="Maximum amount (EUR)")
    parent = django_filters.ModelChoiceFilter(
        to_field_name="slug",
        queryset=published_choices(FundingRecord),
        label="Part of",
        help_text="Slug of the parent record: its direct parts.",
    )
    conference = django_filters.ModelChoiceFilter(
        to_field_name="slug",
        queryset=published_choices(PledgingConference),
        label="Pledged at",
        help_text="Slug of the pledging conference.",
    )
    top_level = YesNoFilter(
        field_name="parent",
        lookup_expr="isnull",
        label="Top-level only",
        help_text="true: records with no parent.",
    )

    class Meta:
        model = FundingRecord
        fields: list[str] = []

    def filter_year(self, queryset, name, value):
        """Only a figure whose period starts and ends in the year is money for that year: a
        cumulative or multi-year figure would be counted as if all of it were."""
        if value is None:
            return queryset
        return queryset.filter(period_start__year=value, period_end__year=value)

    def filter_year_min(self, queryset, name, value):
        if value is None:
            return queryset
        # Ongoing periods (no end) reach every later year.
        return queryset.filter(
            Q(period_end__year__gte=value) | Q(period_end__isnull=True, period_start__isnull=False)
        )

    def filter_year_max(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(period_start__year__lte=value)


class InstrumentFilter(django_filters.FilterSet):
    region = RegionTreeFilter(
        field_name="regions", label="Region", help_text="Region slug; includes sub-regions."
    )

    class Meta:
        model = Instrument
        fields: list[str] = []


class PledgingConferenceFilter(django_filters.FilterSet):
    region = RegionTreeFilter(
        field_name="regions", label="Region", help_text="Region slug; includes sub-regions."
    )
    year = django_filters.NumberFilter(
        field_name="date",
        lookup_expr="year",
        min_value=1,
        max_value=9999,
        help_text="Year of the conference.",
    )

    class Meta:
        model = PledgingConference
        fields: list[str] = []
