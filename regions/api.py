"""API endpoints for geography: regions, countries, routes, route and population figures."""

from __future__ import annotations

from migrationsupport.api import PublishableViewSet

from .filters import CountryFilter, PopulationFigureFilter, RegionFilter, RouteFigureFilter, RouteFilter
from .models import Country, PopulationFigure, Region, Route, RouteFigure
from .serializers import (
    CountrySerializer,
    PopulationFigureSerializer,
    RegionSerializer,
    RouteFigureSerializer,
    RouteSerializer,
)


class RegionViewSet(PublishableViewSet):
    """Regions of the EU's neighbourhood and their sub-regions."""

    queryset = Region.objects.all()
    serializer_class = RegionSerializer
    filterset_class = RegionFilter
    list_select_related = ("source", "parent")
    list_prefetch = ("subregions",)
    search_fields = ("name", "summary")
    ordering_fields = ("name", "order", "updated_at")


class CountryViewSet(PublishableViewSet):
    """Partner countries (and countries of origin named by a figure), by ISO 3166-1 alpha-2 code."""

    queryset = Country.objects.all()
    serializer_class = CountrySerializer
    filterset_class = CountryFilter
    lookup_field = "iso_code"
    lookup_value_regex = "[A-Za-z]{2}"
    list_select_related = ("source", "region")
    search_fields = ("name", "iso_code")
    ordering_fields = ("name", "iso_code", "updated_at")

    def normalise_lookup(self, value: str) -> str:
        return value.upper()


class RouteViewSet(PublishableViewSet):
    """The main migratory routes."""

    queryset = Route.objects.all()
    serializer_class = RouteSerializer
    filterset_class = RouteFilter
    list_prefetch = ("regions", "countries", "figures")
    search_fields = ("name",)
    ordering_fields = ("name", "updated_at")


class RouteFigureViewSet(PublishableViewSet):
    """Figures about a route, e.g. a 70% decrease of irregular border crossings in 2024."""

    queryset = RouteFigure.objects.all()
    serializer_class = RouteFigureSerializer
    filterset_class = RouteFigureFilter
    list_select_related = ("source", "route")
    published_parents = ("route",)
    search_fields = ("label",)
    ordering_fields = ("period", "percent", "updated_at")


class PopulationFigureViewSet(PublishableViewSet):
    """People a country hosts, e.g. around 3.1 million refugees from Syria in Türkiye."""

    queryset = PopulationFigure.objects.all()
    serializer_class = PopulationFigureSerializer
    filterset_class = PopulationFigureFilter
    list_select_related = ("source", "country")
    list_prefetch = ("origins",)
    published_parents = ("country",)
    search_fields = ("group",)
    ordering_fields = ("value", "as_of", "updated_at")
