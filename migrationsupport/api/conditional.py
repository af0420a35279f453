"""Conditional requests: every successful JSON answer carries an ``ETag`` (Django's digest of the
body, prefixed on a record with its ``version_tag``) and a record's answer its ``Last-Modified``;
``If-None-Match`` on a read gives 304 (Django's ``ConditionalGetMiddleware``, as for the pages),
and ``If-Match`` on a write that names an older version gives 412 (``ConditionalRequestsMixin``,
mixed into ``PublishableViewSet``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.middleware.http import ConditionalGetMiddleware
from django.utils.cache import get_conditional_response, set_response_etag
from django.utils.crypto import salted_hmac
from django.utils.http import http_date, parse_http_date_safe

from .. import services
from ..api_defaults import RATE_LIMIT_HEADERS
from .errors import PreconditionFailed

if TYPE_CHECKING:
    # What the mixin uses of the viewset it is mixed into (``request``, ``action``).
    from rest_framework.viewsets import GenericViewSet as _ViewSet
else:
    _ViewSet = object

WRITE_METHODS = ("PUT", "PATCH", "DELETE")


def not_modified_keeps_rate(answer, response):
    """The rate headers of ``response`` on ``answer``, the 304 made from it: Django's 304 keeps
    only the caching headers, but the request was counted all the same, and a client polling
    with ``If-None-Match`` needs to see where it stands."""
    if answer is not response and answer.status_code == 304:
        for name in RATE_LIMIT_HEADERS:
            if name in response:
                answer[name] = response[name]
    return answer


class RateKeepingConditionalGetMiddleware(ConditionalGetMiddleware):
    """Django's ``ConditionalGetMiddleware`` (304 for a current ``If-None-Match`` or
    ``If-Modified-Since``), whose 304 keeps the answer's ``X-RateLimit-*`` headers."""

    def process_response(self, request, response):
        return not_modified_keeps_rate(super().process_response(request, response), response)


def version_tag(obj, version: int | None = None) -> str:
    """An opaque name of one version of a record, for ETags and ``If-Match``.

    A keyed hash (the SECRET_KEY's HMAC) of the record's type, id and version: a client can compare
    it but learns neither the internal id nor how often the record was edited."""
    version = obj.version if version is None else version
    value = f"{obj._meta.label}|{obj.pk}|{version}"
    # The salt keeps the name of the module it was first defined in: changing it would change
    # every ETag clients hold.
    return salted_hmac("migrationsupport.api.version_tag", value, algorithm="sha256").hexdigest()[:24]


def _version_in(if_match: str, obj) -> int:
    """The earlier version of ``obj`` an If-Match header names (0 if it names none of them)."""
    opaque = {tag.strip().removeprefix("W/").strip('"').split("-")[0] for tag in if_match.split(",")}
    for version in range(obj.version - 1, 0, -1):
        if version_tag(obj, version) in opaque:
            return version
    return 0


class ConditionalRequestsMixin(_ViewSet):
    """``ETag`` and ``Last-Modified`` for a viewset's answers, and the checks of ``If-Match`` and
    ``If-None-Match``. The viewset sets ``etag_object`` to the record an answer is about."""

    etag_object: models.Model | None = None

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

    def last_modified(self, obj) -> float | None:
        updated = getattr(obj, "updated_at", None)
        return updated.timestamp() if updated else None

    def conditional_response(self, request, response):
        """A successful answer with its ``ETag`` and, for a record, ``Last-Modified``.

        The tag is Django's digest of the body (``set_response_etag``, as for every page), prefixed
        on a record with its ``version_tag``; ``ConditionalGetMiddleware`` then answers a GET's
        ``If-None-Match`` and ``If-Modified-Since`` with 304, as it does for the pages. It leaves
        HEAD alone, so a HEAD is answered here the same way."""
        if not (200 <= response.status_code < 300) or response.data is None:
            return response
        response.render()
        set_response_etag(response)
        obj = self.etag_object
        if obj is not None and self.action != "list":
            response["ETag"] = f'"{version_tag(obj)}-{response["ETag"].strip(chr(34))}"'
            last_modified = self.last_modified(obj)
            if last_modified is not None:
                response["Last-Modified"] = http_date(last_modified)
        if request.method == "HEAD":
            modified = response.get("Last-Modified")
            answer = get_conditional_response(
                request,
                etag=response["ETag"],
                last_modified=parse_http_date_safe(modified) if modified else None,
                response=response,
            )
            return not_modified_keeps_rate(answer, response)
        return response
