"""The bases every public page builds on: breadcrumbs, footnotes, published-only detail pages and
filtered list pages. The pages themselves live in their apps and in ``migrationsupport.site``."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

import django_filters.fields
from django import forms
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator
from django.http import Http404
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.generic import DetailView, ListView
from django.views.generic.base import ContextMixin

from . import compiled
from .footnotes import Footnotes
from .history import with_last_published_change
from .registry import registry

if TYPE_CHECKING:
    from django_filters import FilterSet

HOME = ("Overview", reverse_lazy("home"))
#: How many records a page shows in a list that is not paged (the largest, latest or first ones);
#: a list that was cut links to the paged list or the explorer with all of them.
FIRST_ROWS = 25


def first_of(queryset: QuerySet, limit: int = FIRST_ROWS) -> tuple[list, bool]:
    """The first ``limit`` rows of ``queryset`` and whether there are more, from ``limit + 1`` rows."""
    return _cut(list(queryset[: limit + 1]), limit)


def first_kept(
    key: Hashable, build: Callable[..., QuerySet], *values, limit: int = FIRST_ROWS
) -> tuple[list, bool]:
    """``first_of(build(*values))``, the query built and compiled once per process for ``key``,
    each value in its place (``compiled.rows``): a record's lists, keyed by their shape and run
    with the record's id."""
    first = compiled.rows((key, limit), lambda *slots: build(*slots)[: limit + 1], *values, site=build)
    return _cut(first, limit)


def _cut(rows: list, limit: int) -> tuple[list, bool]:
    return rows[:limit], len(rows) > limit


def noted_records() -> list:
    """Published records whose note (the Belarus footnote) is shown where they are named: the
    same queries on every page, built and compiled once per process (``compiled.rows``)."""
    return [
        record
        for number, records in enumerate(registry.noted_records)
        for record in compiled.rows(("noted_records", number), records)
    ]


class PageMixin(ContextMixin):
    """What every public page has: breadcrumbs and the page's footnotes."""

    def get_breadcrumbs(self) -> list[tuple[str, str | None]]:
        """The trail from the overview to this page; the last entry (no address) is this page."""
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("breadcrumbs", self.get_breadcrumbs())
        context.setdefault("notes", Footnotes(noted_records))
        return context


class PublishedDetailView(PageMixin, DetailView):
    """A detail page that only ever shows published records: a draft is a 404 like a typo."""

    #: (label, url name) of the list page this record belongs to, for the breadcrumbs.
    parent_page: tuple[str, str] | None = None

    def get_queryset(self):
        # The date the page's "Last updated" shows, in the record's own query.
        return with_last_published_change(self.model.objects.for_public())

    def get_object(self, queryset=None):
        """The published record the address names (by its slug, or the view's ``slug_field``),
        its query built and compiled once per process for the view: the same SQL for every
        record, with its slug in place (``compiled.rows``). ``get_queryset`` must not depend on
        the request (none does: the public's rule is a status)."""
        if queryset is not None or self.pk_url_kwarg in self.kwargs:
            return super().get_object(queryset)
        field = self.get_slug_field()

        def build(slug):
            return self.get_queryset().filter(**{field: slug})[:1]

        found = compiled.rows((type(self), "object", field), build, self.kwargs[self.slug_url_kwarg])
        if not found:
            name = self.model._meta.verbose_name
            raise Http404(_("No %(verbose_name)s found matching the query") % {"verbose_name": name})
        return found[0]

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

    filterset_class: type[FilterSet] | None = None

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


class ListedChoices(ModelChoiceIterator):
    """A filter's choices (every published region, country, instrument...: a short list) read in
    one query. Django's iterator reads them through ``QuerySet.iterator()``, a server-side
    cursor on PostgreSQL: three round trips (declare, fetch, close) for each list of the form."""

    #: A list page's field (``kept_choices``): its query is kept compiled per process.
    key: Hashable | None = None

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        objs = self.queryset.all() if self.key is None else compiled.rows(self.key, self.queryset.all)
        for obj in objs:
            yield self.choice(obj)


class ListedFilterChoices(django_filters.fields.ModelChoiceIterator, ListedChoices):
    """``ListedChoices`` under django-filter's iterator, which adds its "null" choice."""


#: The iterator each model choice field's own one is replaced with (``prepare_form``).
_LISTED = {ModelChoiceIterator: ListedChoices, django_filters.fields.ModelChoiceIterator: ListedFilterChoices}


_kept_choices: dict[tuple[type, Hashable], type[ListedChoices]] = {}


def kept_choices(iterator: type[ModelChoiceIterator], key: Hashable) -> type[ListedChoices]:
    """``_LISTED[iterator]`` with its query built and compiled once per process for ``key``: a
    list page's filter field, whose choices are the same query on every request (the published
    regions, countries, key areas...: ``filters.published_choices``). One class per key."""
    listed = _LISTED[iterator]
    return _kept_choices.setdefault((listed, key), type(listed.__name__, (listed,), {"key": key}))


class FilteredListView(FilterMixin, PageMixin, ListView):
    """A filtered list page: the filter form, its errors, the matching records page by page.

    Invalid filter values (an unknown region, a year that is not a number) never reach the
    database: the page answers 400 with the form and its errors, and lists nothing.
    """

    paginate_by: int | None = 50
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
            # A yes/no filter's select (``filters.YesNoSelect``) has its "Any" already.
            if isinstance(field, forms.ModelChoiceField):
                field.empty_label = "Any"
                if field.iterator in _LISTED:
                    field.iterator = kept_choices(field.iterator, (type(self), name))
                    widget.choices = field.choices  # the widget holds the choices made at its creation
            elif isinstance(field, forms.ChoiceField):
                # The stubs type what ``choices`` gives as what it accepts; it gives (key, label) pairs.
                choices = [(key, label) for key, label in field.choices if key != ""]  # type: ignore[misc,union-attr]
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
