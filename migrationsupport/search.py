"""Search across every public record type, starting from each model's ``published()``.

Each app registers its record types (``registry.search``) from its ``AppConfig.ready()``.

On PostgreSQL it is full-text search (``websearch`` syntax: quoted phrases, ``or``, ``-word``)
ranked with titles weighted above text, plus a plain match on the title so a partial word
("Front" for Frontex) still finds a record. On SQLite, used only for local development, it is a
case-insensitive match on the same fields.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Model, Q, QuerySet, Value
from django.db.models.expressions import CombinedExpression
from django.utils.html import strip_tags
from django.utils.text import Truncator

from .filters import MAX_SEARCH_TERM_LENGTH, MAX_SEARCH_TERMS
from .models import PageSection, Theme
from .registry import registry

MAX_QUERY_LENGTH = 200
SEARCH_CONFIG = "english"


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str
    summary: str


@dataclass(frozen=True)
class SearchGroup:
    label: str
    hits: list[SearchHit]


RecordT = TypeVar("RecordT", bound=Model)


@dataclass(frozen=True)
class RecordType(Generic[RecordT]):
    """How one model is searched and shown in the results."""

    label: str
    queryset: Callable[[], QuerySet[RecordT]]
    title_field: str
    text_fields: tuple[str, ...]
    title: Callable[[RecordT], str] = str
    summary: Callable[[RecordT], str] = lambda obj: ""
    #: Where its group of results stands on the search page (lower first).
    position: int = 100


def plain(text: str, words: int = 30) -> str:
    """Officer HTML as a short plain-text excerpt."""
    return Truncator(html.unescape(strip_tags(text or ""))).words(words)


CORE_RECORD_TYPES = (
    RecordType(
        "Key areas",
        lambda: Theme.objects.published(),
        "name",
        ("description",),
        summary=lambda t: plain(t.description),
        position=100,
    ),
    RecordType(
        "Overview",
        lambda: PageSection.objects.published(),
        "title",
        ("body",),
        title=lambda s: s.title or "Overview",
        summary=lambda s: plain(s.body),
        position=110,
    ),
)


def normalise_query(query: str | None) -> str:
    """The query as searched: whitespace collapsed, its first ``MAX_SEARCH_TERMS`` words, each cut
    at ``MAX_SEARCH_TERM_LENGTH`` characters, ``MAX_QUERY_LENGTH`` in all.

    Cut rather than refused (the API answers 400 beyond the same limits): the search box already
    stops at ``MAX_QUERY_LENGTH`` characters, and the page shows the query it ran, in the box
    and in its result line, so a person sees what was left out. An address made by hand with
    thousands of words costs no more than ten.
    """
    words = (query or "").split(maxsplit=MAX_SEARCH_TERMS)[:MAX_SEARCH_TERMS]
    return " ".join(word[:MAX_SEARCH_TERM_LENGTH] for word in words)[:MAX_QUERY_LENGTH]


def _matches(record_type: RecordType, query: str) -> QuerySet:
    queryset = record_type.queryset()
    fields = (record_type.title_field, *record_type.text_fields)
    if connection.vendor == "postgresql":
        vector: SearchVector | CombinedExpression = SearchVector(
            record_type.title_field, weight="A", config=SEARCH_CONFIG
        )
        if record_type.text_fields:
            vector += SearchVector(*record_type.text_fields, weight="B", config=SEARCH_CONFIG)
        search_query = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
        return (
            queryset.annotate(document=vector, rank=SearchRank(vector, search_query))
            .filter(Q(document=search_query) | Q(**{f"{record_type.title_field}__icontains": query}))
            .order_by("-rank", record_type.title_field)
        )
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__icontains": query})
    return queryset.filter(condition).annotate(rank=Value(0.0)).order_by(record_type.title_field)


def search_records(query: str, *, limit: int = 20) -> list[SearchGroup]:
    """Published records matching ``query``, grouped by record type, best first in each group.

    One query per record type; ``limit`` bounds each group.
    """
    query = normalise_query(query)
    if not query:
        return []
    groups = []
    for record_type in sorted(registry.search, key=lambda record_type: record_type.position):
        hits = [
            SearchHit(
                title=record_type.title(obj), url=obj.get_absolute_url(), summary=record_type.summary(obj)
            )
            for obj in _matches(record_type, query)[:limit]
        ]
        if hits:
            groups.append(SearchGroup(record_type.label, hits))
    return groups
