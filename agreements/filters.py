"""FilterSets for agreements and documents, shared by the pages and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q

from migrationsupport.filters import (
    RelatedChoiceFilter,
    published_choices,
    related_pks,
)
from migrationsupport.models import Theme
from regions.filters import RegionTreeFilter, RelatedCountryCodeFilter
from regions.models import Route

from .models import (
    Agency,
    Agreement,
    AgreementEvent,
    AgreementKind,
    AgreementStatus,
    Document,
    DocumentKind,
    EventKind,
)


class AgreementRegionFilter(RegionTreeFilter):
    """A region: agreements with a party in it (or in a sub-region), and the arrangements made
    with the region itself rather than named countries (``Agreement.region``), as a region's page
    lists them."""

    def filter(self, qs, value):
        if not value:
            return qs
        by_party = related_pks(qs.model, self.field_name, lambda path: self.condition(path, value))
        return qs.filter(Q(pk__in=by_party) | self.condition("region", value))


class AgreementRouteFilter(RelatedChoiceFilter):
    """A route by slug: agreements with a party among the route's published countries, as the
    route's page lists them."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field_name", "slug")
        kwargs.setdefault("queryset", published_choices(Route))
        super().__init__(*args, **kwargs)

    def condition(self, path: str, value) -> Q:
        countries = value.countries.published().values("pk")
        return Q(**{f"{path}__in": countries})


class DocumentRegionFilter(RegionTreeFilter):
    """A region: documents linked to it (or a sub-region), or to one of its countries (or a
    sub-region's), as "Key documents on <region>" promises."""

    def filter(self, qs, value):
        if not value:
            return qs
        by_region = related_pks(qs.model, "regions", lambda path: self.condition(path, value))
        by_country = related_pks(qs.model, "countries__region", lambda path: self.condition(path, value))
        return qs.filter(Q(pk__in=by_region) | Q(pk__in=by_country))


class AgreementFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=AgreementKind.choices)
    status = django_filters.ChoiceFilter(
        field_name="current_status_code",
        choices=AgreementStatus.choices,
        label="Current status",
        help_text="The status after the latest event (or as stated by the source).",
    )
    country = RelatedCountryCodeFilter(
        field_name="parties",
        help_text="ISO 3166-1 alpha-2 code of a party.",
    )
    region = AgreementRegionFilter(
        field_name="parties__region",
        label="Region",
        help_text="Region slug: agreements with a party in it or in one of its sub-regions, or made "
        "with the region itself.",
    )
    route = AgreementRouteFilter(
        field_name="parties",
        label="Migratory route",
        help_text="Route slug: agreements with a party among the route's countries.",
    )
    theme = RelatedChoiceFilter(
        field_name="themes", to_field_name="slug", queryset=published_choices(Theme), label="Key area"
    )
    agency = django_filters.ChoiceFilter(choices=Agency.choices)
    date_after = django_filters.DateFilter(
        method="filter_event_date",
        label="Event on or after",
        help_text="YYYY-MM-DD: agreements with a published event on or after this date.",
    )
    date_before = django_filters.DateFilter(
        method="filter_event_date",
        label="Event on or before",
        help_text="YYYY-MM-DD: agreements with a published event on or before this date.",
    )

    class Meta:
        model = Agreement
        fields: list[str] = []

    def filter_queryset(self, queryset):
        """Both dates bound the *same* published event; draft events never count."""
        after, before = self.form.cleaned_data.get("date_after"), self.form.cleaned_data.get("date_before")
        queryset = super().filter_queryset(queryset)
        if after or before:
            events = AgreementEvent.objects.published().filter(agreement=OuterRef("pk"))
            if after:
                events = events.filter(date__gte=after)
            if before:
                events = events.filter(date__lte=before)
            queryset = queryset.filter(Exists(events))
        return queryset

    def filter_event_date(self, queryset, name, value):  # applied together in filter_queryset
        return queryset


class DocumentFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=DocumentKind.choices)
    region = DocumentRegionFilter(
        field_name="regions",
        label="Region",
        help_text="Region slug: documents on the region, one of its sub-regions or one of their countries.",
    )
    country = RelatedCountryCodeFilter(field_name="countries")
    route = RelatedChoiceFilter(
        field_name="routes",
        to_field_name="slug",
        queryset=published_choices(Route),
        label="Migratory route",
        help_text="Route slug, e.g. eastern-mediterranean-route.",
    )
    theme = RelatedChoiceFilter(
        field_name="themes", to_field_name="slug", queryset=published_choices(Theme), label="Key area"
    )
    year = django_filters.NumberFilter(field_name="date", lookup_expr="year", min_value=1, max_value=9999)

    class Meta:
        model = Document
        fields: list[str] = []


class AgreementEventFilter(django_filters.FilterSet):
    agreement = django_filters.ModelChoiceFilter(
        to_field_name="slug", queryset=published_choices(Agreement), help_text="Slug of the agreement."
    )
    kind = django_filters.ChoiceFilter(choices=EventKind.choices)
    date_after = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", label="On or after", help_text="YYYY-MM-DD"
    )
    date_before = django_filters.DateFilter(
        field_name="date", lookup_expr="lte", label="On or before", help_text="YYYY-MM-DD"
    )

    class Meta:
        model = AgreementEvent
        fields: list[str] = []
