"""Search across every public record type, starting from each model's ``published()``.

Each app registers its record types (``registry.search``) and the other names its records go by
(``registry.search_names``: a country's common and official names and ISO codes) from its
``AppConfig.ready()``.

On PostgreSQL it is full-text search (``websearch`` syntax: quoted phrases, ``or``, ``-word``) in
the ``ms_english`` configuration, PostgreSQL's ``english`` with ``unaccent`` before stemming (see
``migrationsupport/migrations/0004_search_unaccent.py``), so "Turkiye" finds "Türkiye". A query
of plain words also matches words they begin ("Front" finds Frontex). A query that names a
country by another name ("Turkey", "TUR", "Republic of Türkiye") also looks for the names the
country goes by, and, when the query is only that name, for the records linked to the country,
which rank first. Ranking puts a match in a record's title above one in its own text, and both
above text that several records share (a source passage quoted for each: the Eastern
Partnership passage names Ukraine in the Armenian agreements too). Few or no results bring a
"did you mean" from the titles nearest the query (pg_trgm word similarity).

On SQLite, used only for local development, it is a case-insensitive match on the same fields
(and on the other names), with no stemming, accents or suggestions.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache, partial, reduce
from operator import or_
from typing import Generic, NamedTuple, TypeVar

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    TrigramWordSimilarity,
)
from django.db import InterfaceError, OperationalError, connection, connections, transaction
from django.db.models import Count, Exists, F, Lookup, Model, OuterRef, Q, QuerySet, Value, Window
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Upper
from django.db.models.sql import Query
from django.urls import reverse
from django.utils.html import escape, strip_tags
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator, slugify
from psycopg.errors import QueryCanceled

from . import compiled
from .filters import MAX_SEARCH_TERM_LENGTH, MAX_SEARCH_TERMS
from .models import PageSection, Theme, published_q
from .registry import registry
from .values import format_number

MAX_QUERY_LENGTH = 200
#: The text search configuration: ``english`` with ``unaccent`` (migration 0004).
SEARCH_CONFIG = "ms_english"
#: Fewer results than this and the page offers the nearest spelling, if there is one.
FEW_RESULTS = 3
#: How close a title's word must be to a query word to be offered instead (pg_trgm similarity).
SUGGESTION_SIMILARITY = 0.3
#: The titles alike of a type with ``sentence_titles`` a suggestion chooses among: the first its
#: trigram index finds. A misspelt common word ("Synthetik") is like a word of every title that
#: has it ("Synthetic"), and ranking them all took 550 ms at +100 000 funding records. (Titles
#: the index proposes that are not alike are not bounded by this: ``SUGGESTION_TIMEOUT_MS``.)
SUGGESTION_CANDIDATES = 100
#: The matches of one type ranked for a query that names no country: the first found (in the
#: table's order, through the search index or the table). Ranking every match of a word most
#: records hold ("funding") read and ranked all 100 000 funding records: 62 ms of SQL at
#: +100 000. The page says when a type has more matches than this, and that the results shown
#: are the best of the first ones found.
RANKED_MATCHES = 1000
#: Results on each page of one record type's results (``search_records(only=...)``).
TYPE_PAGE_SIZE = 50
#: A type's pages reach its first results only (at most ``RANKED_MATCHES``): a later page reads
#: every result before it. At +100 000 records a country's 250th linked funding record took
#: 8–10 ms of SQL, its 500th 25–30 ms and, under load, 24 requests a second (a parallel plan
#: from about 300: docs/performance.md). A country's funding records are all in the explorer.
TYPE_RESULTS = 250


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str
    summary: str
    #: The title and summary, HTML-escaped, with the words the query matched in ``<mark>``.
    title_html: str = ""
    summary_html: str = ""
    #: Linked to the country the whole query names (``NameMatch``), not only mentioning it.
    linked: bool = False


class CountryList(NamedTuple):
    """The list of every record of a type linked to a country (``SearchGroup.country_list``)."""

    url: str  #: its address, filtered by the country
    country: str  #: the country's name
    name: str  #: the list's name in a sentence ("the funding explorer")


@dataclass(frozen=True)
class SearchGroup:
    label: str
    hits: list[SearchHit]
    #: How many records of the type match, up to ``RANKED_MATCHES``; None where not counted:
    #: a type linked to the country the query names (its linked records are found by their
    #: links), a query that only leaves a word out (in title order), SQLite.
    matched: int | None = None
    #: More than ``RANKED_MATCHES`` match: ``hits`` are the best of the first ones found.
    more: bool = False
    #: The type as the page's address names it (``RecordType.slug``).
    slug: str = ""
    #: How many of the type's results come before ``hits``.
    offset: int = 0
    #: Results follow ``hits`` within those the type's pages reach (``type_reach()``): counted or
    #: not, the page never says there are only as many as it shows.
    has_next: bool = False
    #: Results follow ``hits`` past those the type's pages reach (``type_reach()``).
    cut: bool = False
    #: Where every record of the type linked to the one country the query names is listed,
    #: when more of them follow.
    country_list: CountryList | None = None

    @property
    def more_follow(self) -> bool:
        """Results follow ``hits``, whether its pages reach them or not."""
        return self.has_next or self.cut

    @property
    def end(self) -> int:
        """The number of the last result shown, counting from 1 over the type's results."""
        return self.offset + len(self.hits)

    @property
    def shown(self) -> str:
        """The search page's count of the results shown: "20", "20 of 22", "20 of more than
        1 000", or, uncounted with more to follow, "first 20"."""
        shown = len(self.hits)
        if self.more:
            return f"{shown} of more than {_number(self.matched)}"
        if self.matched and self.matched > shown:
            return f"{shown} of {_number(self.matched)}"
        return f"first {shown}" if self.more_follow else str(shown)

    @property
    def span(self) -> str:
        """A type's page's count of its results: "51–100 of 1 000", "51–100", "result 25" (a
        later page's one), "1" (a first page's one)."""
        first = _number(self.offset + 1)
        if len(self.hits) > 1:
            span = f"{first}–{_number(self.end)}"
        else:
            span = f"result {first}" if self.offset else first
        if self.matched:
            span += f" of {'more than ' if self.more else ''}{_number(self.matched)}"
        return span

    @property
    def results(self) -> str:
        """What a type's page lists, before the query: "4 results in funding" (all of them),
        "Results 51–100 in funding", "Result 25 in funding"."""
        label = self.label.lower()
        if not self.offset and not self.more_follow:
            return f"{len(self.hits)} result{'' if len(self.hits) == 1 else 's'} in {label}"
        if len(self.hits) == 1:
            return f"Result {_number(self.end)} in {label}"
        return f"Results {_number(self.offset + 1)}–{_number(self.end)} in {label}"

    @property
    def rest(self) -> str:
        """The search page's link to the type's own pages: "All 22 results in funding", "The
        first 250 results in funding" (more match than they reach), "More results in funding"."""
        label, reach = self.label.lower(), type_reach()
        if self.matched is None:
            return f"More results in {label}"
        if self.more or self.matched > reach:
            return f"The first {_number(reach)} results in {label}"
        return f"All {_number(self.matched)} results in {label}"


def _number(value: int | None) -> str:
    return format_number(Decimal(value or 0))


@dataclass(frozen=True)
class NameMatch:
    """Part of a query that names a record by another name: "Turkey" for the country Türkiye."""

    #: The country's ISO 3166-1 alpha-2 code.
    code: str
    #: The names to look for instead, as written in records ("Türkiye", "Republic of Türkiye").
    names: tuple[str, ...]
    #: The query's other words (folded, see ``fold``); empty when the name was the whole query.
    rest: str = ""


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
    #: Text that several records often share word for word (the source passage quoted for
    #: each): matched like ``text_fields`` but weighted lowest, so records whose own title or
    #: text match rank above records that only share a passage.
    shared_text_fields: tuple[str, ...] = ()
    #: The lookup from a record to the ISO codes of the countries it is about: the record's own
    #: field (``"iso_code"``) or one many-to-many relation's (``"parties__iso_code"``); a query
    #: that is only a country's name finds these records.
    country_code_field: str | None = None
    #: The public list that holds every record linked to a country, given ``?country=`` and its
    #: ISO code: (URL name, its name in a sentence). When a country's linked records go on past
    #: the page, the page links to it ("every one in the funding explorer").
    country_list: tuple[str, str] | None = None
    #: The column that stores the weighted document (``fulltext.SearchDocumentField``), read
    #: instead of building it from the text of every row ranked.
    document_column: str | None = None
    #: Its titles are sentences ("Support to returnees in Niger"), not names ("Syria"), and its
    #: records many: a misspelt query is looked for among them as a word of a title only, the
    #: nearest among the first ``SUGGESTION_CANDIDATES`` found alike (``search_suggestion``).
    sentence_titles: bool = False

    @property
    def slug(self) -> str:
        """How the search page's address names the type ("funding", "key-documents")."""
        return slugify(self.label)

    @property
    def country_path(self) -> tuple[str, str]:
        """``country_code_field`` in two: the relation to the countries ("" when the record is
        the country) and the code's field on the country."""
        relation, _, code_field = (self.country_code_field or "").rpartition("__")
        return relation, code_field


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


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    # Cached: the highlighting folds every character of every result shown (3 000 a page).
    return "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)).casefold()


def fold(text: str) -> str:
    """``text`` without accents or case, every run of other than letters and digits one space:
    "EU-Türkiye" → "eu turkiye". How names are compared in Python (the database's ``unaccent``)."""
    return " ".join(re.findall(r"[^\W_]+", "".join(_fold_char(c) for c in text)))


def _uses_operators(query: str) -> bool:
    """Whether ``query`` uses websearch syntax: a phrase, an alternative or an excluded word."""
    return '"' in query or bool(re.search(r"(^|\s)-|\bor\b", query, flags=re.IGNORECASE))


def _one_word_left_out(query: str) -> bool:
    """Whether ``query`` is one word left out ("-migration"): every record it matches ranks the
    same, 0 (``ts_rank`` of a query whose top is a NOT adds up its words found, and a match holds
    none), so by title, the tie-break, is the order they are listed in, which a title index reads
    first to last (ranking them read every record: 155-158 ms at +100 000 funding records).
    Not for several ("-migration -syria", an AND of NOTs): a record whose document holds no word
    at all ranks 0, every other 1e-20 (``any_word``), so it comes last, not at its title."""
    return re.fullmatch(r"-[^\W_]+", query) is not None


def query_names(query: str) -> list[NameMatch]:
    """Every other name ``query`` uses, from the apps' ``registry.search_names``; none when it
    uses websearch syntax (in "frontex -serbia", Serbia is what the person does not want)."""
    if _uses_operators(query):
        return []
    return [match for names in registry.search_names for match in names(query)]


def text_query(query: str, names: list[NameMatch]) -> SearchQuery:
    search_query = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
    if not _uses_operators(query):
        # Each word also as a prefix: "Front" finds Frontex. Only letters and digits, quoted, so
        # nothing in the query is tsquery syntax; not for a query with a one- or two-letter word
        # ("TR" would find "trade" and "trafficking").
        words = re.findall(r"[^\W_]+", query)
        if words and min(len(word) for word in words) >= 3:
            prefixes = " & ".join(f"'{word}':*" for word in words)
            search_query |= SearchQuery(prefixes, search_type="raw", config=SEARCH_CONFIG)
    for match in names:
        other_names = reduce(
            or_, (SearchQuery(name, search_type="phrase", config=SEARCH_CONFIG) for name in match.names)
        )
        if match.rest:
            other_names &= SearchQuery(match.rest, search_type="plain", config=SEARCH_CONFIG)
        search_query |= other_names
    return search_query


class CompiledSearchQuery(SearchQuery):
    """A search query as SQL compiled once (``compiled_text_query``). Django resolves and
    compiles an expression tree wherever it is used: the query's words, their prefixes and a
    country's other names, ranked and matched in each part of each record type's query, cost
    ~20 ms of CPU a search by a country's name."""

    def __init__(self, sql: str, params: tuple):
        super().__init__("")
        self.sql, self.params = sql, params

    def resolve_expression(self, *args, **kwargs):
        return self

    def get_source_expressions(self):
        return []

    def set_source_expressions(self, exprs):
        assert not exprs

    def as_sql(self, compiler, connection, *args, **kwargs):
        return self.sql, list(self.params)


@lru_cache(maxsize=256)
def compiled_text_query(query: str, names: tuple[NameMatch, ...]) -> CompiledSearchQuery:
    """``text_query`` compiled once per process for each query (PostgreSQL only): the same SQL
    and parameters in every record type's query."""
    search_query = text_query(query, list(names))
    sql_query = Query(None)
    compiler = sql_query.get_compiler(connection=connection)
    sql, params = search_query.resolve_expression(sql_query).as_sql(compiler, connection)
    return CompiledSearchQuery(sql, tuple(params))


#: A word of a tsquery as PostgreSQL writes it: quoted (a quote in it doubled), then ``:`` and
#: its prefix mark and weights, if any.
_TSQUERY_WORD = r"'(?:[^']|'')*'(?::[*A-D]+)?"


@lru_cache(maxsize=256)
def any_word(search_query: CompiledSearchQuery) -> CompiledSearchQuery:
    """A query matching the documents that hold any word of ``search_query``, phrases and
    negations included: PostgreSQL's ``ts_rank`` ranks a document against a query whose top is
    not an AND or a phrase by adding up each of its words found in it (0 for a document holding
    none), and against one that is by the pairs of its words found (1e-20 for one holding none):
    either way every document holding none ranks the same, lowest."""
    # The compiled query's own SQL, its values parameters, as is the pattern.
    words = f"regexp_matches(({search_query.sql})::text, %s, 'g') word"
    sql = f"(SELECT string_agg(word[1], ' | ') FROM {words})::tsquery"  # noqa: S608
    return CompiledSearchQuery(sql, (*search_query.params, f"({_TSQUERY_WORD})"))


def text_vector(record_type: RecordType) -> SearchVector | CombinedExpression:
    """The weighted document built from the text: title A, own text B, shared text D."""
    vector: SearchVector | CombinedExpression = SearchVector(
        record_type.title_field, weight="A", config=SEARCH_CONFIG
    )
    if record_type.text_fields:
        vector += SearchVector(*record_type.text_fields, weight="B", config=SEARCH_CONFIG)
    if record_type.shared_text_fields:
        vector += SearchVector(*record_type.shared_text_fields, weight="D", config=SEARCH_CONFIG)
    return vector


def _vector(record_type: RecordType) -> SearchVector | CombinedExpression | F:
    """The weighted document as searched: the stored column where there is one (funding,
    agreements and documents, each with a GIN index on it: ``*_search_idx``), else
    ``text_vector``."""
    if record_type.document_column:
        return F(record_type.document_column)
    return text_vector(record_type)


def linked_country_ids(
    record_type: RecordType, names: list[NameMatch], read: dict | None = None
) -> tuple[int, ...] | None:
    """The ids of the published countries the whole query names, when ``record_type`` links
    records to countries (a link to a draft country must not lift a record), or None; ``read``
    keeps them per country model and field for the next record type. One small query: with the
    ids written in, PostgreSQL knows from its statistics how many records link to
    the country. Joined to the countries instead, it guessed the average (5 883 at +100 000
    funding records) for every country, and walked all 100 000 records by title for one that
    has none (160 ms)."""
    countries = _named_countries(record_type, names, read)
    return None if countries is None else tuple(country.pk for country in countries)


def _named_countries(record_type: RecordType, names: list[NameMatch], read: dict | None) -> list | None:
    """``linked_country_ids``' countries themselves, by id."""
    codes = {match.code for match in names if not match.rest}
    if not codes or not record_type.country_code_field:
        return None
    relation, code_field = record_type.country_path
    model = record_type.queryset().model
    country = model._meta.get_field(relation).related_model if relation else model
    read = {} if read is None else read
    if (country, code_field) not in read:
        found = country._default_manager.filter(published_q(), **{f"{code_field}__in": codes})
        read[country, code_field] = list(found.order_by("pk"))
    return read[country, code_field]


def _country_list(record_type: RecordType, names: list[NameMatch], read: dict) -> CountryList | None:
    """``SearchGroup.country_list`` for ``record_type``, when the query names one country."""
    if record_type.country_list is None:
        return None
    countries = _named_countries(record_type, names, read)
    if not countries or len(countries) > 1:
        return None
    url_name, list_name = record_type.country_list
    code = getattr(countries[0], record_type.country_path[1])
    return CountryList(f"{reverse(url_name)}?country={code.lower()}", str(countries[0]), list_name)


def _linked_ids(record_type: RecordType, country_ids: tuple[int, ...] | None) -> QuerySet | None:
    """The ids of the published or draft records linked to these countries
    (``linked_country_ids``), or None."""
    if not country_ids or not record_type.country_code_field:
        return None
    model = record_type.queryset().model
    relation = record_type.country_path[0]
    if not relation:  # the record is the country
        return model._default_manager.filter(pk__in=country_ids).annotate(record=F("pk")).values("record")
    field = model._meta.get_field(relation)
    links = field.remote_field.through._default_manager.filter(
        **{f"{field.m2m_reverse_field_name()}__in": country_ids}
    )
    return links.annotate(record=F(field.m2m_field_name())).values("record")


def matching_ids(record_type: RecordType, search_query: SearchQuery) -> QuerySet:
    """The ids of the records whose document matches: the query an index serves (funding's,
    agreements' and documents' ``*_search_idx`` on their stored documents)."""
    model = record_type.queryset().model
    return (
        model._default_manager.annotate(document=_vector(record_type))
        .filter(document=search_query)
        .order_by()
        .values("pk")
    )


class _AnyOf(Lookup):
    """``lhs = ANY(rhs)``, ``rhs`` an array (``ArraySubquery``): each id looked up by its index,
    where ``lhs IN (subquery)`` may be planned as a semi-join over the whole table."""

    lookup_name = "any_of"  # used directly, not registered on any field

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # The array compiled as it is, in ``ANY(…)`` (``process_rhs`` adds parentheses of its own).
        rhs, rhs_params = compiler.compile(self.rhs)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)


def _matches(
    record_type: RecordType,
    query: str,
    names: list[NameMatch],
    *,
    limit: int,
    country_ids: tuple[int, ...] | None,
    offset: int = 0,
) -> QuerySet:
    """The published records matching ``query`` from the ``offset``-th, ``limit`` of them and
    one more if there is one (it tells whether results follow): those linked to the countries it
    names (``linked_country_ids``) first, then by rank, title and id."""
    end = offset + limit + 1
    queryset = record_type.queryset()
    linked_ids = _linked_ids(record_type, country_ids)
    if linked_ids is not None:
        queryset = queryset.annotate(linked=Exists(linked_ids.filter(record=OuterRef("pk"))))
    else:
        queryset = queryset.annotate(linked=Value(False))
    if connection.vendor == "postgresql":
        vector = _vector(record_type)
        search_query = compiled_text_query(query, tuple(names))
        rank = SearchRank(vector, search_query)
        order: tuple[str, ...] = (record_type.title_field, "pk")
        ranked = not _one_word_left_out(query)
        if ranked:
            order = ("-rank", *order)
        # Ranked, ordered and cut where the rows are found: the text matches through their index
        # and the linked records through their links (a UNION rather than an OR, which would make
        # PostgreSQL read every row). Ranking all the matches joined back to the table instead
        # read all 100 000 funding records for "migration" (5 matches: the planner expects
        # thousands from a prefix query and joins by hash); a bounded number joined back is
        # looked up by id.
        found = queryset.alias(document=vector).filter(document=search_query).annotate(rank=rank)
        if linked_ids is None and not ranked:  # in title order, the title's index walked
            return found.order_by(*order)[offset:end]
        if linked_ids is None:
            # The first ``RANKED_MATCHES`` + 1 found, ranked and counted (the one more tells
            # that there are more than ``RANKED_MATCHES``). Unordered, so PostgreSQL stops at
            # the last one: in the table for a word most records hold, through the index for a
            # rarer one (ordered by id, "migration" walked all 100 000 ids for its 5 matches).
            # Past ``RANKED_MATCHES`` matches, a type's later pages are of the first found again:
            # the same ones while the table is unchanged and read in its order (no parallel scan
            # for a few rows; ``synchronize_seqscans`` is off, settings.py).
            first = found.order_by().values("pk")[: RANKED_MATCHES + 1]
            found = queryset.filter(pk__in=first).annotate(rank=rank, matched=Window(Count("pk")))
            return found.order_by(*order)[offset:end]
        # The first ``end`` of all are among the first ``end`` of each part: a record's place
        # depends on the record alone, and the unlinked records shown are at most ``end`` less
        # the linked ones.
        parts = record_type.queryset().annotate(rank=rank).order_by(*order).values("pk")
        best = parts.alias(document=vector).filter(document=search_query)[:end]
        # Of the linked records, only those holding one of the query's words can rank above the
        # others, which all rank the same, lowest (``any_word``): those are ranked, and the first
        # of every other one come by title, through its index. Ranking every linked record read
        # each one's document: 7 818 for "Syria" at +100 000 funding records, 17 ms of the 18.
        linked = record_type.queryset().filter(pk__in=linked_ids)
        mentioning = parts.filter(pk__in=linked_ids).alias(document=vector)
        mentioning = mentioning.filter(document=any_word(search_query))[:end]
        first = linked.order_by(record_type.title_field, "pk").values("pk")[:end]
        best = best.union(mentioning, first)
        # ``id = ANY(ARRAY(…))``, not ``id IN (…)``: up to 3 × ``end`` ids, each looked up by its
        # primary key. As a semi-join, PostgreSQL read the whole table once the union held about
        # 600 ids (90 ms of SQL at +100 000 funding records for the 1 001st result).
        chosen = _AnyOf(F("pk"), ArraySubquery(best))
        return queryset.filter(chosen).annotate(rank=rank).order_by("-linked", *order)[offset:end]
    fields = (record_type.title_field, *record_type.text_fields, *record_type.shared_text_fields)
    condition = Q()
    for text in (query, *(name for match in names for name in match.names)):
        for name in fields:
            condition |= Q(**{f"{name}__icontains": text})
    if linked_ids is not None:
        condition |= Q(pk__in=linked_ids)
    return (
        queryset.filter(condition)
        .annotate(rank=Value(0.0))
        .order_by("-linked", record_type.title_field, "pk")[offset:end]
    )


def _stem(word: str) -> str:
    # A rough English stem, so "agreements" also marks "agreement" and "Ukraine" "Ukrainian"; the
    # database stems properly, this only decides what to mark.
    return word[:-2] if len(word) >= 6 else word


def highlight_terms(query: str, names: list[NameMatch]) -> tuple[str, ...]:
    """The folded word beginnings to mark in results: the query's words (not those it excludes,
    nor ``or``) and the other names it stands for."""
    words = [word for word in query.split() if not word.startswith("-") and word.casefold() != "or"]
    terms = {_stem(term) for word in words for term in fold(word).split()}
    terms |= {_stem(term) for match in names for name in match.names for term in fold(name).split()}
    return tuple(sorted(term for term in terms if term))


def highlight(text: str, terms: tuple[str, ...]) -> SafeString:
    """``text`` (plain text) HTML-escaped, with each word that begins with one of ``terms``
    (folded, see ``fold``) in ``<mark>``. Everything is escaped, marks included only around
    escaped text, so neither the query nor the text can add markup."""
    if not terms:
        return escape(text)
    parts: list[str] = []
    position = 0
    for word in re.finditer(r"[^\W_]+", text):
        if fold(word.group()).startswith(terms):
            parts.append(escape(text[position : word.start()]))
            parts.append(f"<mark>{escape(word.group())}</mark>")
            position = word.end()
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece of text above is escaped


def type_reach() -> int:
    """How many of a type's results its pages reach: ``TYPE_RESULTS``, within those ranked."""
    return min(TYPE_RESULTS, RANKED_MATCHES)


def type_pages(results: int) -> int:
    """How many of a type's pages ``results`` of its results fill, up to those its pages reach."""
    return -(-min(results, type_reach()) // TYPE_PAGE_SIZE)


def search_records(
    query: str, *, limit: int = 20, only: RecordType | None = None, offset: int = 0
) -> list[SearchGroup]:
    """Published records matching ``query``, grouped by record type, best first in each group.

    One query per record type; ``limit`` bounds each group. When the whole query names a country,
    the groups holding records linked to it come first (the country page, then its funding and
    agreements), each in its usual order. ``only``: that one type, its results from the
    ``offset``-th, which is below ``type_reach()`` (a type's pages end there).
    """
    query = normalise_query(query)
    if not query:
        return []
    reach = type_reach()
    limit = min(limit, reach - offset)
    names = query_names(query)
    terms = highlight_terms(query, names)
    groups = []
    countries: dict = {}  # the countries the query names, read once for all the record types
    for record_type in sorted(registry.search, key=lambda record_type: record_type.position):
        if only is not None and record_type != only:
            continue
        hits = []
        country_ids = linked_country_ids(record_type, names, countries)
        # The same SQL for the same query while the countries it names are the same.
        key = (
            "search",
            record_type.label,
            query,
            tuple(names),
            country_ids,
            limit,
            offset,
            RANKED_MATCHES,
        )
        found = compiled.rows(
            key,
            partial(_matches, record_type, query, names, limit=limit, country_ids=country_ids, offset=offset),
            pool="search",  # what visitors type never pushes out what every page reads
        )
        for obj in found[:limit]:
            title, summary = record_type.title(obj), record_type.summary(obj)
            hits.append(
                SearchHit(
                    title=title,
                    url=obj.get_absolute_url(),
                    summary=summary,
                    title_html=highlight(title, terms),
                    summary_html=highlight(summary, terms),
                    linked=obj.linked,
                )
            )
        if hits:
            # Counted only when no country is named (``_matches``).
            matched = getattr(found[0], "matched", None)
            groups.append(
                SearchGroup(
                    record_type.label,
                    hits,
                    matched=None if matched is None else min(matched, RANKED_MATCHES),
                    more=matched is not None and matched > RANKED_MATCHES,
                    slug=record_type.slug,
                    offset=offset,
                    has_next=len(found) > limit and offset + limit < reach,
                    cut=len(found) > limit and offset + limit >= reach,
                    # Linked records first: the one past the page tells whether they go on.
                    country_list=(
                        _country_list(record_type, names, countries)
                        if len(found) > limit and found[limit].linked
                        else None
                    ),
                )
            )
    # Stable: the groups with a linked record first, each part in position order.
    return sorted(groups, key=lambda group: not group.hits[0].linked)


def _trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _similarity(a: str, b: str) -> float:
    """pg_trgm's ``similarity`` of two words: shared trigrams over all their trigrams."""
    first, second = _trigrams(a), _trigrams(b)
    return len(first & second) / len(first | second)


#: The longest a suggestion's titles are looked for, in milliseconds (2-6 ms of SQL at +100 000
#: funding records). Past it the page offers none: a misspelt word that shares most of its
#: trigrams with a word many titles have ("fundng", "funding") makes every one of those titles a
#: candidate the index cannot rule out, each compared (330 ms for 100 000 of them, to find none
#: alike). The timeout counts planning too; tests set a generous one (tests/conftest.py).
SUGGESTION_TIMEOUT_MS = 20

logger = logging.getLogger(__name__)


def priced_operators() -> str:
    """The statement ``_by_index`` runs before the suggestion's titles: every operator priced at
    100 times PostgreSQL's default ``cpu_operator_cost`` (0.0025) and a statement timeout of
    ``SUGGESTION_TIMEOUT_MS``, both for the transaction only (``set_config``'s ``is_local``: what
    ``SET LOCAL`` does), in one statement."""
    return (
        "SELECT set_config('cpu_operator_cost', '0.25', true), "
        f"set_config('statement_timeout', '{int(SUGGESTION_TIMEOUT_MS)}', true)"
    )


def _by_index(titles: QuerySet) -> list:
    """The titles, each large table read through its trigram index rather than scanned, or none
    when they take longer than ``SUGGESTION_TIMEOUT_MS``. pg_trgm declares its operators as cheap
    as ``=``, and comparing a title costs about a hundred times more: PostgreSQL compared all
    5 010 documents' titles (24 of the query's 38 ms at +100 000 funding records) rather than
    read the index it judged dearer (2 ms). For this statement operators are priced at 100 times
    the default and a timeout is set (``priced_operators``, in a transaction of its own); inside
    one already open (an ``as_of`` snapshot's) the plan is left as it is, with no timeout (a
    timeout there would last to the end of the request's transaction). A suggestion given up
    rolls its transaction back, and psycopg then forgets the connection's prepared statements
    (``migrationsupport.prepared``): its next requests plan theirs again. docs/performance.md,
    "6 December 2026 (twelfth session)" and "7 December 2026 (sixteenth session)"."""
    alias = titles.db
    if connections[alias].in_atomic_block or not connections[alias].get_autocommit():
        return list(titles)
    try:
        with transaction.atomic(using=alias):
            with connections[alias].cursor() as cursor:
                cursor.execute(priced_operators())
            return list(titles)
    except (OperationalError, InterfaceError) as error:
        if isinstance(error.__cause__, QueryCanceled):
            logger.info("A search suggestion was given up after %s ms.", SUGGESTION_TIMEOUT_MS)
            return []  # no suggestion; the connection is fine (the rollback cleared Django's mark)
        # Leaving the block rolled back, which clears Django's mark of a failed connection: the
        # database router reads it to answer from the primary when a replica fails.
        connections[alias].errors_occurred = True
        raise


def _alike_titles(record_type: RecordType, query: str, limit: int) -> QuerySet:
    """The ``limit`` titles of a record type most like ``query`` (upper case), by pg_trgm's
    operators, which the trigram indexes on ``UPPER(title)`` serve: ``<%`` (a word of the title
    alike, 0.6) or, for titles that are names, ``%`` too (the whole title alike, 0.3: "Syrai" is
    0.33 like "Syria", 0.5 like a word of it). A lower word threshold would be one more
    ``set_config`` in ``priced_operators``; without an operator every title is compared (240 ms
    at 100 000 funding records).

    Titles that are sentences (``sentence_titles``) are not compared whole: no index narrows ``%``
    for a short query, every title sharing two of its trigrams is a candidate ("Syrai" and
    "Synthetic ...": all 100 000 compared, 639 ms, to find none alike); and the nearest are
    chosen among the first ``SUGGESTION_CANDIDATES`` found alike."""
    records = record_type.queryset().order_by().annotate(upper_title=Upper(record_type.title_field))
    alike = Q(upper_title__trigram_word_similar=query)
    if record_type.sentence_titles:
        first = records.filter(alike).values("pk")[:SUGGESTION_CANDIDATES]
        records = records.filter(pk__in=first)
    else:
        records = records.filter(alike | Q(upper_title__trigram_similar=query))
    return (
        records.annotate(
            suggested=F(record_type.title_field), similarity=TrigramWordSimilarity(query, "upper_title")
        )
        .order_by("-similarity")
        .values_list("suggested", flat=True)[:limit]
    )


def search_suggestion(query: str, *, per_type: int = 3) -> str | None:
    """A query spelled like the titles: each word of ``query`` replaced by the nearest word of the
    published titles nearest to it ("Marocco" → "Morocco"), or None when none is nearer.

    One query on PostgreSQL (the titles most like the query by pg_trgm word similarity, at most
    ``per_type`` of each record type, in one UNION); None on SQLite.
    """
    query = normalise_query(query)
    if not query or connection.vendor != "postgresql" or _uses_operators(query):
        return None
    titles = [_alike_titles(record_type, query.upper(), per_type) for record_type in registry.search]
    if not titles:
        return None
    vocabulary: dict[str, str] = {}  # folded word -> as written
    for title in _by_index(titles[0].union(*titles[1:], all=True)):
        for word in re.findall(r"[^\W_]+", title):
            vocabulary.setdefault(fold(word), word)
    changed = False
    words = []
    for word in query.split():
        folded = fold(word)
        if not folded or folded in vocabulary or len(folded) < 4:
            words.append(word)
            continue
        best = max(vocabulary, key=lambda known: _similarity(folded, known), default=None)
        if best is not None and _similarity(folded, best) >= SUGGESTION_SIMILARITY:
            words.append(vocabulary[best])
            changed = True
        else:
            words.append(word)
    return " ".join(words) if changed else None
