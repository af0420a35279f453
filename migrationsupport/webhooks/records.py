"""The record types webhooks speak of, found through the API router's registry (the core names no
domain app), and a record as an anonymous API client sees it: the same viewset, queryset and
serializer as ``GET /api/<type>/<id>/``, so a payload never holds a draft, a draft's relation or a
field the public API does not show."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.http import HttpRequest, QueryDict
from rest_framework.request import Request

from .. import exactjson
from ..api_defaults import DecimalJSONRenderer
from ..registry import ApiRoute, registry


def record_types() -> dict[str, ApiRoute]:
    """The API's record types by name: the lists' names in their addresses (``funding``,
    ``countries``, ``route-figures``…), so ``/api/v1/<record type>/<id>/`` is a record's address."""
    return {route.prefix: route for route in registry.api_routes}


def record_type_of(model: type[models.Model]) -> ApiRoute | None:
    for route in registry.api_routes:
        if route.viewset.queryset.model is model:
            return route
    return None


class _SiteRequest(HttpRequest):
    """A request to the site's public address (``SITE_URL``), for the absolute addresses in a
    payload: built in a worker, it comes from no client and its host is ours by definition."""

    def get_host(self) -> str:
        return urlsplit(settings.SITE_URL).netloc

    def _get_scheme(self) -> str:
        return urlsplit(settings.SITE_URL).scheme


def _anonymous_request() -> Request:
    django_request = _SiteRequest()
    django_request.method = "GET"
    django_request.user = AnonymousUser()
    request = Request(django_request)
    request.user = AnonymousUser()
    return request


def _view(route: ApiRoute, action: str = "retrieve"):
    return route.viewset(
        request=_anonymous_request(),
        args=(),
        kwargs={},
        format_kwarg=None,
        action=action,
        basename=route.basename,
    )


def public_identifier(route: ApiRoute, record: models.Model) -> str:
    """The record's identifier in its API address (a slug, an ISO code or a number)."""
    return str(getattr(record, route.viewset.lookup_field))


def public_representation(route: ApiRoute, pk: Any) -> dict[str, Any] | None:
    """The record ``pk`` as ``GET /api/<type>/<id>/`` shows it to the public, as plain JSON
    values; None when the public cannot see it (a draft, or a record whose page is a draft's)."""
    view = _view(route)
    record = view.get_queryset().filter(pk=pk).first()
    if record is None:
        return None
    data = view.get_serializer(record).data
    # Through the API's own renderer, so numbers and dates read exactly as the API writes them
    # (decimals as decimals: the delivery's body writes them back digit for digit).
    return exactjson.loads(DecimalJSONRenderer().render(data))


def filters_error(record_type_names: list[str], filters: str) -> str | None:
    """Why ``filters`` cannot be used with these record types, or None: every name must be a
    filter of at least one of their API lists, and the values must be valid where it is one."""
    if not filters:
        return None
    data = QueryDict(filters)
    routes = [record_types()[name] for name in record_type_names if name in record_types()]
    known: set[str] = set()
    for route in routes:
        filterset_class = getattr(route.viewset, "filterset_class", None)
        if filterset_class is None:
            continue
        names = set(filterset_class.base_filters)
        known |= names
        relevant = QueryDict(mutable=True)
        for key in data:
            if key in names:
                relevant.setlist(key, data.getlist(key))
        filterset = filterset_class(data=relevant, queryset=route.viewset.queryset.model._base_manager.none())
        if not filterset.is_valid():
            problems = "; ".join(f"{key}: {' '.join(errors)}" for key, errors in filterset.errors.items())
            return f"{route.prefix}: {problems}"
    unknown = sorted(set(data) - known)
    if unknown:
        return f"No chosen record type has the filter {', '.join(unknown)}."
    return None


def matches_filters(route: ApiRoute, pk: Any, filters: str) -> bool:
    """Whether the record ``pk`` (whatever its status: an unpublished record is matched on what
    it holds now) passes the API list filters ``filters`` that its record type has."""
    if not filters:
        return True
    filterset_class = getattr(route.viewset, "filterset_class", None)
    if filterset_class is None:
        return True
    data = QueryDict(filters)
    relevant = QueryDict(mutable=True)
    for key in data:
        if key in filterset_class.base_filters:
            relevant.setlist(key, data.getlist(key))
    if not relevant:
        return True
    queryset = route.viewset.queryset.model._base_manager.filter(pk=pk)
    filterset = filterset_class(data=relevant, queryset=queryset)
    return filterset.is_valid() and filterset.qs.exists()
