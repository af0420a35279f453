"""API-wide defaults named in ``REST_FRAMEWORK`` (settings.py): the JSON renderer and parser,
permissions, throttling, pagination, ordering and the publication filter.

They live apart from the ``api`` package because DRF imports them while it defines ``APIView``
(class attributes read from the settings); importing anything in ``api`` runs its ``__init__``,
which imports the viewsets, which subclass DRF's views and so cannot be imported at that moment.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import F, QuerySet
from drf_spectacular.plumbing import build_parameter_type
from drf_spectacular.utils import OpenApiParameter
from redis.commands.core import Script
from redis.exceptions import NoScriptError
from rest_framework import exceptions
from rest_framework.exceptions import ParseError
from rest_framework.filters import BaseFilterBackend, OrderingFilter, SearchFilter
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissionsOrAnonReadOnly
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle

from . import exactjson, services
from .filters import (
    MAX_SEARCH_TERM_LENGTH,
    MAX_SEARCH_TERMS,
    UPDATED_SINCE_HELP,
    search_terms_error,
    updated_since,
)
from .models import Status

logger = logging.getLogger(__name__)

# --- JSON ---------------------------------------------------------------------------------------


class DecimalJSONRenderer(JSONRenderer):
    """DRF's JSON, with every decimal written as stored (``exactjson``): ``60000000.00``, not
    ``float(value)``'s ``60000000.0``, and no digit lost beyond the 15 a double holds. It writes
    what DRF's does with this site's (the default) ``UNICODE_JSON``, ``COMPACT_JSON`` and
    ``STRICT_JSON``, without reading them; an ``indent`` asked for (``application/json;
    indent=4``) gives two spaces."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        indent = self.get_indent(accepted_media_type, renderer_context or {})
        rendered = exactjson.dumps(data, indent=bool(indent))
        # As DRF does: U+2028 and U+2029 escaped, so the answer is also valid JavaScript.
        return rendered.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")


class DecimalJSONParser(JSONParser):
    """DRF's JSON parser, reading non-integer numbers as decimals: an amount sent as
    ``99999999999999.99`` is stored as that, not as the nearest double (``…999.98``). Trailing
    zeros are no digits of the value (``1.100`` is read as 1.1, as the float was)."""

    renderer_class = DecimalJSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except LookupError as exc:  # a charset Python knows but cannot decode text with (bz2_codec)
            raise ParseError(f'Unsupported charset "{encoding}"') from exc
        except ValueError as exc:  # UnicodeDecodeError
            raise ParseError(f"JSON parse error - {exc}") from exc
        try:
            return exactjson.loads(text, keep_scale=False)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


# --- Permissions and throttling ----------------------------------------------------------------


class ReadOnlyOrStaffModelPermissions(DjangoModelPermissionsOrAnonReadOnly):
    """Everyone reads; writes need a staff account with the model's add/change/delete permission,
    and follow the officers' workflow (``migrationsupport.services``): a published record is a
    Publisher's (``<app>.publish_<model>``) to change or delete, Editors work on drafts."""

    message = None

    def has_permission(self, request, view):
        user = request.user
        if request.method not in SAFE_METHODS and user and user.is_authenticated and not user.is_staff:
            return False
        return super().has_permission(request, view)

    def _queryset(self, view):
        """The records whose model names the permissions: the view's own ``queryset`` when it
        has one. DRF asks ``get_queryset()``, which builds the list's whole query (visibility,
        joins, prefetches) on every request only for its model: about 1 ms of an API answer."""
        queryset = getattr(view, "queryset", None)
        return queryset if queryset is not None else super()._queryset(view)

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        allowed = (
            services.can_delete(request.user, obj)
            if request.method == "DELETE"
            else services.can_change(request.user, obj)
        )
        if not allowed:
            self.message = "This record is published: only a Publisher can change or delete it."
        return allowed


# Add one to a counter that lives one window (created with its expiry, in one atomic step) and,
# when a second key is given, read it too: one Redis command for a cached API answer's rate count
# and content version (migrationsupport.cache). A script, sent once then called by its hash, works
# on any Redis (EXPIRE's NX option needs Redis 7).
_COUNT_AND_READ = Script(
    None,  # type: ignore[arg-type]  # the client is given on each call
    b"""
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if #KEYS == 2 then return {count, redis.call('GET', KEYS[2])} end
return {count, false}
""",
)


def redis_client(cache):
    """The redis-py client behind a django-redis cache; None for another backend (the local
    memory of tests and ``make run``)."""
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    return get_client(write=True) if get_client is not None else None


def count_in_window(cache, key: str, seconds: int, *, read: str | None = None) -> tuple[int, Any]:
    """Add one to the counter ``key``, which lives ``seconds``: the new count, and the value of
    the cache key ``read`` (an integer, raw from Redis) or None. One round trip to Redis."""
    client = redis_client(cache)
    if client is not None:
        keys = [cache.make_key(key)] + ([cache.make_key(read)] if read else [])
        try:
            # By its hash directly: redis-py's Script call costs a few µs more per request.
            count, value = client.evalsha(_COUNT_AND_READ.sha, len(keys), *keys, seconds)
        except NoScriptError:  # a new or restarted Redis: the Script call sends it first
            count, value = _COUNT_AND_READ(keys=keys, args=[seconds], client=client)
        return count, value
    try:
        count = cache.incr(key)
    except ValueError:  # no counter yet in this window
        count = 1 if cache.add(key, 1, timeout=seconds) else cache.incr(key)
    return count, cache.get(read) if read else None


#: Set on a request by the page cache, which counted it against the API's anonymous rate
#: (``migrationsupport.cache``): the count.
COUNTED_ATTRIBUTE = "api_anonymous_count"

#: Set on a request by the throttles that counted it: the tightest rate, for the answer's
#: ``X-RateLimit-*`` headers (``rate_limit_headers``).
RATE_LIMIT_ATTRIBUTE = "api_rate_limit"
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def remember_rate(request, *, limit: int, count: int, reset: float) -> None:
    """Keep, on the request, the rate this count leaves least of (several throttles may count
    one request: the API's rate and the export or expensive one)."""
    request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    remaining = max(0, limit - count)
    known = getattr(request, RATE_LIMIT_ATTRIBUTE, None)
    if known is None or remaining < known[1]:
        setattr(request, RATE_LIMIT_ATTRIBUTE, (limit, remaining, math.ceil(reset)))


def rate_limit_headers(request) -> dict[str, str]:
    """``X-RateLimit-Limit`` (requests per window), ``-Remaining`` (left in this window) and
    ``-Reset`` (when the window ends, in seconds since 1970 UTC) for a counted request; none for
    one no rate counts (staff, or throttling off)."""
    known = getattr(getattr(request, "_request", request), RATE_LIMIT_ATTRIBUTE, None)
    if known is None:
        return {}
    return dict(zip(RATE_LIMIT_HEADERS, map(str, known), strict=True))


class AnonymousRateThrottle(AnonRateThrottle):
    """The API's per-address rate for anonymous clients, counted in fixed windows.

    DRF's ``SimpleRateThrottle`` keeps the time of every request in the window as one list in the
    cache, read, rewritten and written back on each request: thousands of entries at high rates,
    which made a cached answer twice as slow once it was counted too (docs/performance.md). Here
    each (scope, address, window) is one counter, raised by atomic increments (those of cached
    answers possibly a few at once, ``migrationsupport.rate_count``). A fixed window
    lets a client make up to twice the rate across a window's edge, never more. The rate is read
    on each request (DRF reads it once at import), so ``API_ANON_RATE`` and test overrides of
    ``REST_FRAMEWORK`` take effect."""

    # Set by SimpleRateThrottle.__init__ from the rate (not in DRF's type stubs).
    num_requests: int
    duration: int
    now = 0.0
    window_end = 0.0

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def window_key(self, request, view) -> str | None:
        """The counter of this client's current window (None: not counted), and its end."""
        if self.rate is None:
            return None
        key = self.get_cache_key(request, view)
        if key is None:
            return None
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        return f"{key}:{window}"

    def allow_count(self, count: int) -> bool:
        return count <= self.num_requests

    def allow_request(self, request, view):
        key = self.window_key(request, view)
        if key is None:
            return True
        counted = getattr(request, COUNTED_ATTRIBUTE, None) if self.scope == "anon" else None
        if counted is None:
            try:
                counted = count_in_window(self.cache, key, self.duration)[0]
            except Exception:  # the cache (Redis) is down: serve unthrottled rather than answer 500
                logger.warning("API throttle unavailable (cache down): request allowed", exc_info=True)
                return True
        # else the page cache has counted this request already
        remember_rate(request, limit=self.num_requests, count=counted, reset=self.window_end)
        return self.allow_count(counted)

    def wait(self):
        """Seconds until the window ends and the count starts again."""
        return max(1.0, self.window_end - self.now)


class CachedAnswerThrottle(AnonymousRateThrottle):
    """The API's rate (the same ``anon`` counter) for an answer the page cache serves before any
    view runs: only anonymous requests are served from it, and ``request.user`` is not set yet."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AnonymousExpensiveThrottle(AnonymousRateThrottle):
    """The answers that cost the most to build, on the pages and in the API alike (the funding
    explorer, its totals, search): ``EXPENSIVE_ANON_RATE`` per address, on top of the API's rate."""

    scope = "expensive"


class AnonymousExportThrottle(AnonymousRateThrottle):
    """Downloads of whole filtered lists (``/funding/export.csv``, the explorer's totals
    ``/funding/totals.csv``, its IATI file, the API's ``?format=csv``): ``EXPORT_ANON_RATE`` per
    address."""

    scope = "export"


# --- Pagination, ordering, publication filter -------------------------------------------------


#: A text search (``?search=``) counts its matches up to this many: counting every match of a
#: word most records hold reads and tests every row (76 ms for 100 000 funding records, 1.2 ms
#: for the first 1 001). Past it the answer says ``count_exact: false``, as the site's search
#: page says "more than 1 000" (``migrationsupport.search.RANKED_MATCHES``).
SEARCH_COUNT_LIMIT = 1000


@dataclass
class MatchCount:
    """The count of a text search's ``records`` up to ``limit``, as a method with no arguments
    (what Django's paginator calls ``count``); ``exact`` is False once more match."""

    records: QuerySet
    limit: int = field(default_factory=lambda: SEARCH_COUNT_LIMIT)
    exact: bool = True

    def count(self) -> int:
        found = self.records.order_by()[: self.limit + 1].count()
        self.exact = found <= self.limit
        return min(found, self.limit)

    def count_all(self) -> int:
        self.exact = True
        return self.records.count()


#: The largest row number SQL can ask for (PostgreSQL's ``bigint``, an ``OFFSET``'s type): a page
#: past it holds no record, and asking for it would be a database error.
_LAST_ROW = 2**63 - 1


class _OpenPage(Page):
    """A page of a list not counted to its end: whether another follows was read with it."""

    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self):
        return self.more

    def end_index(self):
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)


class MatchPaginator(Paginator):
    """Pages of a list counted by ``MatchCount``. While its count is exact, Django's; past the
    count's limit, pages go on without a last one: each is read with one record more, which
    says whether another page follows (``next``), so a client following ``next`` still gets
    every record; ``page=last`` counts every match (``count_all``). ``num_pages`` is then the
    pages known to exist so far."""

    def __init__(self, object_list, per_page, *args, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        self.counter: MatchCount = object_list.count.__self__
        self.furthest = 1  # the last page known to exist

    @property
    def count_exact(self) -> bool:
        return self.count < self.counter.limit or self.counter.exact

    def count_all(self) -> None:
        """Count every match, in one query (``page=last``): the pages are Django's from here on."""
        self.__dict__["count"] = self.counter.count_all()

    @property
    def num_pages(self):
        pages = Paginator.num_pages.func(self)
        return pages if self.count_exact else max(pages, self.furthest)

    def validate_number(self, number):
        if self.count_exact:
            return super().validate_number(number)
        number = int(number)  # ``ApiPagination.get_page_number`` has checked it is one from 1
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        if number * self.per_page >= _LAST_ROW:
            raise EmptyPage(self.error_messages["no_results"])
        return number

    def page(self, number):
        number = self.validate_number(number)
        if self.count_exact:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        records = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not records and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        more = len(records) > self.per_page
        self.furthest = max(self.furthest, number + more)
        return _OpenPage(records[: self.per_page], number, self, more=more)


class ApiPagination(PageNumberPagination):
    """Pages of 50 by default; ``page_size`` up to 100 (larger values are capped at 100). Every
    page says whether its ``count`` is exact: a text search's is counted up to
    ``SEARCH_COUNT_LIMIT`` (``MatchPaginator``)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100
    invalid_page_message = "Page {page_number} does not exist: {message}"

    def paginate_queryset(self, queryset, request, view=None):
        if isinstance(getattr(getattr(queryset, "count", None), "__self__", None), MatchCount):
            self.django_paginator_class = MatchPaginator  # this request's (one instance each)
        return super().paginate_queryset(queryset, request, view)

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw in (None, ""):
            return 1
        if raw in self.last_page_strings:
            if isinstance(paginator, MatchPaginator):
                paginator.count_all()
            return paginator.num_pages
        if not whole_number(raw) or int(raw) < 1:
            raise exceptions.ValidationError({self.page_query_param: ["A page is a whole number from 1."]})
        return int(raw)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return self.page_size
        if not whole_number(raw) or int(raw) < 1:
            raise exceptions.ValidationError(
                {
                    self.page_size_query_param: [
                        f"A page size is a whole number from 1 to {self.max_page_size}."
                    ]
                }
            )
        return min(int(raw), self.max_page_size)

    def get_paginated_response(self, data):
        paginator = self.page.paginator
        return Response(
            {
                "count": paginator.count,
                "count_exact": getattr(paginator, "count_exact", True),
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        properties = answer["properties"]
        properties["count"]["description"] = (
            "How many records match; with count_exact false, more than this many match "
            f"(a text search counts up to {SEARCH_COUNT_LIMIT})."
        )
        answer["properties"] = {
            "count": properties.pop("count"),
            "count_exact": {
                "type": "boolean",
                "example": True,
                "description": "False when more records match than count says: follow next to the end, "
                "or ask for page=last, which counts them all.",
            },
            **properties,
        }
        answer["required"] = [*answer["required"], "count_exact"]
        return answer

    def get_schema_operation_parameters(self, view):
        return [
            build_parameter_type(
                name=self.page_query_param,
                schema={"type": "integer", "minimum": 1},
                location=OpenApiParameter.QUERY,
                description="A page number (from 1).",
            ),
            build_parameter_type(
                name=self.page_size_query_param,
                schema={"type": "integer", "minimum": 1},
                location=OpenApiParameter.QUERY,
                description=f"Results per page: {self.page_size} by default, at most {self.max_page_size}.",
            ),
        ]


def whole_number(raw: str) -> bool:
    """Digits 0-9 only: ``str.isdigit`` also takes "²", which ``int`` refuses."""
    return raw.isascii() and raw.isdigit()


class BoundedSearchFilter(SearchFilter):
    """DRF's ``?search=`` with at most ``MAX_SEARCH_TERMS`` terms of at most
    ``MAX_SEARCH_TERM_LENGTH`` characters; beyond them a 400 (each term is a condition on every
    search field of every row)."""

    search_description = (
        f"Words to search for (at most {MAX_SEARCH_TERMS}, each at most {MAX_SEARCH_TERM_LENGTH} "
        "characters), separated by spaces or commas; quote a phrase."
    )

    def get_search_terms(self, request):
        try:
            terms = super().get_search_terms(request)
        except exceptions.ValidationError as error:  # DRF's own check (NUL): named like ours
            raise exceptions.ValidationError({self.search_param: error.detail}) from None
        if problem := search_terms_error(terms):
            raise exceptions.ValidationError({self.search_param: [problem]})
        return terms


class StrictOrderingFilter(OrderingFilter):
    """``ordering=field,-other`` on the fields a viewset documents in ``ordering_fields``.

    ``ordering_fields`` maps the public name to the model field or annotation. Unlike DRF's
    filter, an unknown field is a 400 naming the allowed ones (never silently ignored). Empty
    values sort last either way, and the primary key breaks ties so pages never overlap.
    """

    def allowed(self, view) -> dict[str, str]:
        fields = getattr(view, "ordering_fields", None) or {}
        return dict(fields) if isinstance(fields, dict) else {name: name for name in fields}

    def get_ordering(self, request, queryset, view):
        allowed = self.allowed(view)
        raw = request.query_params.get(self.ordering_param, "")
        terms = [term.strip() for term in raw.split(",") if term.strip()]
        if not terms:
            return list(getattr(view, "ordering", None) or queryset.model._meta.ordering)
        unknown = [term for term in terms if term.removeprefix("-") not in allowed]
        if unknown:
            raise exceptions.ValidationError(
                {
                    self.ordering_param: [
                        f"Cannot order by {', '.join(unknown)}. Order by one or more of "
                        f"{', '.join(allowed)}, separated by commas; prefix a field with - to reverse."
                    ]
                }
            )
        return [
            F(allowed[term[1:]]).desc(nulls_last=True)
            if term.startswith("-")
            else F(allowed[term]).asc(nulls_last=True)
            for term in terms
        ]

    def filter_queryset(self, request, queryset, view):
        ordering = self.get_ordering(request, queryset, view)
        return queryset.order_by(*ordering, "pk")

    def get_schema_operation_parameters(self, view):
        names = list(self.allowed(view))
        if not names:
            return []
        return [
            build_parameter_type(
                name=self.ordering_param,
                schema={"type": "array", "items": {"type": "string", "enum": self._terms(names)}},
                location=OpenApiParameter.QUERY,
                description="Order by these fields, comma-separated; prefix - for descending.",
                explode=False,
                style="form",
            )
        ]

    @staticmethod
    def _terms(names):
        return [term for name in names for term in (name, f"-{name}")]


class PublicationFilter(BaseFilterBackend):
    """``publication=draft|published``: staff who see drafts can list either; the public only
    ever gets published records, so ``draft`` gives them an empty list."""

    param = "publication"

    def filter_queryset(self, request, queryset, view):
        value = request.query_params.get(self.param)
        if not value:
            return queryset
        if value not in Status.values:
            raise exceptions.ValidationError({self.param: [f"Choose one of {', '.join(Status.values)}."]})
        return queryset.filter(status=value)

    def get_schema_operation_parameters(self, view):
        return [
            build_parameter_type(
                name=self.param,
                schema={"type": "string"},
                enum=list(Status.values),
                location=OpenApiParameter.QUERY,
                description="Publication status. The public sees published records only.",
            )
        ]


class UpdatedSinceFilter(BaseFilterBackend):
    """``updated_since=<date or date and time>`` on every list: the records changed since then
    (``migrationsupport.filters.updated_since``), for clients that keep a copy up to date. A
    value that is not an ISO 8601 date or date and time is a 400."""

    param = "updated_since"

    def filter_queryset(self, request, queryset, view):
        raw = request.query_params.get(self.param)
        if not raw:
            return queryset
        try:
            return updated_since(queryset, raw)
        except ValueError:
            raise exceptions.ValidationError(
                {
                    self.param: [
                        "Expected an ISO 8601 date (2024-05-01) or date and time (2024-05-01T12:00:00Z)."
                    ]
                }
            ) from None

    def get_schema_operation_parameters(self, view):
        return [
            build_parameter_type(
                name=self.param,
                schema={"type": "string"},
                location=OpenApiParameter.QUERY,
                description=UPDATED_SINCE_HELP,
            )
        ]
