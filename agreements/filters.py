"""FilterSets for agreements and documents, shared by the pages and the API."""

from __future__ import annotations

import django_filters

from migrationsupport.filters import RegionTreeFilter, published_choices
from migrationsupport.models import Theme
from regions.models import Country

from .models import Agency, Agreement, AgreementKind, AgreementStatus, Document, DocumentKind


class AgreementFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=AgreementKind.choices)
    status = django_filters.ChoiceFilter(
        field_name="current_status_code",
        choices=AgreementStatus.choices,
        label="Current status",
        help_text="The status after the latest event (or as stated by the source).",
    )
    country = django_filters.ModelChoiceFilter(
        field_name="parties",
        to_field_name="iso_code",
        queryset=published_choices(Country),
        help_text="ISO 3166-1 alpha-2 code of a party.",
    )
    region = RegionTreeFilter(field_name="parties__region", label="Region")
    agency = django_filters.ChoiceFilter(choices=Agency.choices)
    date_after = django_filters.DateFilter(
        field_name="events__date", lookup_expr="gte", label="Event on or after", help_text="YYYY-MM-DD"
    )
    date_before = django_filters.DateFilter(
        field_name="events__date", lookup_expr="lte", label="Event on or before", help_text="YYYY-MM-DD"
    )

    class Meta:
        model = Agreement
        fields: list[str] = []

    @property
    def qs(self):
        return super().qs.distinct()


class DocumentFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=DocumentKind.choices)
    region = RegionTreeFilter(field_name="regions", label="Region")
    country = django_filters.ModelChoiceFilter(
        field_name="countries", to_field_name="iso_code", queryset=published_choices(Country)
    )
    theme = django_filters.ModelChoiceFilter(
        field_name="themes", to_field_name="slug", queryset=published_choices(Theme), label="Key area"
    )
    year = django_filters.NumberFilter(field_name="date", lookup_expr="year")

    class Meta:
        model = Document
        fields: list[str] = []

    @property
    def qs(self):
        return super().qs.distinct()
