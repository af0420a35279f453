"""API endpoints for money: instruments, funding records and their totals, pledging conferences."""

from __future__ import annotations

import hashlib
import sys

import django
import orjson
import rest_framework
from django.db.models import F, Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from migrationsupport import api_defaults, exactjson, values
from migrationsupport import models as core_models
from migrationsupport import serializers as core_serializers
from migrationsupport.api import PublishableViewSet, csv_columns
from migrationsupport.api_defaults import AnonymousExportThrottle, ApiPagination, DecimalJSONRenderer
from regions import models as region_models

from . import models, rollup, selectors, serializers
from .filters import FundingFilter, InstrumentFilter, PledgingConferenceFilter
from .iati import iati_download
from .listings import SnapshotPaginator
from .models import Fulfilment, FundingRecord, Instrument, PledgingConference
from .selectors import (
    FOLLOWED_MEASURES,
    GROUPINGS,
    conference_pledges,
    follow_through,
    funding_totals,
    funding_totals_and_groups,
    totals_and_groups_of_rows,
)
from .serializers import (
    FollowThroughSerializer,
    FundingRecordSerializer,
    FundingTotalSerializer,
    FundingTotalsSerializer,
    InstrumentSerializer,
    PledgingConferenceSerializer,
)


class InstrumentViewSet(PublishableViewSet):
    """Financing instruments, e.g. NDICI-Global Europe or IPA III."""

    queryset = Instrument.objects.all()
    serializer_class = InstrumentSerializer
    filterset_class = InstrumentFilter
    list_prefetch = ("regions",)
    search_fields = ("name", "short_name")
    ordering_fields = ("name", "updated_at")


class PledgingConferenceViewSet(PublishableViewSet):
    """Donors' conferences, e.g. the eighth Brussels Conference of 27 May 2024."""

    queryset = PledgingConference.objects.all()
    serializer_class = PledgingConferenceSerializer
    filterset_class = PledgingConferenceFilter
    list_prefetch = ("regions",)
    search_fields = ("name", "place", "host")
    ordering_fields = ("date", "name", "updated_at")
    expensive_actions = ("follow_through",)

    @extend_schema(responses=FollowThroughSerializer)
    @action(detail=True, methods=["get"], url_path="follow-through", url_name="follow-through")
    def follow_through(self, request, *args, **kwargs):
        """The conference's pledges followed through: pledged, committed and paid (each with its
        as-of date, per donor scope, never added together), the share fulfilled where the
        figures allow it, and the sources. ``reported`` false: no follow-up reported."""
        pledges = conference_pledges(self.get_object())  # the set whose follow-through is stored
        return Response(FollowThroughSerializer(follow_through(records=pledges)).data)


class IatiRenderer(BaseRenderer):
    """``?format=iati``: the list as IATI 2.03 activities. Lists are streamed by
    ``FundingRecordViewSet.list`` and never reach it; errors are rendered as JSON."""

    media_type = "application/xml"
    format = "iati"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        raise NotImplementedError("IATI lists are streamed by the view")


class FundingPagination(ApiPagination):
    """The API's pages, cut from the snapshot where it serves them (``SnapshotPaginator``)."""

    django_paginator_class = SnapshotPaginator


class FundingRecordViewSet(PublishableViewSet):
    """Funding records: allocations, packages, programmes, pledges and totals. A record can be
    part of a larger one (``parent``, ``children``); the filters are the funding explorer's."""

    # FundingFilter is the explorer page's FilterSet, so the page and the API list the same
    # records for the same query. Related records are loaded with the base class's published-
    # only prefetches rather than ``for_public()``, since staff also read drafts here.

    queryset = FundingRecord.objects.all()
    serializer_class = FundingRecordSerializer
    filterset_class = FundingFilter
    pagination_class = FundingPagination
    list_select_related = ("source", "instrument", "conference", "parent")
    list_prefetch = ("regions", "countries", "themes", "children", "may_overlap")
    search_fields = ("title", "description", "implementer")
    ordering_fields = ("amount", "period_start", "period_end", "title", "updated_at")
    # The explorer's order: latest period first, then the largest amount.
    ordering = (F("period_start").desc(nulls_last=True), F("amount").desc(nulls_last=True), "title")
    csv_actions = ("list", "totals")
    expensive_actions = ("totals", "follow_through")

    def get_renderers(self):
        renderers = super().get_renderers()
        if self.action == "list":
            renderers.append(IatiRenderer())
        return renderers

    @property
    def wants_iati(self) -> bool:
        return isinstance(getattr(self.request, "accepted_renderer", None), IatiRenderer)

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.wants_iati:
            throttles.append(AnonymousExportThrottle())
        return throttles

    def list_counter(self, queryset):
        # A large filtered set's size is stored with its totals: read, not counted.
        return rollup.StoredCount(queryset).count

    def list(self, request, *args, **kwargs):
        if not self.wants_iati:
            return super().list(request, *args, **kwargs)
        # Published records only, whoever asks: IATI publishes what the public may see. The
        # filters are checked (a 400 in JSON) before the first byte is sent.
        return iati_download(
            self.filter_queryset(self.get_queryset()), absolute_url=request.build_absolute_uri
        )

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and response.status_code >= 400 and self.wants_iati:
            # Errors are always JSON, even for a client that asked for IATI XML.
            request.accepted_renderer = DecimalJSONRenderer()
            request.accepted_media_type = DecimalJSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def get_serializer_class(self):
        if self.action == "totals":
            return FundingTotalsSerializer
        if self.action == "follow_through":
            return FollowThroughSerializer
        return super().get_serializer_class()

    def get_queryset(self):
        # The fulfilment links (the public's: published, between published records), with the
        # record at their other end: two queries a page.
        links = Fulfilment.objects.all() if self.show_drafts else Fulfilment.objects.published()
        return (
            super()
            .get_queryset()
            .prefetch_related(
                Prefetch("fulfils", queryset=links.select_related("fulfilled")),
                Prefetch("fulfilled_by", queryset=links.select_related("fulfilling")),
            )
        )

    @extend_schema(responses=FollowThroughSerializer)
    @action(detail=True, methods=["get"], url_path="follow-through", url_name="follow-through")
    def follow_through(self, request, *args, **kwargs):
        """A pledge or a commitment followed through: what was promised, then committed and paid
        against it (each with its as-of date, per donor scope, never added together), the share
        fulfilled where the figures allow it, and the sources. ``reported`` false: no follow-up
        reported. Published records and links only."""
        record = self.get_object()
        if record.measure not in FOLLOWED_MEASURES:
            raise exceptions.NotFound("Only a pledge or a commitment is followed through.")
        records = FundingRecord.objects.published().filter(pk=record.pk)
        return Response(FollowThroughSerializer(follow_through(records=records)).data)

    def get_csv_columns(self):
        if self.action == "totals":
            return csv_columns(FundingTotalSerializer())
        return super().get_csv_columns()

    @extend_schema(
        filters=True,
        parameters=[
            OpenApiParameter(
                "group_by",
                str,
                enum=[*GROUPINGS],  # not list(): the class body defines list()
                description="One total per region, country, theme (key area), instrument or year.",
            )
        ],
        responses=FundingTotalsSerializer,
    )
    @action(detail=False, methods=["get"])
    def totals(self, request, *args, **kwargs):
        """Totals of the records the same filters select, never counting money twice: a part
        is left out when the record it belongs to is counted in the same total.

        As CSV: one row per group (or the overall total without ``group_by``)."""
        group_by = request.query_params.get("group_by") or None
        if group_by not in (None, *GROUPINGS):
            raise exceptions.ValidationError({"group_by": [f"Choose one of {', '.join(GROUPINGS)}."]})
        records = self.filter_queryset(self.visible(self.base_queryset()))
        stored = self._stored_totals(records, group_by)
        if stored is not None:
            return Response(orjson.Fragment(stored))  # written as the JSON renderer writes it
        groups = []
        if group_by is None:
            totals = funding_totals(records=records, include_drafts=self.show_drafts)
        else:
            # Each group keyed by its records' stable identifiers (slugs, ISO codes), not ids.
            totals, groups = funding_totals_and_groups(
                records=records, group_by=group_by, include_drafts=self.show_drafts, identified=True
            )
        if self.wants_csv:
            response = Response(FundingTotalSerializer(groups if group_by else totals, many=True).data)
            response["Content-Disposition"] = 'attachment; filename="funding-totals.csv"'
            return response
        return Response(_totals_answer(group_by, totals, groups))

    def _stored_totals(self, records, group_by: str | None) -> bytes | None:
        """The public's grouped answer as the last rebuild stored it (``rollup.stored_answer``),
        when this request is answered exactly as it was written: compact JSON. (An ``as_of``
        request reads its snapshot's own, which the snapshot's rebuild stored.)"""
        renderer = self.request.accepted_renderer
        if (
            group_by is None
            or self.show_drafts
            or type(renderer) is not DecimalJSONRenderer
            or renderer.get_indent(self.request.accepted_media_type, self.get_renderer_context())
        ):
            return None
        return rollup.stored_answer(records, group_by)


def _totals_answer(group_by: str | None, totals, groups) -> dict:
    """The totals endpoint's answer (``FundingTotalsSerializer``'s data)."""
    return FundingTotalsSerializer(
        {
            "group_by": group_by,
            "totals": totals,
            "groups": groups,
            "total": totals[0] if len(totals) == 1 else None,
        }
    ).data


def _stored_answer_body(rows: list[dict], group_by: str) -> bytes:
    """The public's answer for the totals of a stored set in ``group_by``, from its rows, as the
    endpoint writes it (``rollup.AnswerWriter``)."""
    totals, groups = totals_and_groups_of_rows(rows, group_by, identified=True)
    return DecimalJSONRenderer().render(_totals_answer(group_by, totals, groups))


#: What the rebuild stores the answers with (``funding.apps`` registers it): the code they depend
#: on, whole modules, as the stored follow-through's (``rollup._FOLLOW_CODE``), and the versions
#: of the libraries that write them.
STORED_ANSWER = rollup.AnswerWriter(
    write=_stored_answer_body,
    code=hashlib.sha256(
        repr(
            (
                rollup.source_digests(
                    sys.modules[__name__],
                    selectors,
                    serializers,
                    models,  # an instrument's name: ``str()``
                    region_models,
                    core_models,
                    values,
                    exactjson,
                    api_defaults,
                    core_serializers,
                ),
                django.VERSION,
                rest_framework.VERSION,
                orjson.__version__,
            )
        ).encode()
    ).hexdigest(),
)
