"""The site's pages that combine the apps: the overview, key areas, search, and the region and
country pages with their funding, agreements and documents.

The site layer sits above the domain apps: it may import them, they never import it.
"""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.views import View
from django.views.generic import ListView, TemplateView

from agreements.filters import DocumentRegionFilter
from agreements.lifecycle import FAMILIES
from agreements.models import Agreement, Document
from agreements.selectors import (
    agreement_lanes,
    agreements_with_latest_event,
    agreements_with_timeline,
    documents_latest_first,
)
from funding.listings import funding_largest_first
from migrationsupport import compiled, search
from migrationsupport.api_defaults import AnonymousExpensiveThrottle, AnonymousExportThrottle, whole_number
from migrationsupport.models import PageSection, Theme
from migrationsupport.registry import registry
from migrationsupport.search import (
    FEW_RESULTS,
    MAX_QUERY_LENGTH,
    RecordType,
    normalise_query,
    search_records,
    search_suggestion,
)
from migrationsupport.throttling import throttle
from migrationsupport.views import HOME, PageMixin, PublishedDetailView, first_kept, first_of
from regions.models import Country, PopulationFigure, Region, Route, RouteFigure

from .catalogue import (
    DISTRIBUTIONS,
    LICENCE,
    PUBLISHER_NAME,
    PUBLISHER_PAGE,
    catalogue_graph,
    dataset_coverage,
    package_metadata,
)
from .datapackage import datapackage_download
from .digests import region_digests

HOME_DOCUMENTS_LIMIT = 25
# The overview shows the first 10 funding records, agreements and documents of each region (the
# seed has at most 7 of a kind), each region's page 25; a list that was cut links to all of them.
OVERVIEW_LIST_LIMIT = 10


class HomeView(PageMixin, TemplateView):
    """The seed page rebuilt from records: page sections, then each region with its records."""

    template_name = "home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Listed by name only: no related record to load. Every query here is the same on every
        # request (the regions' are the published ones), built and compiled once per process.
        themes = compiled.rows("home.themes", Theme.objects.published)
        routes = compiled.rows("home.routes", Route.objects.published)
        sections = compiled.rows("home.sections", PageSection.objects.for_public)
        # Lists the page sections introduce, shown right after their section (or on their own).
        extras = {"key-areas": ("themes", themes), "whole-of-route": ("routes", routes)}
        for section in sections:
            section.extra = extras.pop(section.slug, (None, None))[0]
        context.update(
            sections=sections,
            themes=themes,
            routes=routes,
            leftover_extras=[kind for kind, _ in extras.values()],
            digests=region_digests(
                regions=compiled.rows("home.regions", Region.objects.published), limit=OVERVIEW_LIST_LIMIT
            ),
            # The latest ones; the documents list (linked below them) pages through all of them.
            documents=compiled.rows(
                "home.documents", lambda: documents_latest_first(relations=False)[:HOME_DOCUMENTS_LIMIT]
            ),
        )
        return context


class ThemeListView(PageMixin, ListView):
    template_name = "migrationsupport/theme_list.html"

    def get_queryset(self):
        return Theme.objects.for_public()

    def get_breadcrumbs(self):
        return [HOME, ("Key areas", None)]


class ThemeDetailView(PublishedDetailView):
    model = Theme
    template_name = "migrationsupport/theme_detail.html"
    parent_page = ("Key areas", "theme-list")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        theme = self.object
        # Bounded like a region's lists; the explorer and the filtered lists show them all.
        funding, more_funding = first_kept(
            "theme.funding", lambda pk: funding_largest_first(relations=False).filter(themes=pk), theme.pk
        )
        agreements, more_agreements = first_kept(
            "theme.agreements", lambda pk: agreements_with_latest_event().filter(themes=pk), theme.pk
        )
        documents, more_documents = first_kept(
            "theme.documents", lambda pk: documents_latest_first(relations=False).filter(themes=pk), theme.pk
        )
        context.update(
            funding=funding,
            agreements=agreements,
            documents=documents,
            more={"funding": more_funding, "agreements": more_agreements, "documents": more_documents},
        )
        return context


@method_decorator(throttle(AnonymousExpensiveThrottle), name="dispatch")
class SearchView(PageMixin, TemplateView):
    """Every record type's best results, each linking to that type's own pages of results
    (``?type=funding&page=2``) when more match than it shows."""

    template_name = "migrationsupport/search.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "\x00" in self.request.GET.get("q", ""):  # PostgreSQL refuses NUL in any text it compares
            raise BadRequest("A search cannot contain NUL characters.")
        only, page = self.record_type, self.page_number
        if only is None:
            groups = search_records(self.query)
        else:
            size = search.TYPE_PAGE_SIZE
            groups = search_records(self.query, limit=size, only=only, offset=(page - 1) * size)
            if not groups and page > 1:
                raise Http404("No such page of results.")
        hit_count = sum(len(group.hits) for group in groups)
        counted = all(group.matched is not None for group in groups)
        context.update(
            query=self.query,
            max_length=MAX_QUERY_LENGTH,
            groups=groups,
            record_type=only,
            page_number=page,
            # How many pages a type's results make, when they were counted.
            page_count=search.type_pages(groups[0].matched)
            if only and groups and groups[0].matched
            else None,
            type_results=search.type_reach(),
            hit_count=hit_count,
            # All the records matching, when every group counted them (``SearchGroup.matched``).
            match_count=sum(group.matched for group in groups) if counted else None,
            # More match than that count, or than the results shown when some were not counted.
            more_matches=any(group.more or (not counted and group.more_follow) for group in groups),
            # One more query, only when the results are few: the nearest spelling, if any.
            suggestion=(
                search_suggestion(self.query)
                if self.query and only is None and hit_count < FEW_RESULTS
                else None
            ),
        )
        return context

    @cached_property
    def query(self) -> str:
        return normalise_query(self.request.GET.get("q"))

    @cached_property
    def record_type(self) -> RecordType | None:
        """The one record type asked for (``?type=``) with a query, or None for all; an unknown
        one is all."""
        slug = self.request.GET.get("type", "")
        if not self.query:
            return None
        return next((record_type for record_type in registry.search if record_type.slug == slug), None)

    @cached_property
    def page_number(self) -> int:
        """Which page of one type's results (``?page=``, from 1); a 404 past the last one a type
        has (``search.type_reach()``), and for anything but a page number, as the lists answer."""
        if self.record_type is None:
            return 1
        raw = self.request.GET.get("page", "1")
        number = int(raw) if whole_number(raw) and len(raw) < 8 else 0
        if not 1 <= number <= search.type_pages(search.type_reach()):
            raise Http404("No such page of results.")
        return number

    def get_breadcrumbs(self):
        if self.record_type is None:
            return [HOME, ("Search", None)]
        address = f"{reverse('search')}?{urlencode({'q': self.query})}"
        return [HOME, ("Search", address), (self.record_type.label, None)]


class RegionDetailView(PublishedDetailView):
    model = Region
    template_name = "regions/region_detail.html"
    parent_page = ("Regions", "regions:region-list")

    def get_trail_to(self, obj):
        parent = obj.parent
        return [(parent.name, parent.get_absolute_url())] if parent else []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        region = self.object
        subregions = list(Region.objects.for_public().filter(parent=region))
        context["digest"] = region_digests(regions=[region, *subregions])[0]
        context["parent"] = region.parent
        # The same filter as the documents list it links to: the link is shown only when that list
        # is not empty (the seed names no document on the Western Balkans).
        on_region = DocumentRegionFilter(field_name="regions").filter(Document.objects.published(), region)
        context["has_documents"] = on_region.exists()
        return context


class CountryDetailView(PublishedDetailView):
    model = Country
    slug_field = "iso_code"
    slug_url_kwarg = "iso_code"
    template_name = "regions/country_detail.html"
    parent_page = ("Partner countries", "regions:country-list")

    def get_object(self, queryset=None):
        self.kwargs["iso_code"] = self.kwargs["iso_code"].upper()
        return super().get_object(queryset)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        country = self.object
        region = country.region
        figures = PopulationFigure.objects.for_public()
        # Bounded like a region's lists; the explorer and the filtered lists show them all.
        # Each list's query kept compiled per process, the country's id in its place.
        agreements, more_agreements = first_kept(
            "country.agreements", lambda pk: agreements_with_timeline().filter(parties=pk), country.pk
        )
        funding, more_funding = first_kept(
            "country.funding",
            lambda pk: funding_largest_first(relations=False).filter(countries=pk),
            country.pk,
        )
        documents, more_documents = first_kept(
            "country.documents",
            lambda pk: documents_latest_first(relations=False).filter(countries=pk),
            country.pk,
        )
        context.update(
            region=region,
            populations=compiled.rows(
                "country.populations", lambda pk: figures.filter(country=pk), country.pk
            ),
            origin_of=compiled.rows("country.origin_of", lambda pk: figures.filter(origins=pk), country.pk),
            agreements=agreements,
            agreement_lanes=agreement_lanes(agreements),
            families=FAMILIES,
            funding=funding,
            routes=compiled.rows(  # listed by name
                "country.routes", lambda pk: Route.objects.published().filter(countries=pk), country.pk
            ),
            documents=documents,
            more={"agreements": more_agreements, "funding": more_funding, "documents": more_documents},
        )
        return context


class RouteDetailView(PublishedDetailView):
    """A migratory route: its figures, regions and countries, the documents on it and the
    agreements with its countries (the first ones; the filtered lists have them all)."""

    model = Route
    template_name = "regions/route_detail.html"
    parent_page = ("Migratory routes", "regions:route-list")

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .prefetch_published("countries")
            .prefetch_related(
                Prefetch("figures", queryset=RouteFigure.objects.for_public(), to_attr="published_figures"),
            )
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        route = self.object
        # A semi-join: an agreement with two of the route's countries is listed once.
        with_route_party = Agreement.parties.through.objects.filter(
            country__in=[country.pk for country in route.countries.all()]
        ).values("agreement_id")
        agreements, more_agreements = first_of(
            agreements_with_timeline().filter(pk__in=with_route_party).order_by("title", "pk")
        )
        documents, more_documents = first_kept(
            "route.documents", lambda pk: documents_latest_first(relations=False).filter(routes=pk), route.pk
        )
        context.update(
            agreements=agreements,
            documents=documents,
            more={"agreements": more_agreements, "documents": more_documents},
        )
        return context


class DataView(PageMixin, TemplateView):
    """Open data: every format of the dataset, its licence, and the catalogue entry (DCAT-AP)."""

    template_name = "migrationsupport/data.html"

    def get_breadcrumbs(self):
        return [HOME, ("Open data", None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            distributions=[(d, reverse(d.url_name)) for d in DISTRIBUTIONS],
            licence=LICENCE,
            publisher=PUBLISHER_NAME,
            publisher_page=PUBLISHER_PAGE,
        )
        return context


@method_decorator(throttle(AnonymousExportThrottle), name="dispatch")
class DataPackageView(View):
    """The whole published dataset as a Frictionless data package (a zip), streamed."""

    def get(self, request, *args, **kwargs):
        return datapackage_download(
            metadata=package_metadata(absolute_url=request.build_absolute_uri),
            filename="eu-migration-support-datapackage.zip",
        )


class CatalogueView(View):
    """The DCAT-AP catalogue entry, as Turtle or JSON-LD (``format``, from the address)."""

    formats = {"ttl": ("turtle", "text/turtle"), "jsonld": ("json-ld", "application/ld+json")}
    format = "ttl"

    def get(self, request, *args, **kwargs):
        name, content_type = self.formats[self.format]
        graph = catalogue_graph(absolute_url=request.build_absolute_uri, coverage=dataset_coverage())
        return HttpResponse(graph.serialize(format=name), content_type=f"{content_type}; charset=utf-8")
