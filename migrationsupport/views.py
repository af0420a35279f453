"""Site-wide pages (overview, key areas, search) and the bases every public page builds on."""

from __future__ import annotations

from django import forms
from django.core.exceptions import BadRequest
from django.db.models import QuerySet
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.views.generic import DetailView, ListView, TemplateView
from django.views.generic.base import ContextMixin

from agreements.selectors import agreements_with_timeline, documents_latest_first
from funding.listings import funding_largest_first
from regions.models import Country, Region, Route
from regions.selectors import region_digests

from .api_defaults import AnonymousExpensiveThrottle
from .footnotes import Footnotes
from .models import PageSection, Theme
from .search import MAX_QUERY_LENGTH, normalise_query, search_records
from .throttling import throttle

HOME = ("Overview", reverse_lazy("home"))
HOME_DOCUMENTS_LIMIT = 25
# The overview shows the first 10 funding records, agreements and documents of each region (the
# seed has at most 7 of a kind), each region's page 25; a list that was cut links to all of them.
OVERVIEW_LIST_LIMIT = 10


def noted_countries():
    """Published countries whose note (the Belarus footnote) is shown where they are named."""
    return Country.objects.published().exclude(cooperation_note="")


class PageMixin(ContextMixin):
    """What every public page has: breadcrumbs and the page's footnotes."""

    def get_breadcrumbs(self) -> list[tuple[str, str | None]]:
        """The trail from the overview to this page; the last entry (no address) is this page."""
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("breadcrumbs", self.get_breadcrumbs())
        context.setdefault("notes", Footnotes(noted_countries))
        return context


class PublishedDetailView(PageMixin, DetailView):
    """A detail page that only ever shows published records: a draft is a 404 like a typo."""

    #: (label, url name) of the list page this record belongs to, for the breadcrumbs.
    parent_page: tuple[str, str] | None = None

    def get_queryset(self):
        return self.model.objects.published()

    def get_breadcrumbs(self):
        trail = [HOME]
        if self.parent_page:
            label, url_name = self.parent_page
            trail.append((label, reverse(url_name)))
        return [*trail, *self.get_trail_to(self.object), (self.get_page_label(self.object), None)]

    def get_page_label(self, obj) -> str:
        return str(obj)

    def get_trail_to(self, obj) -> list[tuple[str, str]]:
        """Pages between the list page and this record (a region's parent region...)."""
        return []


class FilterMixin:
    """Filter a view's records with the FilterSet the API uses, built from the query string."""

    filterset_class = None

    def get_base_queryset(self) -> QuerySet:
        raise NotImplementedError

    def get_filterset(self):
        if not hasattr(self, "_filterset"):
            self._filterset = self.filterset_class(
                self.request.GET, queryset=self.get_base_queryset(), request=self.request
            )
        return self._filterset

    @property
    def filters_valid(self) -> bool:
        return self.get_filterset().form.is_valid()

    def get_queryset(self):
        """The filtered records; none at all when a filter value is invalid."""
        filterset = self.get_filterset()
        return filterset.qs if self.filters_valid else filterset.queryset.none()


class FilteredListView(FilterMixin, PageMixin, ListView):
    """A filtered list page: the filter form, its errors, the matching records page by page.

    Invalid filter values (an unknown region, a year that is not a number) never reach the
    database: the page answers 400 with the form and its errors, and lists nothing.
    """

    paginate_by = 50
    page_title = ""
    #: Filters shown in "More filters", still applied from the address when folded away.
    advanced_fields: tuple[str, ...] = ()
    #: Labels and hints for people, replacing the API-oriented ones of the FilterSet.
    field_labels: dict[str, str] = {}
    field_hints: dict[str, str] = {}
    #: Query parameters that are not filters but survive a new submission of the form.
    keep_query_params: tuple[str, ...] = ()

    def get_filterset(self):
        if not hasattr(self, "_filterset"):
            super().get_filterset()
            self.prepare_form(self._filterset.form)
        return self._filterset

    def active_filters(self) -> dict:
        if not self.filters_valid:
            return {}
        return {
            name: value
            for name, value in self.get_filterset().form.cleaned_data.items()
            if value not in (None, "")
        }

    def prepare_form(self, form: forms.Form) -> None:
        """Labels, hints, "Any" choices, native date inputs and error wiring for assistive tech."""
        for name, field in form.fields.items():
            field.label = self.field_labels.get(name, field.label)
            field.help_text = self.field_hints.get(name, "")
            widget = field.widget
            if isinstance(field, forms.NullBooleanField):
                widget.choices = [("unknown", "Any"), ("true", "Yes"), ("false", "No")]
            elif isinstance(field, forms.ModelChoiceField):
                field.empty_label = "Any"
            elif isinstance(field, forms.ChoiceField):
                choices = [(key, label) for key, label in field.choices if key != ""]
                if hasattr(field, "empty_label"):  # django-filter's ChoiceField adds its own blank
                    field.empty_label = "Any"
                    field.choices = choices
                else:
                    field.choices = [("", "Any"), *choices]
            elif isinstance(field, forms.DateField):
                widget.input_type = "date"
            elif isinstance(field, forms.DecimalField):
                widget.attrs.setdefault("inputmode", "numeric")
        # Only now validate: bound fields copy labels and hints when the form first builds them.
        for name, field in form.fields.items():
            widget = field.widget
            described_by = []
            if field.help_text:
                described_by.append(f"id_{name}_helptext")
            if form.is_bound and name in form.errors:
                described_by.append(f"id_{name}_error")
                widget.attrs["aria-invalid"] = "true"
            if described_by:
                widget.attrs["aria-describedby"] = " ".join(described_by)

    def render_to_response(self, context, **response_kwargs):
        if not self.filters_valid:
            response_kwargs.setdefault("status", 400)
        return super().render_to_response(context, **response_kwargs)

    def get_breadcrumbs(self):
        return [HOME, (self.page_title, None)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = self.get_filterset().form
        page = context.get("page_obj")
        context.update(
            page_title=self.page_title,
            filter_form=form,
            basic_fields=[form[name] for name in form.fields if name not in self.advanced_fields],
            advanced_fields=[form[name] for name in self.advanced_fields if name in form.fields],
            advanced_open=any(
                name in self.active_filters() or name in form.errors for name in self.advanced_fields
            ),
            filters_valid=self.filters_valid,
            filtered=bool(self.active_filters()),
            result_count=page.paginator.count if page else len(context["object_list"]),
            keep_params=[(k, self.request.GET[k]) for k in self.keep_query_params if self.request.GET.get(k)],
        )
        return context


class HomeView(PageMixin, TemplateView):
    """The seed page rebuilt from records: page sections, then each region with its records."""

    template_name = "home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        themes = list(Theme.objects.published())
        routes = list(Route.objects.published())
        sections = list(PageSection.objects.published())
        # Lists the page sections introduce, shown right after their section (or on their own).
        extras = {"key-areas": ("themes", themes), "whole-of-route": ("routes", routes)}
        for section in sections:
            section.extra = extras.pop(section.slug, (None, None))[0]
        context.update(
            sections=sections,
            themes=themes,
            routes=routes,
            leftover_extras=[kind for kind, _ in extras.values()],
            digests=region_digests(regions=Region.objects.published(), limit=OVERVIEW_LIST_LIMIT),
            # The latest ones; the documents list (linked below them) pages through all of them.
            documents=documents_latest_first()[:HOME_DOCUMENTS_LIMIT],
        )
        return context


class ThemeListView(PageMixin, ListView):
    template_name = "migrationsupport/theme_list.html"

    def get_queryset(self):
        return Theme.objects.published()

    def get_breadcrumbs(self):
        return [HOME, ("Key areas", None)]


class ThemeDetailView(PublishedDetailView):
    model = Theme
    template_name = "migrationsupport/theme_detail.html"
    parent_page = ("Key areas", "theme-list")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        theme = self.object
        context.update(
            funding=funding_largest_first().filter(themes=theme),
            agreements=agreements_with_timeline().filter(themes=theme),
            documents=documents_latest_first().filter(themes=theme),
        )
        return context


@method_decorator(throttle(AnonymousExpensiveThrottle), name="dispatch")
class SearchView(PageMixin, TemplateView):
    template_name = "migrationsupport/search.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "\x00" in self.request.GET.get("q", ""):  # PostgreSQL refuses NUL in any text it compares
            raise BadRequest("A search cannot contain NUL characters.")
        query = normalise_query(self.request.GET.get("q"))
        groups = search_records(query)
        context.update(
            query=query,
            max_length=MAX_QUERY_LENGTH,
            groups=groups,
            hit_count=sum(len(group.hits) for group in groups),
        )
        return context

    def get_breadcrumbs(self):
        return [HOME, ("Search", None)]
