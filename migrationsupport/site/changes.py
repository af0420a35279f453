"""What changed, for readers: the site-wide "What changed" page and the Atom feeds.

Both read the public change log (``migrationsupport.changes``): one table, so a page is one
query for its rows (and one to count) however many record types there are, plus the fixed
queries of ``changes.describe``. A change is "in" a region, a country, an instrument or an
agreement when its record is now linked to it (``scope_q``); a deleted record is in none, it
shows on the unfiltered page and feed only.
"""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.contrib.syndication.views import Feed
from django.db.models import Field, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape, format_html_join

from agreements.models import Agreement, AgreementEvent, Document
from funding.models import FundingRecord, Instrument, PledgingConference
from migrationsupport.changes import ReaderChange, api_routes, describe, read_columns, reader_rows
from migrationsupport.filters import published_choices
from migrationsupport.models import PublishableModel
from migrationsupport.services import publishable_models
from migrationsupport.views import FilteredListView
from regions.filters import CountryCodeFilter
from regions.models import Country, PopulationFigure, Region, Route, RouteFigure

#: How each record type is linked to a region, a country, an instrument or an agreement.
SCOPES: dict[str, dict[type[PublishableModel], tuple[str, ...]]] = {
    "region": {
        Region: ("pk",),
        Country: ("region",),
        Route: ("regions",),
        RouteFigure: ("route__regions",),
        PopulationFigure: ("country__region",),
        Instrument: ("regions",),
        PledgingConference: ("regions",),
        FundingRecord: ("regions", "countries__region"),
        Agreement: ("region", "parties__region"),
        AgreementEvent: ("agreement__region", "agreement__parties__region"),
        Document: ("regions", "countries__region"),
    },
    "country": {
        Country: ("pk",),
        Route: ("countries",),
        RouteFigure: ("route__countries",),
        PopulationFigure: ("country", "origins"),
        FundingRecord: ("countries",),
        Agreement: ("parties",),
        AgreementEvent: ("agreement__parties",),
        Document: ("countries",),
    },
    "instrument": {Instrument: ("pk",), FundingRecord: ("instrument",)},
    "agreement": {Agreement: ("pk",), AgreementEvent: ("agreement",)},
}


def scope_q(scope: str, record) -> Q:
    """The changes of the records linked to ``record`` (a region, country, instrument or
    agreement) as ``scope`` says: one semi-join per record type."""
    condition = Q(pk__in=[])
    for model, paths in SCOPES[scope].items():
        linked = Q()
        for path in paths:
            linked |= Q(**{path: record.pk})
        ids = model._base_manager.filter(linked).values("pk")
        condition |= Q(model_label=model._meta.label_lower, object_id__in=ids)
    return condition


def record_types() -> list[tuple[str, str]]:
    """``(type, label)`` choices: the API's name of each record type, its plural for people."""
    routes = api_routes()
    choices = []
    for model in publishable_models():
        route = routes.get(model._meta.label_lower)
        key = route.basename if route else model._meta.model_name
        choices.append((str(key), str(model._meta.verbose_name_plural).capitalize()))
    return choices


def label_of_type(key: str) -> str | None:
    routes = api_routes()
    for model in publishable_models():
        route = routes.get(model._meta.label_lower)
        if key == (route.basename if route else model._meta.model_name):
            return model._meta.label_lower
    return None


class ChangeFilter(django_filters.FilterSet):
    region = django_filters.ModelChoiceFilter(
        queryset=published_choices(Region), to_field_name="slug", method="in_scope", label="Region"
    )
    country = CountryCodeFilter(method="in_scope", label="Country")
    instrument = django_filters.ModelChoiceFilter(
        queryset=published_choices(Instrument), to_field_name="slug", method="in_scope", label="Instrument"
    )
    type = django_filters.ChoiceFilter(choices=record_types, method="of_type", label="Record type")

    def in_scope(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(scope_q(name, value)) if value else queryset

    def of_type(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(model_label=label_of_type(value)) if value else queryset


def record_urls(changes: list[ReaderChange]) -> None:
    """Each change's link: the public page of its record while it is published; none for a
    withdrawn or deleted one. One query for every record type in the page (``read_columns``:
    each type's published records among them, each row the columns its address is made of,
    ``ADDRESS_COLUMNS``, its page owner's joined), each address written by the record's own
    ``get_absolute_url`` from just those columns."""
    by_label: dict[str, set[int]] = {}
    for change in changes:
        by_label.setdefault(change.model_label, set()).add(change.object_id)
    models = {model._meta.label_lower: model for model in publishable_models()}
    parts: dict[str, tuple[QuerySet, str, dict[str, Field]]] = {
        label: (
            # The public's rule (``for_public``) without the related records it prefetches.
            models[label].objects.for_public().prefetch_related(None).filter(pk__in=ids),
            "pk",
            _address_columns(models[label]),
        )
        for label, ids in by_label.items()
        if label in models
    }
    urls = {
        (label, pk): _with_columns(models[label], values).get_absolute_url()
        for label, pk, values in read_columns(parts)
    }
    for change in changes:
        change.url = urls.get((change.model_label, change.object_id), "")


def _address_columns(model: type[PublishableModel]) -> dict[str, Field]:
    """The columns a record's address is made of, by lookup path: its own, then its page
    owner's (an owner shown on its own page: one level)."""
    columns = {name: cast(Field, model._meta.get_field(name)) for name in model.ADDRESS_COLUMNS}
    if owner := model.page_owner_model():
        assert owner.PAGE_OWNER is None, (model, owner)
        for name in owner.ADDRESS_COLUMNS:
            columns[f"{model.PAGE_OWNER}__{name}"] = cast(Field, owner._meta.get_field(name))
    return columns


def _with_columns(model: type[PublishableModel], values: dict[str, Any]) -> PublishableModel:
    """A record of ``model`` (and its page owner) holding just its address's columns, as read."""
    record = model(**{name: values[name] for name in model.ADDRESS_COLUMNS})
    if owner := model.page_owner_model():
        prefix = f"{model.PAGE_OWNER}__"
        setattr(
            record,
            str(model.PAGE_OWNER),
            owner(**{name: values[prefix + name] for name in owner.ADDRESS_COLUMNS}),
        )
    return record


def describe_page(rows) -> list[ReaderChange]:
    changes = describe(list(rows))
    record_urls(changes)
    return changes


class ChangesView(FilteredListView):
    """ "What changed": the published changes, newest first, filtered by region, country,
    instrument and record type, 50 a page."""

    filterset_class = ChangeFilter
    template_name = "migrationsupport/changes.html"
    page_title = "What changed"
    field_hints = {
        "region": "Changes of records linked to this region.",
        "country": "Changes of records linked to this country.",
    }

    def get_base_queryset(self):
        return reader_rows().order_by("-changed_at", "-id")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["changes"] = describe_page(context["object_list"])
        context["feed_url"] = self.feed_url()
        return context

    def feed_url(self) -> str:
        if self.filters_valid:
            data = self.get_filterset().form.cleaned_data
            for scope, key in (("region", "slug"), ("country", "iso_code"), ("instrument", "slug")):
                if data.get(scope) and not any(
                    data.get(other) for other in ("region", "country", "instrument", "type") if other != scope
                ):
                    return reverse(f"changes-feed-{scope}", args=[getattr(data[scope], key)])
        return reverse("changes-feed")


# --- Atom feeds ------------------------------------------------------------------------------

FEED_ENTRIES = 50


class ChangesFeed(Feed):
    """The last published changes of the whole site, as an Atom feed."""

    feed_type = Atom1Feed
    scope: str | None = None
    lookup = "slug"
    model: type[PublishableModel] | None = None

    def get_object(self, request, key: str | None = None):
        self.request = request
        if self.model is None or key is None:
            return None
        queryset = self.model.objects.published()
        return get_object_or_404(queryset, **{self.lookup: key.upper() if self.lookup == "iso_code" else key})

    def title(self, obj) -> str:
        return f"What changed: {obj}" if obj is not None else "What changed: EU support on migration"

    def subtitle(self, obj) -> str:
        return "Published changes to the records of this site, newest first."

    def link(self, obj) -> str:
        return obj.get_absolute_url() if obj is not None else reverse("changes")

    def items(self, obj) -> list[ReaderChange]:
        rows = reader_rows().order_by("-changed_at", "-id")
        if obj is not None and self.scope:
            rows = rows.filter(scope_q(self.scope, obj))
        return describe_page(rows[:FEED_ENTRIES])

    def item_title(self, item: ReaderChange) -> str:
        return f"{item.action}: {item.label} ({item.record_type})"

    def item_description(self, item: ReaderChange) -> str:
        parts = []
        if item.note:
            parts.append(f"<p>{escape(item.note)}</p>")
        if item.fields:
            rows = format_html_join(
                "", "<li>{}: {} → {}</li>", ((field.name, field.old, field.new) for field in item.fields)
            )
            parts.append(f"<ul>{rows}</ul>")
        return "".join(parts) or escape(item.action)

    def item_link(self, item: ReaderChange) -> str:
        return item.url or f"{reverse('changes')}#change-{item.last_id}"

    def item_guid(self, item: ReaderChange) -> str:
        return self.request.build_absolute_uri(f"{reverse('changes')}#change-{item.last_id}")

    item_guid_is_permalink = False

    def item_pubdate(self, item: ReaderChange):
        return item.changed_at

    def item_updateddate(self, item: ReaderChange):
        return item.changed_at


class RegionChangesFeed(ChangesFeed):
    scope, model = "region", Region


class CountryChangesFeed(ChangesFeed):
    scope, model, lookup = "country", Country, "iso_code"


class InstrumentChangesFeed(ChangesFeed):
    scope, model = "instrument", Instrument


class AgreementChangesFeed(ChangesFeed):
    scope, model = "agreement", Agreement
