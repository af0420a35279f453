"""Shared pieces of the REST API (v1): every app's viewsets and serializers are built from these.

- ``PublishableViewSet``: the base of every endpoint. Its queryset starts from
  ``Model.objects.published()`` for the public (staff with the model's view or change permission
  also see drafts), related records a draft would leak are filtered out, lists come in JSON or
  CSV, answers carry an ``ETag`` and writes honour ``If-Match`` (412 when stale).
- ``ThemeViewSet`` and ``SourceViewSet``, the site-wide records (serializers in serializers.py,
  with the shared serializer base and fields).
- The CSV renderer, the exception handler, the JSON 404 for unknown API addresses and the
  OpenAPI schema class. Pagination, ordering, permissions and throttling, which DRF imports
  while it defines its own views, are in ``api_defaults.py``; both are named in
  ``REST_FRAMEWORK`` (settings.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from functools import cached_property

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Prefetch
from django.db.models.deletion import ProtectedError, RestrictedError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.crypto import salted_hmac
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.filters import SearchFilter
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from . import services
from .api_defaults import AnonymousExpensiveThrottle, AnonymousExportThrottle, BoundedSearchFilter
from .filters import SourceFilter
from .models import Source, Theme
from .serializers import SourceSerializer, ThemeSerializer
from .spreadsheets import safe_cell

logger = logging.getLogger(__name__)

# A CSV download holds the whole filtered set, not a page; past this many rows the client is
# asked to narrow the filters (or page through the JSON), so one request stays bounded.
CSV_MAX_ROWS = 10_000
CSV_LIST_SEPARATOR = ";"
WRITE_METHODS = ("PUT", "PATCH", "DELETE")


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


# --- Errors ------------------------------------------------------------------------------------


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The record has changed since you read it."
    default_code = "precondition_failed"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the records."
    default_code = "conflict"


def api_exception_handler(exc, context):
    """DRF's handler, plus: model validation as 400, the workflow's refusals as 403 with their
    message, a stale version as 412, protected deletes and integrity races as 409.

    Throttled answers keep DRF's ``Retry-After`` header.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(serializers.as_serializer_error(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        # DRF would answer its generic message; the workflow's says what a Publisher may do.
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, services.StaleVersion):
        exc = PreconditionFailed(exc.message)
    elif isinstance(exc, ProtectedError | RestrictedError):
        referrers = sorted({str(obj) for obj in exc.args[1]})[:5]
        exc = Conflict(
            "Other records still refer to this one, so it cannot be deleted: "
            + "; ".join(referrers)
            + ("…" if len(exc.args[1]) > 5 else "")
        )
    elif isinstance(exc, RequestDataTooBig):
        exc = exceptions.ParseError(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes: send less."
        )
    elif isinstance(exc, IntegrityError):
        # Validation should have caught it (a race between two writers, or a missing rule).
        logger.warning("Integrity error answered as 409", exc_info=exc)
        exc = Conflict("The change conflicts with another record (for example a slug already in use).")
    return exception_handler(exc, context)


# --- CSV ---------------------------------------------------------------------------------------


def _csv_cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return CSV_LIST_SEPARATOR.join(str(_csv_cell(item)) for item in value)
    return safe_cell(str(value))


def flatten(row: dict, prefix: str = "") -> dict[str, object]:
    """``{"source": {"title": ...}, "regions": ["a", "b"]}`` → ``{"source_title": ..., "regions": "a;b"}``."""
    flat: dict[str, object] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}_"))
        else:
            flat[name] = _csv_cell(value)
    return flat


def csv_columns(serializer: serializers.Serializer) -> list[str]:
    """The CSV header of a serializer: its readable fields in declaration order, nested objects
    flattened to ``parent_child`` (fields say their parts in ``csv_subfields``)."""
    excluded = set(getattr(getattr(serializer, "Meta", None), "csv_exclude", ()))
    columns: list[str] = []
    for name, field in serializer.fields.items():
        if field.write_only or name in excluded:
            continue
        if isinstance(field, serializers.Serializer):
            columns += [f"{name}_{sub}" for sub in csv_columns(field)]
        elif getattr(field, "csv_subfields", None):
            columns += [f"{name}_{sub}" for sub in field.csv_subfields]
        else:
            columns.append(name)
    return columns


class CSVRenderer(BaseRenderer):
    """A list as CSV: one row per record, the columns of ``view.get_csv_columns()`` in order.

    Nested objects become ``parent_child`` columns, lists are joined with ";", booleans are
    ``true``/``false`` and an empty value is an empty cell.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        rows = data if isinstance(data, list) else [data]
        view = (renderer_context or {}).get("view")
        columns = view.get_csv_columns() if hasattr(view, "get_csv_columns") else None
        flat_rows = [flatten(row) for row in rows]
        if columns is None:
            columns = list(dict.fromkeys(key for row in flat_rows for key in row))
        out = io.StringIO()
        writer = csv.DictWriter(
            out, fieldnames=columns, extrasaction="ignore", restval="", lineterminator="\r\n"
        )
        writer.writeheader()
        writer.writerows(flat_rows)
        return out.getvalue().encode(self.charset)


# --- Viewsets ----------------------------------------------------------------------------------


class PublishableViewSet(viewsets.ModelViewSet):
    """The base of every endpoint.

    Subclasses name the ``queryset`` (its model), ``serializer_class``, ``filterset_class``,
    ``search_fields``, ``ordering_fields`` and what to load with each row:
    ``list_select_related`` (foreign keys) and ``list_prefetch`` (to-many relations, filtered to
    published records for the public so a draft's slug never leaks), and ``published_parents``
    (foreign keys whose record must be published too, e.g. an event's agreement).

    Every list is JSON (paginated) or CSV (``?format=csv`` or ``Accept: text/csv``: the whole
    filtered set, in the same order). Successful answers carry an ``ETag``: a digest of the body,
    prefixed on a record with its ``version_tag`` (a keyed hash of its version) so ``If-Match``
    can compare versions; ``If-None-Match`` gives 304. ``PUT``/``PATCH``/``DELETE`` with a stale
    ``If-Match`` give 412 and change nothing (the row is locked with ``SELECT … FOR UPDATE`` while
    comparing).
    """

    lookup_field = "slug"
    list_select_related: tuple[str, ...] = ("source",)
    list_prefetch: tuple[str, ...] = ()
    published_parents: tuple[str, ...] = ()
    ordering_fields: dict[str, str] | tuple[str, ...] = ()
    csv_actions = ("list",)
    #: Actions that aggregate every matching record: throttled as the explorer page is.
    expensive_actions: tuple[str, ...] = ("totals",)
    etag_object: models.Model | None = None
    # REST_FRAMEWORK's filter backends, with DRF's ``?search=`` bounded in its number of terms.
    filter_backends = [
        BoundedSearchFilter if backend is SearchFilter else backend
        for backend in api_settings.DEFAULT_FILTER_BACKENDS
    ]

    @property
    def model(self) -> type[models.Model]:
        return self.queryset.model

    @cached_property
    def show_drafts(self) -> bool:
        return shows_drafts(self.request, self.model)

    # Querysets ------------------------------------------------------------------------------

    def base_queryset(self) -> models.QuerySet:
        """The rows before visibility and loading: override to annotate (e.g. a current status)."""
        return self.model.objects.all()

    def visible(self, queryset: models.QuerySet) -> models.QuerySet:
        if self.show_drafts:
            return queryset
        queryset = queryset.published()
        for name in self.published_parents:
            parent = self.model._meta.get_field(name).related_model
            queryset = queryset.filter(**{f"{name}__in": parent.objects.published()})
        return queryset

    def get_queryset(self):
        queryset = self.visible(self.base_queryset()).select_related(*self.list_select_related)
        prefetches = []
        for name in self.list_prefetch:
            related = self.model._meta.get_field(name).related_model
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
            obj = get_object_or_404(self.filter_queryset(self.get_queryset()), **{self.lookup_field: lookup})
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
    def wants_csv(self) -> bool:
        return isinstance(getattr(self.request, "accepted_renderer", None), CSVRenderer)

    def get_csv_columns(self) -> list[str]:
        return csv_columns(self.get_serializer())

    def list(self, request, *args, **kwargs):
        if not self.wants_csv:
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset())
        # Asked of the ids alone, before any record is loaded: loading 10 001 records with their
        # related ones only to refuse them took 5 s at 20 000 funding records.
        if queryset.order_by().values("pk")[CSV_MAX_ROWS:].exists():
            raise exceptions.ValidationError(
                {"format": [f"A CSV download holds at most {CSV_MAX_ROWS} rows: narrow the filters."]}
            )
        response = Response(self.get_serializer(queryset[:CSV_MAX_ROWS], many=True).data)
        response["Content-Disposition"] = f'attachment; filename="{self.basename}.csv"'
        return response

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

    def check_if_match(self, obj) -> None:
        """Refuse a write based on a stale copy: ``If-Match`` must name the current version.

        Our ETags start ``"<version_tag>-"``, so the version a client read is in the tag it
        sends back; a weak tag (a proxy may weaken it) names the same version."""
        header = self.request.headers.get("If-Match")
        if not header:
            return
        current = version_tag(obj)
        for tag in (tag.strip() for tag in header.split(",")):
            opaque = tag.removeprefix("W/").strip('"')
            if tag == "*" or opaque == current or opaque.startswith(f"{current}-"):
                return
        stale = services.StaleVersion(
            current=obj, expected_version=_version_in(header, obj), last_change=services.last_change(obj)
        )
        raise PreconditionFailed(f"{stale.message} Fetch it again and send its new ETag in If-Match.")

    # Conditional requests -------------------------------------------------------------------

    def last_modified(self, obj) -> float | None:
        updated = getattr(obj, "updated_at", None)
        return updated.timestamp() if updated else None

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if not isinstance(response, Response):
            return response
        if response.status_code >= 400 and isinstance(response.accepted_renderer, CSVRenderer):
            # Errors are always JSON, even for a client that asked for CSV.
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        patch_vary_headers(response, ("Accept", "Authorization", "Cookie"))
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Staff answers may hold drafts: never kept by a shared cache.
            patch_cache_control(response, no_cache=True, private=True)
        else:
            patch_cache_control(response, no_cache=True)
        if not (200 <= response.status_code < 300) or response.data is None:
            return response
        response.render()
        digest = hashlib.sha256(response.content).hexdigest()[:20]
        obj = self.etag_object
        if obj is not None and self.action != "list":
            response["ETag"] = f'"{version_tag(obj)}-{digest}"'
            last_modified = self.last_modified(obj)
            if last_modified is not None:
                response["Last-Modified"] = http_date(last_modified)
        else:
            response["ETag"] = f'"{digest}"'
            last_modified = None
        if request.method in SAFE_METHODS:
            conditional = get_conditional_response(
                request._request,
                etag=response["ETag"],
                last_modified=int(last_modified) if last_modified else None,
                response=response,
            )
            if conditional is not None:
                return conditional
        return response


def version_tag(obj, version: int | None = None) -> str:
    """An opaque name of one version of a record, for ETags and ``If-Match``.

    A keyed hash (the SECRET_KEY's HMAC) of the record's type, id and version: a client can compare
    it but learns neither the internal id nor how often the record was edited."""
    version = obj.version if version is None else version
    value = f"{obj._meta.label}|{obj.pk}|{version}"
    return salted_hmac("migrationsupport.api.version_tag", value, algorithm="sha256").hexdigest()[:24]


def _version_in(if_match: str, obj) -> int:
    """The earlier version of ``obj`` an If-Match header names (0 if it names none of them)."""
    opaque = {tag.strip().removeprefix("W/").strip('"').split("-")[0] for tag in if_match.split(",")}
    for version in range(obj.version - 1, 0, -1):
        if version_tag(obj, version) in opaque:
            return version
    return 0


@csrf_exempt  # it changes nothing, whatever the method
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """Any other address under /api/: a JSON 404 (API clients never get the site's HTML page)."""
    return JsonResponse({"detail": "No such API address. The endpoints are listed at /api/v1/."}, status=404)


# --- OpenAPI -----------------------------------------------------------------------------------

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "Field name (or query parameter) → list of messages; `non_field_errors` for the record "
        "as a whole, `detail` for the request as a whole."
    ),
    "additionalProperties": {},
}
_ERRORS = {
    "400": ("ValidationError", _VALIDATION_ERROR_SCHEMA, "Invalid input or query parameter."),
    "401": ("Error", _ERROR_SCHEMA, "Authentication needed (send a token or a session)."),
    "403": ("Error", _ERROR_SCHEMA, "Not allowed: writes need a staff account with model permissions."),
    "404": ("Error", _ERROR_SCHEMA, "No published record here (or no such page)."),
    "409": ("Error", _ERROR_SCHEMA, "Conflicts with other records (e.g. a delete of a record others cite)."),
    "412": ("Error", _ERROR_SCHEMA, "If-Match names an older version: fetch the record again."),
    "429": ("Error", _ERROR_SCHEMA, "Too many requests: retry after the number of seconds in Retry-After."),
}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema plus what the base viewset does: CSV lists, conditional request
    headers, and the error answers each operation can give."""

    def get_auth(self):
        auths = super().get_auth()
        if self.method in SAFE_METHODS:
            auths.append({})  # anyone may read, without credentials
        return auths

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method == "GET":
            parameters.append(
                OpenApiParameter(
                    "If-None-Match",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description="An ETag from an earlier answer: 304 if nothing changed.",
                )
            )
        elif self.method in WRITE_METHODS:
            parameters.append(
                OpenApiParameter(
                    "If-Match",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description="The ETag the change is based on: 412 if the record has changed since.",
                )
            )
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in responses.items():
            if not code.startswith("2"):
                continue
            content = response.get("content", {})
            if "text/csv" in content:
                content["text/csv"] = {"schema": {"type": "string", "description": "CSV with a header row."}}
            if "content" in response:
                response.setdefault("headers", {})["ETag"] = {
                    "schema": {"type": "string"},
                    "description": "Entity tag of this answer, for If-None-Match (and If-Match on a record).",
                }
        if self.method == "GET":
            responses["304"] = {"description": "Not modified (If-None-Match matched)."}
        codes = ["400", "429"]
        if self.method != "POST" and (self._is_list_view() or "{" in self.path):
            codes.append("404")  # a page past the last, or no such (published) record
        if self.method not in SAFE_METHODS:
            codes += ["401", "403"]
        if self.method in WRITE_METHODS:
            codes.append("412")
        if self.method not in SAFE_METHODS:
            codes.append("409")
        for code in sorted(codes):
            if code in responses:
                continue
            name, schema, description = _ERRORS[code]
            component = ResolvedComponent(
                name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name
            )
            self.registry.register_on_missing(component)
            responses[code] = {
                "content": {"application/json": {"schema": component.ref}},
                "description": description,
            }
            if code == "429":
                responses[code]["headers"] = {
                    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
                }
        return responses


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
