from __future__ import annotations

from django.db.models import Prefetch
from django.views.generic import ListView

from agreements.selectors import agreements_with_timeline, documents_latest_first
from funding.listings import funding_largest_first
from migrationsupport.models import published_or_none, published_q
from migrationsupport.views import HOME, FilteredListView, PageMixin, PublishedDetailView

from .filters import CountryFilter
from .models import Country, PopulationFigure, Region, Route, RouteFigure
from .selectors import first_of, region_digests


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


class RegionDetailView(PublishedDetailView):
    model = Region
    parent_page = ("Regions", "regions:region-list")

    def get_queryset(self):
        return super().get_queryset().select_related("parent", "source")

    def get_trail_to(self, obj):
        parent = published_or_none(obj.parent)
        return [(parent.name, parent.get_absolute_url())] if parent else []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        region = self.object
        subregions = list(Region.objects.published().filter(parent=region))
        context["digest"] = region_digests(regions=[region, *subregions])[0]
        context["parent"] = published_or_none(region.parent)
        return context


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
        return Country.objects.published().for_listing()


class CountryDetailView(PublishedDetailView):
    model = Country
    slug_field = "iso_code"
    slug_url_kwarg = "iso_code"
    parent_page = ("Partner countries", "regions:country-list")

    def get_queryset(self):
        return super().get_queryset().select_related("region", "region__parent", "source")

    def get_object(self, queryset=None):
        self.kwargs["iso_code"] = self.kwargs["iso_code"].upper()
        return super().get_object(queryset)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        country = self.object
        region = published_or_none(country.region)
        figures = PopulationFigure.objects.published().select_related("country", "source")
        # Bounded like a region's lists; the explorer and the filtered lists show them all.
        agreements, more_agreements = first_of(agreements_with_timeline().filter(parties=country))
        funding, more_funding = first_of(funding_largest_first().filter(countries=country))
        documents, more_documents = first_of(documents_latest_first().filter(countries=country))
        context.update(
            region=region,
            populations=figures.filter(country=country).prefetch_published("origins"),
            origin_of=figures.filter(published_q("country"), origins=country),
            agreements=agreements,
            funding=funding,
            routes=Route.objects.published().filter(countries=country),
            documents=documents,
            more={"agreements": more_agreements, "funding": more_funding, "documents": more_documents},
        )
        return context


class RouteDetailView(PublishedDetailView):
    model = Route
    parent_page = ("Regions", "regions:region-list")

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("source")
            .prefetch_published("regions", "countries")
            .prefetch_related(
                Prefetch(
                    "figures",
                    queryset=RouteFigure.objects.published().select_related("source"),
                    to_attr="published_figures",
                ),
            )
        )
