"""The funding FilterSet: one definition shared by the explorer page, its CSV and the API."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

import django_filters
from django.core.exceptions import EmptyResultSet
from django.db.models import Q, QuerySet

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


@dataclass(frozen=True)
class Combination:
    """What ``FundingFilter`` selected: the set (``records``, as the filters left it) and each
    filter's set alone over the same records (``singles``). Kept on the query of the set it
    returns (``funding_combination``); a set changed since (another filter, a slice) has another
    SQL and is not answered from it (``funding.snapshot``)."""

    records: QuerySet
    singles: tuple[QuerySet, ...]
    # For each single, (filter name, value) when it is a threshold (``THRESHOLDS``), else None:
    # ``funding.snapshot`` compares the amounts or years it holds instead of reading the records
    # at or beyond each new threshold.
    bounds: tuple[tuple[str, Decimal] | None, ...] = ()
    # The data's generation the set was last counted at in this request (``rollup.count``): its
    # pages are then cut from the same snapshot (``snapshot.page_ids``).
    counted_at: list[int] = field(default_factory=list, compare=False)
    # The queries ``snapshot._filtered_set`` compared with the set's SQL (weak references) and
    # whether it was theirs: a request asks about the same queryset several times, and its SQL is
    # compiled once. Django changes a filtered query only in a clone (a new object, checked anew).
    checked: list[tuple[weakref.ref, bool]] = field(default_factory=list, compare=False)

    def __getstate__(self) -> dict:
        # Weak references do not pickle: a copy compares its queries again.
        return {**self.__dict__, "checked": []}

    @cached_property
    def query(self) -> tuple[str, tuple]:
        """The SQL (and parameters) of the set's ids; raises ``EmptyResultSet`` as Django does."""
        from .rollup import _ids_query

        return _ids_query(self.records)

    @cached_property
    def single_queries(self) -> list[tuple[str, tuple]] | None:
        """The SQL of each filter's ids alone; None if one cannot select anything or reads a
        table whose writes do not mark the totals stale (``rollup.WATCHED_TABLES``)."""
        from .rollup import WATCHED_TABLES, _ids_query, tables_named

        try:
            queries = [_ids_query(single) for single in self.singles]
        except EmptyResultSet:
            return None
        return queries if all(tables_named(sql) <= WATCHED_TABLES for sql, _params in queries) else None


def periods_reaching(records: QuerySet, year) -> QuerySet:
    """``year_min``: periods that end in or after ``year``; an ongoing one (a start, no end)
    reaches every later year."""
    ongoing = Q(period_end__isnull=True, period_start__isnull=False)
    return records.filter(Q(period_end__year__gte=year) | ongoing)


def periods_starting_by(records: QuerySet, year) -> QuerySet:
    """``year_max``: periods that start in or before ``year``."""
    return records.filter(period_start__year__lte=year)


#: The thresholds: each filter's records as ``FundingFilter`` selects them (the year filters call
#: these functions; the amount filters' ``lookup_expr`` says the same). ``funding.snapshot``
#: answers from the values it holds only when a threshold's SQL is exactly this one's: a
#: difference sends it to SQL, never to a wrong answer.
THRESHOLDS = {
    "amount_min": lambda records, value: records.filter(amount__gte=value),
    "amount_max": lambda records, value: records.filter(amount__lte=value),
    "year_min": periods_reaching,
    "year_max": periods_starting_by,
}


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

    def filter_queryset(self, queryset):
        """The records all the filters select; and, kept on its query, each filter's records
        alone (``Combination``): the totals and size of two or more filters together
        are the intersection of those, computed in memory (``funding.snapshot``)."""
        singles, bounds = [], []
        for name, value in self.form.cleaned_data.items():
            single = self.filters[name].filter(queryset, value)
            if single is not queryset:
                singles.append(single)
                bounds.append((name, value) if name in THRESHOLDS else None)
        # One filter's set is its single (the filters chained would build the same query again);
        # a clone, so the combination kept on its query is not on the single's.
        records = singles[0].all() if len(singles) == 1 else super().filter_queryset(queryset)
        records.query.funding_combination = Combination(records.all(), tuple(singles), tuple(bounds))
        return records

    def filter_year(self, queryset, name, value):
        """Only a figure whose period starts and ends in the year is money for that year: a
        cumulative or multi-year figure would be counted as if all of it were."""
        if value is None:
            return queryset
        return queryset.filter(period_start__year=value, period_end__year=value)

    def filter_year_min(self, queryset, name, value):
        return queryset if value is None else periods_reaching(queryset, value)

    def filter_year_max(self, queryset, name, value):
        return queryset if value is None else periods_starting_by(queryset, value)


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
