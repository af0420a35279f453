"""The regions' own pages. A region's or a country's page shows other apps' records: those pages
are in ``migrationsupport.site``."""

from __future__ import annotations

from django.db.models import Prefetch
from django.views.generic import ListView

from migrationsupport.views import HOME, FilteredListView, PageMixin

from .filters import CountryFilter
from .models import Country, Region, Route


class RegionListView(PageMixin, ListView):
    template_name = "regions/region_list.html"

    def get_queryset(self):
        return Region.objects.published().prefetch_related(
            Prefetch("countries", queryset=Country.objects.published(), to_attr="published_countries")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        regions = list(context["object_list"])
        by_parent: dict[int | None, list[Region]] = {}
        for region in regions:
            by_parent.setdefault(region.parent_id, []).append(region)
        known = {region.pk for region in regions}
        for region in regions:
            region.published_subregions = by_parent.get(region.pk, [])
        context["roots"] = [r for r in regions if r.parent_id is None or r.parent_id not in known]
        return context

    def get_breadcrumbs(self):
        return [HOME, ("Regions", None)]


class CountryListView(FilteredListView):
    filterset_class = CountryFilter
    template_name = "regions/country_list.html"
    page_title = "Partner countries"
    paginate_by = 100
    field_labels = {
        "candidate_status": "Relationship with the EU",
        "cooperation_status": "Cooperation",
        "eastern_partnership": "Eastern Partnership (ever a member)",
    }
    field_hints = {"region": "Includes its sub-regions."}

    def get_base_queryset(self):
        return Country.objects.for_public()


class RouteListView(PageMixin, ListView):
    """The migratory routes, a page at a time (the seed names two)."""

    template_name = "regions/route_list.html"
    paginate_by = 50

    def get_queryset(self):
        return Route.objects.for_public().prefetch_published("countries").order_by("name", "pk")

    def get_breadcrumbs(self):
        return [HOME, ("Migratory routes", None)]
