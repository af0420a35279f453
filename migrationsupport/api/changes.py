"""``/api/v1/changes/``: every public change, in order, for clients that mirror the data.

Replaying the feed from the beginning (no ``since``) and following ``next`` until ``has_more``
is false rebuilds exactly the published dataset the API lists show: apply each ``upsert`` (store
``object`` under ``(type, id)``) and each ``delete`` (drop ``(type, id)``). Each entry carries the
record's public representation *as it is now*, the one its endpoint's list shows, or a deletion
marker when the public no longer sees it (withdrawn, deleted, or its page owner withdrawn).
A record whose public form changed with another record (a region's slug, an agreement's events)
has an entry of its own (``event: "related"``), so a mirror kept by polling stays exact too.
docs/api.md explains the cursor.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import connections, router
from django.db.models import BigIntegerField, Func
from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import compiled
from ..changes import BadCursor, api_routes, decode_cursor, encode_cursor, feed_rows
from ..models import PublicChangeKind
from .records import RecordPlan
from .schema import _list_examples
from .viewsets import PublishableViewSet

PAGE_SIZE = 50
#: A list of ids as one array parameter, for ``pk__in`` (one SQL whatever their number).
_UNNEST = "SELECT unnest(%(expressions)s::bigint[])"
MAX_PAGE_SIZE = 100


class ChangeSerializer(serializers.Serializer):
    cursor = serializers.CharField(help_text="Resume after this entry with ?since=<cursor>.")
    type = serializers.CharField(help_text="The endpoint of the record: funding, country, agreement...")
    id = serializers.IntegerField(help_text="The record's stable number: key a mirror by (type, id).")
    lookup = serializers.CharField(help_text="Its slug (ISO code for a country) when the change was made.")
    action = serializers.ChoiceField(
        choices=["upsert", "delete"], help_text="upsert: store object; delete: the public no longer sees it."
    )
    event = serializers.ChoiceField(choices=PublicChangeKind.choices, help_text="What happened.")
    changed_at = serializers.DateTimeField()
    object = serializers.DictField(
        allow_null=True, help_text="The record as its endpoint shows it now; null for a delete."
    )


class ChangePageSerializer(serializers.Serializer):
    cursor = serializers.CharField(
        allow_null=True,
        help_text="Where this page ends: pass it as since= to continue (null: nothing read yet).",
    )
    next = serializers.URLField(help_text="This feed from cursor on.")
    has_more = serializers.BooleanField(help_text="More entries are ready now; else poll next later.")
    results = ChangeSerializer(many=True)


def _example() -> OpenApiExample:
    """A page of the feed as a replay from the start begins: the seed's records, published."""
    region = _list_examples()["region"]["record"]
    cursor = encode_cursor(1000, 1)
    return OpenApiExample(
        "The start of a replay",
        summary="GET /api/v1/changes/?page_size=1",
        description="`curl '/api/v1/changes/?page_size=1'`, then follow `next` (more in docs/api.md)",
        value={
            "cursor": cursor,
            "next": f"https://HOST/api/v1/changes/?since={cursor}&page_size=1",
            "has_more": True,
            "results": [
                {
                    "cursor": cursor,
                    "type": "regions",
                    "id": 1,
                    "lookup": region["slug"],
                    "action": "upsert",
                    "event": "published",
                    "changed_at": region.get("updated_at"),
                    "object": region,
                }
            ],
        },
        response_only=True,
        status_codes=["200"],
    )


class ChangeFeedView(APIView):
    """Every public change in order: replay it from the start to rebuild the published data,
    then poll ``next`` for what changed since."""

    # Read-only and public: anyone may read it, nobody writes through it.
    permission_classes = [permissions.AllowAny]
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        operation_id="changes_list",
        tags=["changes"],
        examples=[_example()],
        parameters=[
            OpenApiParameter(
                "since", OpenApiTypes.STR, description="A cursor this feed gave; none: from the start."
            ),
            OpenApiParameter(
                "page_size",
                OpenApiTypes.INT,
                description=f"Entries per page: {PAGE_SIZE} by default, at most {MAX_PAGE_SIZE}.",
            ),
        ],
        responses={200: ChangePageSerializer},
    )
    def get(self, request, *args, **kwargs):
        since = request.query_params.get("since") or None
        try:
            position = decode_cursor(since) if since else None
        except BadCursor as exc:
            raise exceptions.ValidationError({"since": [str(exc)]}) from exc
        raw_size = request.query_params.get("page_size") or str(PAGE_SIZE)
        if not raw_size.isdigit() or int(raw_size) < 1:
            raise exceptions.ValidationError(
                {"page_size": [f"A page size is a whole number from 1 to {MAX_PAGE_SIZE}."]}
            )
        size = min(int(raw_size), MAX_PAGE_SIZE)
        routes = api_routes()
        rows = feed_rows(after=position, limit=size + 1, model_labels=routes)
        has_more = len(rows) > size
        rows = rows[:size]
        objects = self.representations(request, rows, routes)
        results = []
        for row in rows:
            data = objects.get((row.model_label, row.object_id))
            results.append(
                {
                    "cursor": encode_cursor(row.txid, row.id),
                    "type": routes[row.model_label].prefix,
                    "id": row.object_id,
                    "lookup": row.lookup,
                    "action": "upsert" if data is not None else "delete",
                    "event": row.kind,
                    "changed_at": row.changed_at,
                    "object": data,
                }
            )
        cursor = results[-1]["cursor"] if results else since
        query = QueryDict(mutable=True)
        if cursor:
            query["since"] = cursor
        if "page_size" in request.query_params:
            query["page_size"] = str(size)
        next_url = request.build_absolute_uri(request.path + (f"?{query.urlencode()}" if query else ""))
        return Response({"cursor": cursor, "next": next_url, "has_more": has_more, "results": results})

    @staticmethod
    def representations(request, rows, routes) -> dict[tuple[str, int], dict]:
        """The public representation of each record in ``rows`` the public sees now, by the
        record's own endpoint (its queryset, loading and reading plan or serializer, as an
        anonymous client gets them, whoever asks): on PostgreSQL one query per record type in the
        page, its to-many relations read with it (``_public_records``), and one per nested list
        (an agreement's events)."""
        wanted: dict[str, set[int]] = defaultdict(set)
        for row in rows:
            wanted[row.model_label].add(row.object_id)
        found: dict[tuple[str, int], dict] = {}
        for label, ids in wanted.items():
            viewset = routes[label].viewset(
                request=request, format_kwarg=None, args=(), kwargs={}, action="list"
            )
            viewset.show_drafts = False  # the public's representation, for staff clients too
            plan = viewset.record_plan()
            if plan is None:
                records = list(viewset.get_queryset().filter(pk__in=ids))
                data = viewset.get_serializer(records, many=True).data
            else:
                records = _public_records(viewset, plan, ids)
                data = plan.records(records)
            for record, item in zip(records, data, strict=True):
                found[(label, record.pk)] = item
        return found


def _public_records(viewset: PublishableViewSet, plan: RecordPlan, ids: set[int]) -> list:
    """The records of ``ids`` the public sees, read as ``plan`` reads them, with their to-many
    relations (``with_relations``): on PostgreSQL one SQL per record type whatever the ids (one
    array parameter), built and compiled once per process (``compiled``)."""
    model = viewset.model
    if connections[router.db_for_read(model)].vendor != "postgresql":
        return list(plan.with_relations(viewset.get_queryset().filter(pk__in=ids)))

    def build(id_array):
        in_ids = Func(id_array, template=_UNNEST, output_field=BigIntegerField())
        return plan.with_relations(viewset.get_queryset().filter(pk__in=in_ids))

    return compiled.rows(("changes", model._meta.label_lower), build, sorted(ids))
