"""Precomputed totals of the sets of funding records asked for most (PostgreSQL;
docs/performance.md, "Precomputed totals").

Computing the totals of a set reads every member: 0.3–2 s of SQL for a broad set at 100 000
records. So the totals of a few sets are stored instead (``FundingTotalsRow``: the rows
``funding.selectors`` computes, unchanged) and rebuilt after a change, and a request for one of
them reads a few hundred rows by one index. The sets (``registry``): every published record, in
every grouping; and each set that one funding filter selects with one value (a region with its
sub-regions, a country, key area, instrument, donor, kind, conference, qualifier, year, the
top-level records or the parts: ``STORED_FILTERS``) when it holds at least ``LARGE_SET``
published records, in every grouping too (the API offers each under any filter). The sets a
range filter selects (an amount or year bound, any number) are stored as sums over thresholds:
``funding.ranges``. Two or more filters together are totalled and counted in memory
(``funding.snapshot``), from a snapshot of the records gated by the same staleness rules.

Which set a request asks for is decided by its SQL, not by reading its filters: a set is named by
the fingerprint of the SQL, with its parameters, that selects its ids (``fingerprint``). The
rebuild builds each set with the explorer's FilterSet over the published records, as the
explorer, the API and the instrument, conference and donor pages build theirs, so the SQL is the
same; a stored answer is served only for exactly the SQL it was computed from, and any other
set, or grouping, is computed per request.

The follow-through of each donor's pledges (``selectors.follow_through``) is stored the same
way when they are ``LARGE_SET`` or more, and of each published conference's pledges
(``follow_sets``, ``follow_answer_sql``): the finished
answer, keyed by the fingerprint of the set's SQL, read under the same conditions, and also
while no write to what only it reads (``FOLLOW_TABLES``: fulfilment links, conferences) is left:
such a write leaves the stored totals current, and the rebuild it schedules stores the
follow-through alone.

The API's grouped totals of each stored set are stored finished as well (``FundingTotalsAnswer``:
the JSON it answers, written by the API's own code, which ``funding.apps`` registers:
``register_answer_writer``), and served under the same conditions as the rows they were written
from, and only while the names they show, and the code that wrote them, are those of now
(``_names_sql``): writing 1 380 groups by country from the rows took 45 ms. A save of a country,
key area or instrument (which no trigger watches: their names are no part of the rows) stores the
answers naming them again (``store_answers``).

Current or not, never wrong: a trigger adds a ``FundingTotalsChange`` row in the same
transaction as any write to the tables a stored set's SQL or the totals query read
(``WATCHED_TABLES``: funding records, their links, and regions, whose tree the region filter
reads; a set whose SQL reads any other table is never stored). Stored rows answer only while no
such row is left and they were built by this version of the code (``DEFINITION``), in the same
query as the computed answer (``answer_sql``: one query either way). Until the rebuild that
follows a commit has finished, readers compute the totals. Rebuilds take a transaction-level
advisory lock, so two never interleave, and delete only the change rows they saw before they
started: a change committed during a rebuild stays for the next one, never marked as included
without it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from django.apps import apps
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections, router, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import ExtractYear

from migrationsupport import tasks, values
from migrationsupport.models import published_sql
from regions.models import Region

from . import models as models_module
from . import ranges, selectors
from .filters import FundingFilter
from .models import (
    MAX_NESTING_DEPTH,
    Donor,
    Fulfilment,
    FundingFollowThroughStored,
    FundingRecord,
    FundingTotalsAnswer,
    FundingTotalsChange,
    FundingTotalsRow,
    FundingTotalsSet,
    FundingTotalsState,
    PledgingConference,
)
from .selectors import (
    _CLOSURE_SQL_POSTGRESQL,
    _TOTALS_SQL,
    GROUPINGS,
    IDENTIFIERS,
    LABEL_MODELS,
    _group_key_sql,
    computed_follow_through,
    conference_pledges,
    donor_pledges,
    follow_through_to_json,
    totals_sql,
)

# Every grouping the totals of every published record are kept for (None: the overall totals).
STORED_GROUPINGS: tuple[str | None, ...] = (None, *GROUPINGS)
# The groupings kept for a filtered set: every one, as for every published record (the API and
# the explorer offer each grouping under any filter).
FILTERED_GROUPINGS: tuple[str | None, ...] = STORED_GROUPINGS
# A filtered set is stored only when at least this many published records match its filter:
# smaller sets are computed per request (~25 µs of SQL a record, docs/performance.md). 1 500, not
# 5 000 as until December 2026: at +100 000 records a year's set (~2 000) took 44-74 ms of SQL
# per answer, and storing the 13 such sets did not lengthen the rebuild.
LARGE_SET = 1_500
# The funding filters whose values select the stored sets (FundingFilter's names): each one with
# few values (a year: a period within it). Thresholds (amounts, year ranges) select a different
# set for every value asked: their sets are stored as sums over thresholds (``funding.ranges``).
STORED_FILTERS = (
    "region",
    "country",
    "theme",
    "instrument",
    "donor",
    "kind",
    "conference",
    "qualifier",
    "top_level",
    "year",
)
# The overall rows are stored as the rows of this grouping added up (``_OVERALL_SQL``): each
# counted record is in exactly one group, so they are the overall rows the query computes.
_OVERALL_FROM = "region"
# The row kind of the totals' answer that says the in-memory snapshot answers (``answer_sql``).
MEMORY = "memory"
# The state row each rebuild changes: the generation of the data (``funding.snapshot``).
GENERATION = "generation"
# pg_advisory_xact_lock key of the rebuild ("funding totals" in ASCII, as a bigint).
_LOCK = 0x66756E64696E67

_COLUMNS = (
    "row_kind",
    "group_key",
    "measure",
    "donor",
    "part_donor",
    "amount",
    "records",
    "more_than",
    "almost",
    "about",
    "record_id",
    "partner_id",
    "qualifier",
)
_ROWS = FundingTotalsRow._meta.db_table
_SETS = FundingTotalsSet._meta.db_table
_CHANGES = FundingTotalsChange._meta.db_table
_STATE = FundingTotalsState._meta.db_table
_FOLLOW = FundingFollowThroughStored._meta.db_table
_ANSWERS = FundingTotalsAnswer._meta.db_table
# The tables whose writes make the stored totals stale (migrations funding/0008 and 0012 put the
# trigger on each): the totals query reads the records, their regions, countries and key areas
# and the overlap marks; the region filter also reads the region tree.
WATCHED_TABLES = frozenset(
    {
        FundingRecord._meta.db_table,
        *(getattr(FundingRecord, name).through._meta.db_table for name in ("regions", "countries", "themes")),
        FundingRecord.may_overlap.through._meta.db_table,
        Region._meta.db_table,
    }
)
# The tables a stored follow-through reads besides those: the fulfilment links and the
# conferences' dates. Their writes make only the stored follow-through stale (migration
# funding/0014: change rows marked ``follow_only``), not the totals, which never read them.
FOLLOW_TABLES = frozenset({Fulfilment._meta.db_table, PledgingConference._meta.db_table})
# The format of a stored follow-through (``selectors.follow_through_to_json``): another makes the
# stored answers stale (``DEFINITION``).
FOLLOW_FORMAT = 1


def source_digests(*modules) -> tuple[str, ...]:
    """The sha256 of each module's source file: a fingerprint of the code that writes what is
    stored, so that a deploy changing it makes the stored answers stale."""
    return tuple(hashlib.sha256(Path(module.__file__ or "").read_bytes()).hexdigest() for module in modules)


# A stored follow-through is a finished answer, not rows finished on reading as the totals are:
# the code that computes it is part of its definition. Whole modules, not a list of functions
# that a change elsewhere in them would escape: any deploy that changes how a share, a bound, a
# date, a stage or a label is worked out (or anything else in these files) makes the stored
# answers stale, and the worker stores them again.
_FOLLOW_CODE = source_digests(selectors, models_module, values)
# The overall rows of a stored set from its rows in another grouping: sums per measure, donor
# (and part donor) of the "total", "nested" and "part" rows, and the overlap rows as they are.
_OVERALL_SQL = (
    f"INSERT INTO {_ROWS} (totals_set, grouping, {', '.join(_COLUMNS)}) "  # noqa: S608
    "SELECT totals_set, '', row_kind, '', measure, donor, part_donor, SUM(amount), SUM(records), "
    "SUM(more_than), SUM(almost), SUM(about), NULL, NULL, NULL "
    f"FROM {_ROWS} WHERE totals_set = %s AND grouping = %s AND row_kind <> 'overlap' "
    "GROUP BY totals_set, row_kind, measure, donor, part_donor "
    "UNION ALL SELECT totals_set, '', row_kind, '', measure, donor, part_donor, amount, records, "
    "more_than, almost, about, record_id, partner_id, qualifier "
    f"FROM {_ROWS} WHERE totals_set = %s AND grouping = %s AND row_kind = 'overlap'"
)
# What the stored rows depend on besides the data: rows built from another definition (a deploy
# that changed the query, the groupings, the nesting depth, or which filters' sets are stored and
# from how many records) are stale, and the next rebuild (cron's too) stores them again.
DEFINITION = int.from_bytes(
    hashlib.sha256(
        repr(
            (
                _TOTALS_SQL,
                [_group_key_sql(group_by, "funding") for group_by in STORED_GROUPINGS],
                MAX_NESTING_DEPTH,
                published_sql("x"),
                _OVERALL_SQL,
                _OVERALL_FROM,
                _CLOSURE_SQL_POSTGRESQL,
                FOLLOW_FORMAT,
                _FOLLOW_CODE,
                STORED_FILTERS,
                LARGE_SET,
                ranges._BUILD_SQL,
                ranges.RANGES,
                ranges.SIZE,
                ranges.GROUPINGS,
            )
        ).encode()
    ).digest()[:8],
    "big",
    signed=True,
)
# True when a write since the last rebuild, or another definition, makes the stored rows stale:
# the totals (a write to ``WATCHED_TABLES``), or the follow-through (a write to any of them).
_NOT_CURRENT_DEFINITION = f"NOT EXISTS (SELECT FROM {_STATE} WHERE name = 'definition' AND value = %s)"
_STALE_SQL = f"(EXISTS (SELECT FROM {_CHANGES} WHERE NOT follow_only) OR {_NOT_CURRENT_DEFINITION})"
_FOLLOW_STALE_SQL = f"(EXISTS (SELECT FROM {_CHANGES}) OR {_NOT_CURRENT_DEFINITION})"
# True when the rows of (set, grouping) are stored and current; parameters: key, grouping, DEFINITION.
_CURRENT_SQL = f"(EXISTS (SELECT FROM {_SETS} WHERE key = %s AND grouping = %s) AND NOT {_STALE_SQL})"
# True when the rows of the range filters (``funding.ranges``) are stored and current; parameters:
# DEFINITION twice.
_RANGES_CURRENT_SQL = (
    f"(EXISTS (SELECT FROM {_STATE} WHERE name = 'ranges' AND value = %s) AND NOT {_STALE_SQL})"
)
# True when the size of a set is stored and current; parameters: key, DEFINITION.
_SIZE_CURRENT_SQL = (
    f"(EXISTS (SELECT FROM {_SETS} WHERE key = %s AND grouping = '' AND size IS NOT NULL) "
    f"AND NOT {_STALE_SQL})"
)


@dataclass(frozen=True)
class AnswerWriter:
    """How the API writes its answer for the totals of a set in a grouping from the set's rows
    (``write``), and a fingerprint of the code that does it (``code``): the API's own, which this
    module does not import (``funding.apps`` registers it)."""

    write: Callable[[list[dict], str], bytes]
    code: str


_answer_writer: AnswerWriter | None = None


def register_answer_writer(writer: AnswerWriter) -> None:
    """The rebuild stores every stored set's answer in every grouping, as ``writer`` writes it
    (``FundingTotalsAnswer``); ``stored_answer`` serves it."""
    global _answer_writer
    _answer_writer = writer


def _names_sql(group_by: str) -> str:
    """An expression, with one parameter (the writer's ``code``): the fingerprint of what a stored
    answer in ``group_by`` depends on besides its set's rows: that code, and the name and
    identifier of every published record a group may be named after (``selectors.LABEL_MODELS``;
    nothing for years). Any rename, new code or change of status leaves the stored answers of the
    grouping unserved until they are stored again (``store_answers``: queued by the save of such
    a record, and run by ``manage.py rebuild_funding_totals``, after a deploy say; a rebuild)."""
    model = LABEL_MODELS.get(group_by)
    if model is None:
        return "md5(%s)"
    fields = {field.name: field.column for field in model._meta.concrete_fields}
    named = ("name", "short_name", IDENTIFIERS[group_by])  # ``str()``'s fields, and the identifier
    columns = ", ".join(f"l.{fields[name]}" for name in named if name in fields)
    # A row's text quotes any value holding a comma, a quote or a parenthesis: no two lists of
    # names give the same text.
    return (
        f"(SELECT md5(%s || coalesce(string_agg(row(l.id, {columns})::text, ',' ORDER BY l.id), '')) "  # noqa: S608
        f"FROM {model._meta.db_table} AS l WHERE {published_sql('l')})"
    )


def stored_answer(records: QuerySet[FundingRecord], group_by: str) -> bytes | None:
    """The API's answer for the totals of ``records`` in ``group_by``, as stored by the last
    rebuild (``FundingTotalsAnswer``), while it is current: its set's rows are (``_CURRENT_SQL``)
    and so are the names it shows (``_names_sql``). None otherwise. One query."""
    if _answer_writer is None or not enabled() or group_by not in STORED_GROUPINGS:
        return None
    key = fingerprint(records)
    if key is None:
        return None
    sql = (
        f"SELECT body FROM {_ANSWERS} WHERE totals_set = %s AND grouping = %s "  # noqa: S608
        f"AND fingerprint = {_names_sql(group_by)} AND {_CURRENT_SQL}"
    )
    # Where the request reads, as the stored rows are (``stored_rows``).
    with connections[router.db_for_read(FundingTotalsAnswer)].cursor() as cursor:
        cursor.execute(sql, [key, group_by, _answer_writer.code, key, group_by, DEFINITION])
        row = cursor.fetchone()
    return None if row is None else row[0].encode()


def _row_dicts(cursor) -> list[dict]:
    """The rows ``cursor`` read, of the columns ``_COLUMNS``, as ``selectors`` takes them."""
    return [dict(zip(_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


def _store_answers(cursor, key: str, groupings: list[str]) -> None:
    """The API's answers for set ``key`` in ``groupings``, from its rows just stored."""
    if _answer_writer is None:
        return
    columns = ", ".join(_COLUMNS)
    for group_by in groupings:
        # The names' fingerprint before the answer reads the names (each statement sees what was
        # committed when it began): a rename committed in between leaves an answer whose
        # fingerprint is already not the names', never one with the old name under the new one.
        cursor.execute(f"SELECT {_names_sql(group_by)}", [_answer_writer.code])
        (names,) = cursor.fetchone()
        cursor.execute(
            f"SELECT {columns} FROM {_ROWS} WHERE totals_set = %s AND grouping = %s",  # noqa: S608
            [key, group_by],
        )
        body = _answer_writer.write(_row_dicts(cursor), group_by)
        cursor.execute(
            f"INSERT INTO {_ANSWERS} (totals_set, grouping, fingerprint, body) VALUES (%s, %s, %s, %s)",  # noqa: S608
            [key, group_by, names, body.decode()],
        )


def store_answers(*, published_only: bool = False) -> bool:
    """Store again, from the current stored rows, every stored answer whose names changed since
    (a region, country, key area or instrument renamed, published or unpublished, or
    another version of the code that writes them: ``_names_sql``); with ``published_only``, only
    those of every published record's set. Nothing while the rows are stale: the next rebuild
    stores every answer. True if it stored any."""
    if _answer_writer is None or not enabled():
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        cursor.execute(f"SELECT {_STALE_SQL}", [DEFINITION])
        if cursor.fetchone()[0]:
            return False
        only = fingerprint(published_set()) if published_only else None
        stored = False
        for group_by in GROUPINGS:
            cursor.execute(
                f"SELECT key FROM {_SETS} AS s WHERE grouping = %s AND (%s IS NULL OR key = %s) "  # noqa: S608
                f"AND NOT EXISTS (SELECT FROM {_ANSWERS} AS a WHERE a.totals_set = s.key "
                f"AND a.grouping = s.grouping AND a.fingerprint = {_names_sql(group_by)})",
                [group_by, only, only, _answer_writer.code],
            )
            for (key,) in cursor.fetchall():
                cursor.execute(
                    f"DELETE FROM {_ANSWERS} WHERE totals_set = %s AND grouping = %s",  # noqa: S608
                    [key, group_by],
                )
                _store_answers(cursor, key, [group_by])
                stored = True
    return stored


def store_published_answers() -> bool:
    """``store_answers`` of every published record's set only: what a save of a name waits for
    in its own request when there is no task queue."""
    return store_answers(published_only=True)


def answers_after_commit(**_kwargs) -> None:
    """A signal receiver, for the records the stored answers name that no trigger watches
    (countries, key areas, instruments): once the write commits, the answers naming them are
    stored again (on the task queue when there is one; until then the API writes them)."""
    if enabled() and _answer_writer is not None:
        tasks.run_after_commit(store_answers, inline=store_published_answers)


def enabled() -> bool:
    return connection.vendor == "postgresql"


def published_set() -> QuerySet[FundingRecord]:
    return FundingRecord.objects.published()


def _ids_query(records: QuerySet[FundingRecord]) -> tuple[str, tuple]:
    return records.order_by().values("pk").query.sql_with_params()


def fingerprint(records: QuerySet[FundingRecord]) -> str | None:
    """The name of the set ``records`` selects: the SHA-256 of the SQL and parameters that select
    its ids (whatever the ordering, joins or prefetches a page adds); None for a set that cannot
    hold anything (e.g. ``FundingRecord.objects.none()``). Two querysets have the same name only
    if their SQL is the same, so they select the same records from the same data."""
    try:
        sql, params = _ids_query(records)
    except EmptyResultSet:
        return None
    return _key(sql, params)


def _key(sql: str, params) -> str:
    return hashlib.sha256(repr((sql, tuple(params))).encode()).hexdigest()


def tables_read(records: QuerySet[FundingRecord]) -> set[str]:
    """The tables the SQL of ``records``' ids names (every table name Django writes is quoted)."""
    return tables_named(_ids_query(records)[0])


def tables_named(sql: str) -> set[str]:
    """The tables a query Django wrote names."""
    return {name for name in re.findall(r'"([^"]+)"', sql) if name in _known_tables()}


@lru_cache(maxsize=1)
def _known_tables() -> frozenset[str]:
    return frozenset(model._meta.db_table for model in apps.get_models(include_auto_created=True))


def storable(records: QuerySet[FundingRecord]) -> bool:
    """Whether stored totals, or a stored follow-through, of ``records`` would be kept current:
    its SQL reads only tables whose writes mark them stale."""
    try:
        return tables_read(records) <= WATCHED_TABLES
    except EmptyResultSet:
        return False


@dataclass(frozen=True)
class TotalsSet:
    """A set whose totals are stored: its name for people, its records, its groupings."""

    name: str
    records: QuerySet[FundingRecord]
    groupings: tuple[str | None, ...]


def large_filter_values() -> list[tuple[str, str]]:
    """(filter, value) for each value of ``STORED_FILTERS`` that ``LARGE_SET`` published records
    or more match (a region adds up its own and its sub-regions' records, an upper bound), from
    one count per filter. Values the FilterSet refuses (a draft instrument) are left out when
    the set is built."""
    minimum = LARGE_SET
    published = published_set().order_by()
    found: list[tuple[str, str]] = []

    def counts(path: str) -> dict:
        rows = published.filter(**{f"{path}__isnull": False}).values_list(path).annotate(n=Count("pk"))
        return dict(rows.values_list(path, "n"))

    for name in STORED_FILTERS:
        if name == "region":
            own = counts("regions")
            tree: Counter[int] = Counter()
            slugs = {}
            for pk, parent_id, slug in Region.objects.published().values_list("pk", "parent_id", "slug"):
                slugs[pk] = slug
                tree[pk] += own.get(pk, 0)
                if parent_id is not None:
                    tree[parent_id] += own.get(pk, 0)
            values = {slugs[pk]: n for pk, n in tree.items() if pk in slugs}
        elif name == "top_level":
            values = published.aggregate(
                true=Count("pk", filter=Q(parent__isnull=True)),
                false=Count("pk", filter=Q(parent__isnull=False)),
            )
        elif name == "year":  # the filter's rule: a period that starts and ends in the year
            within = published.annotate(year=ExtractYear("period_start")).filter(
                year=ExtractYear("period_end")
            )
            by_year = within.values_list("year").annotate(n=Count("pk")).values_list("year", "n")
            values = {str(year): n for year, n in by_year}
        else:
            path = {
                "country": "countries__iso_code",
                "theme": "themes__slug",
                "instrument": "instrument__slug",
                "conference": "conference__slug",
            }.get(name, name)
            values = counts(path)
        found += sorted((name, str(value)) for value, n in values.items() if n >= minimum and value != "")
    return found


def registry() -> Iterator[TotalsSet]:
    """The sets whose totals are stored: every published record, in every grouping; and each set
    one funding filter selects with one value of ``large_filter_values``, in every grouping.
    Each is built as the explorer and the API build it (``FundingFilter`` over the published
    records), so its SQL, and its fingerprint, are theirs."""
    yield TotalsSet("published", published_set(), STORED_GROUPINGS)
    for name, value in large_filter_values():
        filterset = FundingFilter(data={name: value}, queryset=published_set())
        if filterset.is_valid():
            yield TotalsSet(f"{name}={value}", filterset.qs, FILTERED_GROUPINGS)


def answer_sql(
    records: QuerySet[FundingRecord], group_by: str | None, *, in_memory: bool = False
) -> tuple[str, tuple] | None:
    """One query for the totals' rows of ``records`` in ``group_by``: the stored rows when that
    set and grouping are stored and current (for a set one range filter selects, in a grouping
    of ``ranges.GROUPINGS``: its threshold's rows, ``funding.ranges``), else the rows computed
    from the records. Both branches test the same condition in one statement (one snapshot);
    PostgreSQL evaluates it before each branch (a one-time filter) and never runs the other
    branch's plan. None for a set that cannot hold anything.

    With ``in_memory``, for a combination of filters (``snapshot.combination_of``): one row
    ``memory`` whose ``record_id`` is the data's generation while it is current (the rows are
    then the in-memory snapshot's, ``selectors._total_rows``), else the computed rows."""
    computed = totals_sql(records, group_by)
    if computed is None or not enabled() or records.model is not FundingRecord:
        return computed
    sql, params = computed
    columns = ", ".join(_COLUMNS)
    from . import snapshot  # it reads this module's staleness rules

    if in_memory and snapshot.combination_of(records, threshold_alone=group_by is not None) is not None:
        nulls = ", ".join(f"NULL AS {column}" for column in _COLUMNS[1:-3])
        return (
            f"SELECT '{MEMORY}' AS row_kind, {nulls}, generation.value AS record_id, "  # noqa: S608
            f"NULL AS partner_id, NULL AS qualifier FROM ({snapshot.GENERATION_SQL}) AS generation "
            f"UNION ALL SELECT {columns} FROM ({sql}) AS computed "
            f"WHERE NOT EXISTS ({snapshot.GENERATION_SQL})",
            (DEFINITION, *params, DEFINITION),
        )
    try:  # the set's ids' SQL, compiled once for both tests
        ids: tuple[str, tuple] | None = _ids_query(records)
    except EmptyResultSet:
        ids = None
    found = _range_of_sql(*ids) if ids is not None and (group_by or "") in ranges.GROUPINGS else None
    if found is not None:
        stored_sql, stored_params = ranges.answer_sql(*found, group_by)
        return (
            f"SELECT {columns} FROM ({stored_sql}) AS stored WHERE {_RANGES_CURRENT_SQL} "  # noqa: S608
            f"UNION ALL SELECT {columns} FROM ({sql}) AS computed WHERE NOT {_RANGES_CURRENT_SQL}",
            (*stored_params, DEFINITION, DEFINITION, *params, DEFINITION, DEFINITION),
        )
    key = None if ids is None else _key(*ids)
    grouping = group_by or ""
    current = (key, grouping, DEFINITION)
    return (
        f"SELECT {columns} FROM {_ROWS} WHERE totals_set = %s AND grouping = %s "  # noqa: S608
        f"AND {_CURRENT_SQL} "
        f"UNION ALL SELECT {columns} FROM ({sql}) AS computed WHERE NOT {_CURRENT_SQL}",
        (key, grouping, *current, *params, *current),
    )


@lru_cache(maxsize=1)
def _range_templates() -> dict[str, tuple[str, tuple, int]]:
    """For each range filter: the SQL of the ids of the published records it selects, its
    parameters, and which of them is the threshold (the one two values of the filter change)."""
    templates = {}
    for name, range_ in ranges.RANGES.items():
        (sql, params), (other_sql, other_params) = (
            _ids_query(FundingFilter(data={name: value}, queryset=published_set()).qs)
            for value in range_.samples
        )
        changed = [i for i, (one, other) in enumerate(zip(params, other_params, strict=True)) if one != other]
        if sql != other_sql or len(changed) != 1:
            raise RuntimeError(f"the {name} filter's threshold is not one parameter of its SQL")
        templates[name] = (sql, params, changed[0])
    return templates


def range_of(records: QuerySet[FundingRecord]) -> tuple[str, Decimal] | None:
    """(range filter, threshold) when ``records`` is exactly the set one range filter selects
    over the published records (its SQL is the filter's, with any threshold), else None."""
    try:
        return _range_of_sql(*_ids_query(records))
    except EmptyResultSet:
        return None


def _range_of_sql(sql: str, params: tuple) -> tuple[str, Decimal] | None:
    """``range_of`` the set whose ids ``sql`` selects."""
    for name, (template, template_params, index) in _range_templates().items():
        if sql == template and len(params) == len(template_params):
            others = [value for i, value in enumerate(params) if i != index]
            if others == [value for i, value in enumerate(template_params) if i != index]:
                threshold = ranges.RANGES[name].threshold(params[index])
                return None if threshold is None else (name, threshold)
    return None


def follow_sets() -> Iterator[tuple[str, QuerySet[FundingRecord]]]:
    """The sets of pledges whose follow-through is stored: each donor's (its page's,
    ``selectors.donor_pledges``) when it holds at least ``LARGE_SET`` published pledges, and each
    published conference's (its page's and the API's, ``selectors.conference_pledges``) when it
    has any: however few its pledges, a computed follow-through is five queries, 60–70 ms of SQL
    for a conference's at +100 000 records (docs/performance.md), and there is one set per
    conference, not per filter combination."""
    for donor in Donor.values:
        pledges = donor_pledges(donor)
        if pledges.count() >= LARGE_SET:
            yield f"pledges of donor={donor}", pledges
    conferences = PledgingConference.objects.published().filter(Exists(conference_pledges(OuterRef("pk"))))
    for conference, slug in conferences.order_by("slug").values_list("pk", "slug"):
        yield f"pledges of conference={slug}", conference_pledges(conference)


def follow_answer_sql(records: QuerySet[FundingRecord]) -> tuple[str, tuple] | None:
    """One query for ``selectors.follow_through``: one row ``'follow'`` whose ``qualifier`` is
    the stored follow-through of ``records`` when it is stored and current, else the rows of its
    overall totals (``answer_sql``), with which the computation starts. Both branches are gated
    by the same condition in one statement, as in ``answer_sql``."""
    totals = answer_sql(records, None)
    if totals is None or not enabled() or records.model is not FundingRecord:
        return totals
    key = fingerprint(records)
    sql, params = totals
    current = f"(EXISTS (SELECT FROM {_FOLLOW} WHERE key = %s) AND NOT {_FOLLOW_STALE_SQL})"
    nulls = ", ".join(f"NULL AS {column}" for column in _COLUMNS[1:-1])
    return (
        f"SELECT 'follow' AS row_kind, {nulls}, value AS qualifier FROM {_FOLLOW} "  # noqa: S608
        f"WHERE key = %s AND {current} "
        f"UNION ALL SELECT * FROM ({sql}) AS totals WHERE NOT {current}",
        (key, key, DEFINITION, *params, key, DEFINITION),
    )


def count(records: QuerySet[FundingRecord]) -> int:
    """``records.count()`` in one query: the stored size of the set when it is stored and current
    (a list of a large set counts 80 000 matches in ~150 ms, and reads one row instead), else the
    count of the records, gated by the same condition as ``answer_sql``. Where ``records`` reads
    (a replica for a public page: its sets and counters replicate together)."""
    if not enabled() or records.model is not FundingRecord:
        return records.count()
    try:
        sql, params = _ids_query(records)
    except EmptyResultSet:
        return 0
    from . import snapshot  # it reads this module's staleness rules

    if snapshot.combination_of(records) is not None:  # several filters: counted in memory if current
        with connections[records.db].cursor() as cursor:
            cursor.execute(
                f"SELECT generation.value, NULL FROM ({snapshot.GENERATION_SQL}) AS generation "  # noqa: S608
                f"UNION ALL SELECT NULL, (SELECT COUNT(*) FROM ({sql}) AS ids) "
                f"WHERE NOT EXISTS ({snapshot.GENERATION_SQL})",
                [DEFINITION, *params, DEFINITION],
            )
            generation, size = cursor.fetchone()
        if generation is not None:
            size = snapshot.combination_size(records, generation)
            if size is None:  # the data moved on since: counted by SQL, and its pages cut so
                generation, size = None, records.count()
        snapshot.counted(records, generation)
        return size
    found = _range_of_sql(sql, params)
    current_params: tuple[object, ...]
    if found is not None:  # a range filter's set: its size at the threshold
        stored_sql, stored_params = ranges.size_sql(*found)
        current, current_params = _RANGES_CURRENT_SQL, (DEFINITION, DEFINITION)
    else:
        key = _key(sql, params)
        stored_sql = f"SELECT size FROM {_SETS} WHERE key = %s AND grouping = ''"  # noqa: S608
        stored_params, current, current_params = (key,), _SIZE_CURRENT_SQL, (key, DEFINITION)
    with connections[records.db].cursor() as cursor:
        cursor.execute(
            f"SELECT ({stored_sql}) WHERE {current} "  # noqa: S608
            f"UNION ALL SELECT (SELECT COUNT(*) FROM ({sql}) AS ids) WHERE NOT {current}",
            [*stored_params, *current_params, *params, *current_params],
        )
        (size,) = cursor.fetchone()
    return size


@dataclass(frozen=True)
class StoredCount:
    """``count`` of ``records`` as a method with no arguments, for a paginator that takes one."""

    records: QuerySet[FundingRecord]

    def count(self) -> int:
        return count(self.records)


def stored_rows(group_by: str | None, records: QuerySet[FundingRecord] | None = None) -> list[dict] | None:
    """The stored rows of ``records`` (every published record by default) in ``group_by``, or
    None while they are stale or not stored. One query."""
    key = fingerprint(published_set() if records is None else records)
    columns = ", ".join(_COLUMNS)
    nulls = ", ".join("NULL" for _ in _COLUMNS[1:])
    sql = (
        f"SELECT {columns} FROM {_ROWS} WHERE totals_set = %s AND grouping = %s "  # noqa: S608
        f"UNION ALL SELECT 'stale', {nulls} WHERE NOT {_CURRENT_SQL}"
    )
    # Where the request reads (a replica for a public page): its rows and counters replicate
    # together, so a replica answers "stale" until it has replayed the rebuild.
    with connections[router.db_for_read(FundingTotalsRow)].cursor() as cursor:
        cursor.execute(sql, [key, group_by or "", key, group_by or "", DEFINITION])
        rows = _row_dicts(cursor)
    if any(row["row_kind"] == "stale" for row in rows):
        return None
    return rows


def _store(cursor, key: str, totals_set: TotalsSet) -> None:
    columns = ", ".join(_COLUMNS)
    computed = [grouping for grouping in totals_set.groupings if grouping is not None]
    for group_by in computed:
        query = totals_sql(totals_set.records, group_by)
        if query is None:
            continue
        sql, params = query
        cursor.execute(
            f"INSERT INTO {_ROWS} (totals_set, grouping, {columns}) "  # noqa: S608
            f"SELECT %s, %s, {columns} FROM ({sql}) AS answer",
            [key, group_by, *params],
        )
    if None in totals_set.groupings:
        assert _OVERALL_FROM in computed, f"the overall rows are made from the {_OVERALL_FROM} rows"
        cursor.execute(_OVERALL_SQL, [key, _OVERALL_FROM, key, _OVERALL_FROM])
    sql, params = _ids_query(totals_set.records)
    cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS ids", params)  # noqa: S608
    (size,) = cursor.fetchone()
    for grouping in totals_set.groupings:
        cursor.execute(
            f"INSERT INTO {_SETS} (key, grouping, name, size) VALUES (%s, %s, %s, %s)",  # noqa: S608
            [key, grouping or "", totals_set.name[:200], size],
        )
    _store_answers(cursor, key, computed)


def rebuild(*, force: bool = False, filtered: bool = True) -> bool:
    """Store the totals of every set of ``registry`` again if a change made them stale (or
    ``force``), or, with ``filtered``, if the filtered sets are not stored; True if it did. Safe
    to call from several processes at once.

    Two transactions: the totals of every published record first, the ones most pages read,
    current again as soon as before there were other sets; then, with ``filtered``, the filtered
    sets', which readers compute meanwhile (``_rebuild_filtered``). Without ``filtered`` they are
    dropped and computed per request until a rebuild with it (``rebuild_published``).

    After writes that only the follow-through reads (a fulfilment link, a conference), the totals
    are current: with ``filtered``, only the follow-through is stored again (``_store_follow``),
    in one transaction; without, nothing is done and it is computed per request meanwhile."""
    if not enabled():
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        # Totals over every record, several times, after waiting for another rebuild's lock:
        # longer than a page's statement timeout allows.
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        cursor.execute(
            f"SELECT {_STALE_SQL}, EXISTS (SELECT FROM {_STATE} WHERE name = 'filtered' AND value = %s), "  # noqa: S608
            f"EXISTS (SELECT FROM {_CHANGES} WHERE follow_only)",
            [DEFINITION, DEFINITION],
        )
        stale, filtered_stored, follow_stale = cursor.fetchone()
        if not (stale or force):
            # The totals are current. Without ``filtered``: nothing to do (a stale follow-through
            # is computed meanwhile). Else the filtered sets if missing (the last rebuild was
            # ``rebuild_published``), which store the follow-through too, or the follow-through
            # alone if a link or conference changed; either way the ``follow_only`` changes seen
            # here, before anything is read, are included and go.
            if not filtered or (filtered_stored and not follow_stale):
                return False
            cursor.execute(f"SELECT id FROM {_CHANGES} WHERE follow_only")  # noqa: S608
            seen = [row[0] for row in cursor.fetchall()]
            if filtered_stored:
                _store_follow(cursor)
            else:
                _rebuild_filtered()
            cursor.execute(f"DELETE FROM {_CHANGES} WHERE id = ANY(%s)", [seen])  # noqa: S608
            return True
        cursor.execute(f"SELECT id FROM {_CHANGES}")  # noqa: S608
        seen = [row[0] for row in cursor.fetchall()]
        # Every set goes, the filtered ones too: they are stored again after this commits, from
        # data at least as new as this transaction's.
        cursor.execute(f"DELETE FROM {_ROWS}")  # noqa: S608
        cursor.execute(f"DELETE FROM {_SETS}")  # noqa: S608
        cursor.execute(f"DELETE FROM {_ANSWERS}")  # noqa: S608
        cursor.execute(f"DELETE FROM {_FOLLOW}")  # noqa: S608
        cursor.execute(f"DELETE FROM {_STATE} WHERE name IN ('filtered', 'ranges')")  # noqa: S608
        published = published_set()
        _store(cursor, fingerprint(published) or "", TotalsSet("published", published, STORED_GROUPINGS))
        cursor.execute(
            f"INSERT INTO {_STATE} (name, value) VALUES ('definition', %s) "  # noqa: S608
            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            [DEFINITION],
        )
        cursor.execute(f"DELETE FROM {_CHANGES} WHERE id = ANY(%s)", [seen])  # noqa: S608
        # A new generation of the data: the in-memory snapshots of an older one are not read
        # again (``funding.snapshot``). Random, not counted: a count, or the transaction's id,
        # repeats after a rollback or within one transaction (several rebuilds in one test).
        cursor.execute(
            f"INSERT INTO {_STATE} (name, value) VALUES (%s, %s) "  # noqa: S608
            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            [GENERATION, secrets.randbits(63)],
        )
    if filtered:
        _rebuild_filtered()
    return True


def rebuild_published() -> bool:
    """``rebuild`` of the totals of every published record only: what a save runs in its own
    request when there is no task queue (``make run``, the tests, one process), so the officer
    waits as long as before there were filtered sets (~6 s at +100 000, not ~20 s); the filtered
    sets are computed per request until ``manage.py rebuild_funding_totals`` or a queued rebuild
    stores them."""
    return rebuild(filtered=False)


def _rebuild_filtered() -> None:
    """The second transaction of a rebuild: the filtered sets of ``registry``, replacing any a
    concurrent rebuild stored. A change committed before its reads is in them; one committed
    after leaves its change row, so they are not read until the next rebuild's first transaction,
    which drops them. Nothing is stored if that first transaction was another version's
    (``DEFINITION``: a deploy under way), nor again if another rebuild has stored them since it
    (a queued rebuild and cron's, one after the other) and nothing changed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        cursor.execute(
            f"SELECT EXISTS (SELECT FROM {_STATE} WHERE name = 'definition' AND value = %s), "  # noqa: S608
            f"{_STALE_SQL} OR NOT EXISTS (SELECT FROM {_STATE} WHERE name = 'filtered' AND value = %s)",
            [DEFINITION, DEFINITION, DEFINITION],
        )
        same_definition, wanted = cursor.fetchone()
        if not (same_definition and wanted):
            return
        published = fingerprint(published_set())
        cursor.execute(f"DELETE FROM {_ROWS} WHERE totals_set <> %s", [published])  # noqa: S608
        cursor.execute(f"DELETE FROM {_SETS} WHERE key <> %s", [published])  # noqa: S608
        cursor.execute(f"DELETE FROM {_ANSWERS} WHERE totals_set <> %s", [published])  # noqa: S608
        stored = {published}
        for totals_set in registry():
            key = fingerprint(totals_set.records)
            # Two filters may select a set by the same SQL (stored once), and a set whose SQL
            # reads a table no trigger watches could go stale unseen (never stored).
            if key is None or key in stored or not storable(totals_set.records):
                continue
            stored.add(key)
            _store(cursor, key, totals_set)
        ranges.store(cursor)
        cursor.execute(
            f"INSERT INTO {_STATE} (name, value) VALUES ('ranges', %s) "  # noqa: S608
            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            [DEFINITION],
        )
        _store_follow(cursor)
        cursor.execute(
            f"INSERT INTO {_STATE} (name, value) VALUES ('filtered', %s) "  # noqa: S608
            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            [DEFINITION],
        )


def _store_follow(cursor) -> None:
    """Store the follow-through of the sets of pledges of ``follow_sets`` again, as
    ``selectors.follow_through`` computes it (the totals it reads are the ones just stored, or
    current, or computed)."""
    cursor.execute(f"DELETE FROM {_FOLLOW}")  # noqa: S608
    for name, pledges in follow_sets():
        key = fingerprint(pledges)
        if key is None or not storable(pledges):
            continue
        follow, source_ids = computed_follow_through(pledges)
        cursor.execute(
            f"INSERT INTO {_FOLLOW} (key, name, value) VALUES (%s, %s, %s)",  # noqa: S608
            [key, name[:200], follow_through_to_json(follow, source_ids)],
        )


def rebuild_after_commit(**_kwargs) -> None:
    """A signal receiver: rebuild once the writing transaction commits, on the task queue when
    there is one (``migrationsupport.tasks``), so the officer who saved does not wait for it;
    until then readers compute the totals. Several saves in one transaction, or while a rebuild
    is waiting, make one rebuild."""
    if enabled():
        # Queued: the whole rebuild, on a worker. In this request (no queue, or Redis down): the
        # totals of every published record only, as long a wait as before the filtered sets.
        tasks.run_after_commit(rebuild, inline=rebuild_published)
