from __future__ import annotations

import django_filters
from django.db.models import Q

from migrationsupport.filters import RelatedChoiceFilter, YesNoFilter, published_choices
from migrationsupport.models import published_q

from .codes import to_alpha_2
from .models import CandidateStatus, CooperationStatus, Country, PopulationFigure, Region, Route, RouteFigure

# Filters by region and country, shared with the funding and agreements FilterSets.


class RegionTreeFilter(RelatedChoiceFilter):
    """A region by slug, matching records linked to it or to any of its published sub-regions.

    A draft sub-region, and a draft record in between (an agreement's party, for
    ``parties__region``), are not followed: a record linked to the region only through a draft
    is not listed, as the region's page does not list it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field_name", "slug")
        kwargs.setdefault("queryset", published_choices(Region))
        super().__init__(*args, **kwargs)

    def condition(self, path: str, value) -> Q:
        tree = type(value).objects.published().filter(Q(pk=value.pk) | Q(parent=value.pk)).values("pk")
        condition = Q(**{f"{path}__in": tree})
        steps = path.split("__")[:-1]
        for depth in range(1, len(steps) + 1):
            condition &= published_q("__".join(steps[:depth]))
        return condition


class CountryCodeField(django_filters.fields.ModelChoiceField):
    """A country by its ISO 3166-1 code in either case, alpha-2, alpha-3 or numeric (TR, tr, TUR,
    792): the site's own addresses use lower case alpha-2, aid-data users often alpha-3."""

    def to_python(self, value):
        return super().to_python(to_alpha_2(value) if isinstance(value, str) and value else value)

    def prepare_value(self, value):  # "tr" or "TUR" selects TR in the form
        return super().prepare_value(to_alpha_2(value) if isinstance(value, str) and value else value)


class CountryCodeMixin:
    """A published country by ISO 3166-1 code (TR, tr, TUR or 792)."""

    field_class: type[django_filters.fields.ModelChoiceField] = CountryCodeField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field_name", "iso_code")
        kwargs.setdefault("queryset", published_choices(Country))
        super().__init__(*args, **kwargs)


class CountryCodeFilter(CountryCodeMixin, django_filters.ModelChoiceFilter):
    pass


class RelatedCountryCodeFilter(CountryCodeMixin, RelatedChoiceFilter):
    pass


class CountryFilter(django_filters.FilterSet):
    region = RegionTreeFilter(
        field_name="region", label="Region", help_text="Region slug; includes sub-regions."
    )
    candidate_status = django_filters.ChoiceFilter(choices=CandidateStatus.choices)
    cooperation_status = django_filters.ChoiceFilter(choices=CooperationStatus.choices)
    eastern_partnership = YesNoFilter(
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
    top_level = YesNoFilter(
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
        help_text="ISO 3166-1 alpha-2, alpha-3 or numeric code, e.g. TR, TUR or 792.",
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
