"""The viewsets: ``PublishableViewSet``, the base of every endpoint, and the site-wide
``ThemeViewSet`` and ``SourceViewSet``.

The base decides what a client sees (``Model.objects.published()`` for the public; staff with the
model's view or change permission also see drafts; related records a draft would leak are
filtered out), loads each row's relations in the list query, serves lists as JSON or CSV, adds
the page rates to CSV, totals and search, and makes writes atomic, locking the row while
``If-Match`` is compared (``conditional.py``).
"""

from __future__ import annotations

import builtins  # the class body's list() is the API's list action
from collections.abc import Callable, Iterator
from functools import cached_property
from itertools import chain

from django.db import models, transaction
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control, patch_vary_headers
from rest_framework import exceptions, viewsets
from rest_framework.filters import SearchFilter
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.settings import api_settings

from ..api_defaults import (
    AnonymousExpensiveThrottle,
    AnonymousExportThrottle,
    BoundedSearchFilter,
    DecimalJSONRenderer,
    MatchCount,
    rate_limit_headers,
)
from ..filters import SourceFilter
from ..models import PublishableModel, PublishableQuerySet, Source, Theme, related_publishable
from ..serializers import SourceSerializer, ThemeSerializer
from ..spreadsheets import CSV_CHUNK, cell, csv_download
from .conditional import WRITE_METHODS, ConditionalRequestsMixin
from .csv import CSVRenderer, csv_aliases, csv_columns, csv_table
from .csv_rows import CSVRowPlan
from .records import RecordPlan, public_plan


def shows_drafts(request, model: type[models.Model]) -> bool:
    """Whether this client sees drafts: staff with the model's view or change permission.

    Everyone else (anonymous clients, non-staff accounts, staff without a permission on the
    model) sees exactly ``Model.objects.published()``.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return False
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or user.has_perm(
        f"{opts.app_label}.change_{opts.model_name}"
    )


class PublishableViewSet(ConditionalRequestsMixin, viewsets.ModelViewSet):
    """The base of every endpoint.

    Subclasses name the ``queryset`` (its model), ``serializer_class``, ``filterset_class``,
    ``search_fields``, ``ordering_fields`` and what to load with each row:
    ``list_select_related`` (foreign keys) and ``list_prefetch`` (to-many relations, filtered to
    published records for the public so a draft's slug never leaks), and ``published_parents``
    (foreign keys whose record must be published too, e.g. an event's agreement).

    Every list is JSON (paginated) or CSV (``?format=csv`` or ``Accept: text/csv``: the whole
    filtered set, in the same order, streamed and so without an ``ETag``).
    Other successful answers carry an ``ETag``: a digest of the body, prefixed on a record with
    its ``version_tag`` (a keyed hash of its version) so ``If-Match`` can compare versions;
    ``If-None-Match`` gives 304. ``PUT``/``PATCH``/``DELETE`` with a stale ``If-Match`` give 412
    and change nothing (the row is locked with ``SELECT … FOR UPDATE`` while comparing).
    """

    lookup_field = "slug"
    list_select_related: tuple[str, ...] = ("source",)
    list_prefetch: tuple[str, ...] = ()
    published_parents: tuple[str, ...] = ()
    ordering_fields: dict[str, str] | tuple[str, ...] = ()
    csv_actions: tuple[str, ...] = ("list",)
    #: Actions that aggregate every matching record: throttled as the explorer page is.
    expensive_actions: tuple[str, ...] = ("totals",)
    # REST_FRAMEWORK's filter backends, with DRF's ``?search=`` bounded in its number of terms.
    filter_backends = [
        BoundedSearchFilter if backend is SearchFilter else backend
        for backend in api_settings.DEFAULT_FILTER_BACKENDS
    ]

    queryset: PublishableQuerySet

    @property
    def model(self) -> type[PublishableModel]:
        return self.queryset.model

    @cached_property
    def show_drafts(self) -> bool:
        return shows_drafts(self.request, self.model)

    # Querysets ------------------------------------------------------------------------------

    def base_queryset(self) -> PublishableQuerySet:
        """The rows before visibility and loading: override to annotate (e.g. a current status)."""
        return self.model.objects.all()

    def visible(self, queryset: PublishableQuerySet) -> PublishableQuerySet:
        if self.show_drafts:
            return queryset
        queryset = queryset.published()
        for name in self.published_parents:
            parent = related_publishable(self.model, name)
            queryset = queryset.filter(**{f"{name}__in": parent.objects.published()})
        return queryset

    def get_queryset(self):
        queryset = self.visible(self.base_queryset()).select_related(*self.list_select_related)
        prefetches = []
        for name in self.list_prefetch:
            related = related_publishable(self.model, name)
            related_qs = related.objects.all() if self.show_drafts else related.objects.published()
            prefetches.append(Prefetch(name, queryset=related_qs))
        return queryset.prefetch_related(*prefetches)

    def normalise_lookup(self, value: str) -> str:
        return value

    def get_object(self):
        lookup = self.normalise_lookup(self.kwargs[self.lookup_url_kwarg or self.lookup_field])
        if "\x00" in lookup:  # PostgreSQL cannot even compare it: no record has it
            raise Http404
        if self.request.method in WRITE_METHODS:
            queryset = self.visible(self.model.objects.all()).select_for_update(of=("self",))
            obj = get_object_or_404(queryset, **{self.lookup_field: lookup})
            self.check_object_permissions(self.request, obj)
            self.check_if_match(obj)
        else:
            queryset = self.filter_queryset(self.get_queryset())
            if self.reading_plan is not None:
                queryset = self.reading_plan.prepare(queryset)
            obj = get_object_or_404(queryset, **{self.lookup_field: lookup})
            self.check_object_permissions(self.request, obj)
        self.etag_object = obj
        return obj

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "show_drafts": self.show_drafts}

    def get_throttles(self):
        """The API's rate for every answer; CSV downloads, totals and searches also count against
        the rates their pages have (``migrationsupport.throttling``). Content negotiation has run
        by now, so the format is known."""
        throttles = super().get_throttles()
        if self.wants_csv:
            throttles.append(AnonymousExportThrottle())
        elif self.action in self.expensive_actions or self.request.query_params.get("search"):
            throttles.append(AnonymousExpensiveThrottle())
        return throttles

    # Lists and CSV --------------------------------------------------------------------------

    def get_renderers(self):
        renderers = super().get_renderers()
        if self.action in self.csv_actions:
            renderers.append(CSVRenderer())
        return renderers

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404 as exc:  # DRF's answer to an unknown ?format=
            formats = ", ".join(renderer.format for renderer in self.get_renderers())
            raise exceptions.ValidationError({"format": [f"Choose one of {formats}."]}) from exc

    @property
    def searching(self) -> bool:
        """Whether this list is narrowed by a text search: ``search_fields`` and the words the
        search filter reads from ``?search=``."""
        if not getattr(self, "search_fields", None):
            return False
        return bool(BoundedSearchFilter().get_search_terms(self.request))

    @property
    def wants_csv(self) -> bool:
        return isinstance(getattr(self.request, "accepted_renderer", None), CSVRenderer)

    def get_csv_columns(self) -> list[str]:
        serializer = self.get_serializer()
        assert isinstance(serializer, Serializer)  # every endpoint's is a ModelSerializer
        return csv_columns(serializer)

    def record_plan(self) -> RecordPlan | None:
        """How to read this answer's records without a serializer per record (``RecordPlan``),
        or None to serialize them."""
        serializer = self.get_serializer()
        if not isinstance(serializer, Serializer):
            return None
        if self.show_drafts:
            return RecordPlan.plan(serializer, show_drafts=True)
        return public_plan(serializer)

    #: The plan ``retrieve`` reads its record with (``get_object`` loads the record its way).
    reading_plan: RecordPlan | None = None

    def retrieve(self, request, *args, **kwargs):
        self.reading_plan = self.record_plan()
        if self.reading_plan is None:
            return super().retrieve(request, *args, **kwargs)
        return Response(self.reading_plan.records([self.get_object()])[0])

    def list_counter(self, queryset: models.QuerySet) -> Callable[[], int]:
        """The method that counts the list's records in all, for its pages' ``count`` (a bound
        method with no arguments: Django's paginator takes anything else for no method at all
        and counts the rows it loads instead)."""
        return queryset.count

    def list(self, request, *args, **kwargs):
        if not self.wants_csv:
            plan = self.record_plan()
            if plan is None:
                return super().list(request, *args, **kwargs)
            queryset = self.filter_queryset(self.get_queryset())
            prepared = plan.prepare(queryset)
            # The page's count without the columns its rows read: their joins (an inner join to
            # every matching record's source) would make it a hash join over them all. A text
            # search's matches are counted up to a limit (``MatchCount``).
            prepared.count = MatchCount(queryset).count if self.searching else self.list_counter(queryset)
            page = self.paginate_queryset(prepared)
            if page is None:
                return Response(plan.records(builtins.list(prepared)))
            return self.get_paginated_response(plan.records(page))
        # Filters are checked (a 400 in JSON) before the first byte is sent.
        queryset = self.filter_queryset(self.get_queryset())
        return csv_download(self.csv_rows(queryset), filename=f"{self.basename}.csv", finished=True)

    def csv_rows(self, queryset) -> Iterator[builtins.list]:
        """The header, then every matching record's row of finished cells (``spreadsheets.cell``),
        in the list's order, written while it is sent: ``CSV_CHUNK`` records at a time, so a
        worker's memory does not grow with the data. The rows come from ``CSVRowPlan`` (the
        serializer's values from plain ``values_list`` rows, without a serializer per record:
        the whole funding table in a few seconds, docs/performance.md), or from the serializer
        itself when a field needs it."""
        serializer = self.get_serializer()
        assert isinstance(serializer, Serializer)  # every endpoint's is a ModelSerializer
        columns = self.get_csv_columns()
        plan = CSVRowPlan.plan(serializer, show_drafts=self.show_drafts)
        if plan is not None:
            return chain([columns], plan.rows(queryset))
        records = (serializer.to_representation(record) for record in queryset.iterator(chunk_size=CSV_CHUNK))
        return (
            [cell(value) for value in row] for row in csv_table(records, columns, csv_aliases(serializer))
        )

    # Writes ---------------------------------------------------------------------------------

    @transaction.atomic
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    @transaction.atomic
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)

    @transaction.atomic
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_create(self, serializer):
        self.etag_object = serializer.save()

    def perform_update(self, serializer):
        self.etag_object = serializer.save()

    # Every answer ---------------------------------------------------------------------------

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        streamed = not isinstance(response, Response)  # a CSV list: no body to take an ETag of
        failed = not streamed and response.status_code >= 400
        if failed and isinstance(response.accepted_renderer, CSVRenderer):
            # Errors are always JSON, even for a client that asked for CSV.
            response.accepted_renderer = DecimalJSONRenderer()
            response.accepted_media_type = DecimalJSONRenderer.media_type
        patch_vary_headers(response, ("Accept", "Authorization", "Cookie"))
        for name, value in rate_limit_headers(request).items():
            response[name] = value  # the page cache stores the answer without them
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Staff answers may hold drafts: never kept by a shared cache.
            patch_cache_control(response, no_cache=True, private=True)
        else:
            patch_cache_control(response, no_cache=True)
        return response if streamed else self.conditional_response(request, response)


class ThemeViewSet(PublishableViewSet):
    """Key areas of the external dimension of EU migration policy."""

    queryset = Theme.objects.all()
    serializer_class = ThemeSerializer
    search_fields = ("name",)
    ordering_fields = ("order", "name", "updated_at")


class SourceViewSet(PublishableViewSet):
    """Where figures, agreements and documents come from."""

    queryset = Source.objects.all()
    serializer_class = SourceSerializer
    filterset_class = SourceFilter
    list_select_related = ()
    search_fields = ("title", "publisher")
    ordering_fields = ("title", "publisher", "date", "updated_at")
