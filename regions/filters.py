from __future__ import annotations

import django_filters

from migrationsupport.filters import (
    CountryCodeFilter,
    RegionTreeFilter,
    RelatedCountryCodeFilter,
    published_choices,
)

from .models import CandidateStatus, CooperationStatus, Country, PopulationFigure, Region, Route, RouteFigure


class CountryFilter(django_filters.FilterSet):
    region = RegionTreeFilter(
        field_name="region", label="Region", help_text="Region slug; includes sub-regions."
    )
    candidate_status = django_filters.ChoiceFilter(choices=CandidateStatus.choices)
    cooperation_status = django_filters.ChoiceFilter(choices=CooperationStatus.choices)
    eastern_partnership = django_filters.BooleanFilter(
        field_name="eastern_partnership_member", label="Eastern Partnership (ever a member)"
    )

    class Meta:
        model = Country
        fields: list[str] = []


class RegionFilter(django_filters.FilterSet):
    parent = django_filters.ModelChoiceFilter(
        to_field_name="slug",
        queryset=published_choices(Region),
        label="Inside",
        help_text="Slug of the larger region: its sub-regions.",
    )
    top_level = django_filters.BooleanFilter(
        field_name="parent", lookup_expr="isnull", label="Top-level only", help_text="true: no parent region."
    )

    class Meta:
        model = Region
        fields: list[str] = []


class RouteFilter(django_filters.FilterSet):
    region = RegionTreeFilter(
        field_name="regions", label="Region", help_text="Region slug; includes sub-regions."
    )
    country = RelatedCountryCodeFilter(
        field_name="countries",
        help_text="ISO 3166-1 alpha-2 code, e.g. TR.",
    )

    class Meta:
        model = Route
        fields: list[str] = []


class RouteFigureFilter(django_filters.FilterSet):
    route = django_filters.ModelChoiceFilter(
        to_field_name="slug", queryset=published_choices(Route), help_text="Slug of the route."
    )
    year = django_filters.NumberFilter(
        field_name="period", lookup_expr="year", min_value=1, max_value=9999, help_text="Year of the period."
    )

    class Meta:
        model = RouteFigure
        fields: list[str] = []


class PopulationFigureFilter(django_filters.FilterSet):
    country = CountryCodeFilter(help_text="ISO code of the host country.")
    origin = RelatedCountryCodeFilter(
        field_name="origins",
        help_text="ISO code of a country of origin.",
    )

    class Meta:
        model = PopulationFigure
        fields: list[str] = []
