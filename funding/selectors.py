"""Reads over funding records: totals that never add apples and oranges, nor count money twice.

The totals are one hand-written recursive SQL query (``_TOTALS_SQL``) rather than django-cte's
querysets: its four row kinds joined by UNION ALL over shared CTEs, its MATERIALIZED hint and
its join order, each chosen against plans at 100 000 records, are easier to read and check as SQL.
"""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from functools import cached_property
from itertools import combinations

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import BooleanField, Case, CharField, F, Max, OuterRef, Q, QuerySet, Value, When, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce, ExtractYear

from migrationsupport.models import Theme, published_q, published_sql
from migrationsupport.values import QUALIFIER_WORDINGS, Amount, DatePrecision, PartialDate, Qualifier
from regions.models import Country, Region

from .models import MAX_NESTING_DEPTH, Donor, FundingRecord, Instrument, Measure, PledgingConference

GROUPINGS = ("region", "country", "theme", "instrument", "year")

# Group keys that are not a record: figures whose period is not within one year, and figures
# with no group at all (no region, no instrument, no period stated).
SEVERAL_YEARS = "several"
NOT_STATED = ""

# For a grouping over a many-to-many relation: the through table, its column and the model named.
_M2M = {
    "region": (FundingRecord.regions.through, "region_id", Region),
    "country": (FundingRecord.countries.through, "country_id", Country),
    "theme": (FundingRecord.themes.through, "theme_id", Theme),
}
# The records a group is named after (``_visible_labels``): its name is the record's ``str()``,
# its identifier (``identified``) one of its fields.
LABEL_MODELS: dict[str, type[Region | Country | Theme | Instrument]] = {
    "region": Region,
    "country": Country,
    "theme": Theme,
    "instrument": Instrument,
}
# How the API names a group: the stable identifier of each of its records (``identified``).
IDENTIFIERS = {"region": "slug", "country": "iso_code", "theme": "slug", "instrument": "slug"}

# ``members``: the records of the set that state an amount. ``lineage``: each member's ancestors,
# up to the deepest nesting allowed. ``enclosed``: the members with an ancestor among the members;
# every other member is ``counted``, with its group key. ``placed``: every member beside its one
# counted record (itself, or the top-most member above it, whose amount contains its own).
# ``marked``: the placed members an overlap mark names (a few), so the marks join them, not
# every member (a sort of the whole set: 10 % of a broad set's time at 100 000 records).
# The answer is one row set, tagged by ``row_kind``:
#   total    per (group, measure, donor): the sum of the counted amounts and their qualifiers;
#   nested   per (group, measure, donor): the amounts left out as parts of a counted record;
#   part     per (group, measure, donor, part donor): parts given by a narrower donor than their
#            parent's ("of which"; the parent is read by primary key, for those few rows only);
#   overlap  one row per mark between two counted records (a mark on a part counts against its
#            counted whole); ``records`` 0 when they are of different measures or donors.
# The set is read once and every step is a join PostgreSQL can hash, with no comparison between
# rows of a CTE and no join between two large CTEs other than by id: the planner cannot estimate
# a CTE's size, and a NOT EXISTS over depths or marks joined from the records' side (every record
# paired with every other of its measure) cost seconds to minutes at scale (docs/performance.md).
# ``lineage``: the wholes of each record of a CTE ``members`` (id, parent_id), climbed by primary
# key up to the deepest nesting allowed (its parameter); ``funding.ranges`` climbs them the same way.
LINEAGE_SQL = """lineage (id, ancestor, depth) AS (
    SELECT id, parent_id, 1 FROM members WHERE parent_id IS NOT NULL
    UNION ALL
    SELECT lineage.id, up.parent_id, lineage.depth + 1
    FROM lineage JOIN {funding} AS up ON up.id = lineage.ancestor
    WHERE up.parent_id IS NOT NULL AND lineage.depth < %s
)"""
_TOTALS_SQL = (
    "\nWITH RECURSIVE\n"  # noqa: S608 - constant SQL, formatted in totals_sql with table names
    "members (id, amount, qualifier, parent_id, measure, donor, plain_key, instrument_id) AS ({members}),\n"
    + LINEAGE_SQL
    + """,
enclosed (id) AS (
    SELECT DISTINCT lineage.id FROM lineage JOIN members AS whole ON whole.id = lineage.ancestor
),
counted AS (
    SELECT members.id, members.amount, members.qualifier, members.measure, members.donor,
           {group_key} AS group_key
    FROM members LEFT JOIN enclosed ON enclosed.id = members.id
    WHERE enclosed.id IS NULL
),
placed AS MATERIALIZED (
    SELECT members.id, members.amount, members.qualifier, members.donor, members.parent_id,
           whole.id AS rep, whole.amount AS rep_amount, whole.qualifier AS rep_qualifier,
           whole.group_key, whole.measure, whole.donor AS rep_donor
    FROM members
    JOIN lineage ON lineage.id = members.id
    JOIN counted AS whole ON whole.id = lineage.ancestor
    UNION ALL
    SELECT id, amount, qualifier, donor, NULL, id, amount, qualifier, group_key, measure, donor
    FROM counted
),
marked AS (
    SELECT * FROM placed WHERE id IN (
        SELECT mark.{overlap_from} FROM {overlap} AS mark
        UNION ALL SELECT mark.{overlap_to} FROM {overlap} AS mark
    )
)
SELECT 'total' AS row_kind, group_key, measure, donor, CAST(NULL AS TEXT) AS part_donor,
       SUM(amount) AS amount, COUNT(*) AS records,
       COUNT(CASE WHEN qualifier = %s THEN 1 END) AS more_than,
       COUNT(CASE WHEN qualifier = %s THEN 1 END) AS almost,
       COUNT(CASE WHEN qualifier = %s THEN 1 END) AS about,
       CAST(NULL AS BIGINT) AS record_id, CAST(NULL AS BIGINT) AS partner_id,
       CAST(NULL AS TEXT) AS qualifier
FROM counted GROUP BY group_key, measure, donor
UNION ALL
SELECT 'nested', group_key, measure, rep_donor, NULL, SUM(amount), COUNT(*), 0, 0, 0, NULL, NULL, NULL
FROM placed WHERE id <> rep
GROUP BY group_key, measure, rep_donor
UNION ALL
SELECT 'part', placed.group_key, placed.measure, placed.rep_donor, placed.donor,
       SUM(placed.amount), COUNT(*),
       COUNT(CASE WHEN placed.qualifier = %s THEN 1 END),
       COUNT(CASE WHEN placed.qualifier = %s THEN 1 END),
       COUNT(CASE WHEN placed.qualifier = %s THEN 1 END),
       NULL, NULL, NULL
FROM placed
WHERE placed.id <> placed.rep AND placed.donor <> placed.rep_donor
  AND placed.donor <> (SELECT parent.donor FROM {funding} AS parent WHERE parent.id = placed.parent_id)
GROUP BY placed.group_key, placed.measure, placed.rep_donor, placed.donor
UNION ALL
SELECT 'overlap', one.group_key, one.measure, one.rep_donor, NULL, one.rep_amount,
       CASE WHEN one.measure = other.measure AND one.rep_donor = other.rep_donor THEN 1 ELSE 0 END,
       0, 0, 0, one.rep, other.rep, one.rep_qualifier
FROM {overlap} AS mark
JOIN marked AS one ON one.id = mark.{overlap_from}
JOIN marked AS other ON other.id = mark.{overlap_to}
WHERE one.rep <> other.rep
"""
)

# Most to least direct, for listing totals: what was paid before what was promised.
_MEASURE_ORDER = {measure: rank for rank, measure in enumerate(Measure.values)}
_DONOR_ORDER = {donor: rank for rank, donor in enumerate(reversed(Donor.values))}


def total_qualifier(*, more_than: int, almost: int, about: int) -> str:
    """The qualifier of a sum: exact only if every part is exact; "more than" if every
    approximate part is a lower bound; "almost" if every one is an upper bound; "about" else."""
    if more_than and not (almost or about):
        return Qualifier.MORE_THAN
    if almost and not (more_than or about):
        return Qualifier.ALMOST
    if more_than or almost or about:
        return Qualifier.ABOUT
    return Qualifier.EXACT


@dataclass(frozen=True)
class FundingPart:
    """Money inside a total given by a narrower donor: "of which €2.12 billion by the Commission"."""

    donor: str
    amount: Decimal
    qualifier: str
    records: int

    @property
    def amount_display(self) -> Amount:
        return Amount(self.amount, self.qualifier)

    @property
    def donor_phrase(self) -> str:
        return _donor_phrase(self.donor)


@dataclass(frozen=True)
class FundingTotal:
    """The total of one measure from one donor scope, never mixed with another.

    ``upper`` adds every counted record; ``lower`` leaves out the records marked as possibly
    overlapping a counted figure (``overlapping``), as if each were part of it. They are equal
    unless such marks meet in the set. ``records`` are the records counted, ``nested`` those left
    out because a record they are part of is counted; ``parts`` the nested money given by a
    narrower donor ("of which"). In a grouped answer, ``key`` and ``label`` name the group and
    ``recipients`` its members (several for a figure shared by several countries).
    """

    measure: str
    donor: str
    lower: Decimal
    upper: Decimal
    lower_qualifier: str
    upper_qualifier: str
    records: int
    nested: int = 0
    overlapping: int = 0
    parts: tuple[FundingPart, ...] = ()
    key: str | None = None
    label: str = ""
    recipients: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_range(self) -> bool:
        return self.overlapping > 0

    @property
    def lower_display(self) -> Amount:
        return Amount(self.lower, self.lower_qualifier)

    @property
    def upper_display(self) -> Amount:
        return Amount(self.upper, self.upper_qualifier)

    @property
    def measure_label(self) -> str:
        return str(Measure(self.measure).label)

    @property
    def heading(self) -> str:
        """ "Mobilised by the EU and its Member States", as a total's label on pages."""
        verb = "Committed or allocated" if self.measure == Measure.COMMITTED else self.measure_label
        return f"{verb} by {_donor_phrase(self.donor)}"

    @cached_property
    def display(self) -> str:
        """The total as a sentence says it: a range when figures may overlap. Kept: a page
        writes a group's twice (its bar in the chart, its row in the table)."""
        if not self.is_range:
            return str(self.lower_display)
        condition = "if the figures that may overlap are all separate"
        if not self.lower:  # every figure here may be part of one counted elsewhere
            return f"up to {self.upper_display}, {condition}"
        return f"{self.lower_display}; up to {self.upper_display} {condition}"


def _donor_phrase(donor: str) -> str:
    return f"the {Donor(donor).label}"


def _largest_part_first(item: tuple) -> tuple:
    """``(donor, (amount, ...))`` of a total's parts: the largest first, equal amounts by donor
    scope, broadest first (so the order never depends on the order the rows came in)."""
    donor, (amount, *_counts) = item
    return (-amount, _DONOR_ORDER[donor])


def qualifier_of_sum(qualifiers: Iterable[str]) -> str:
    """``total_qualifier`` of a sum of totals, from their qualifiers: it depends only on which
    qualifiers the figures had ("about" already stands for a mix)."""
    present = set(qualifiers)
    return total_qualifier(
        more_than=Qualifier.MORE_THAN in present,
        almost=Qualifier.ALMOST in present,
        about=Qualifier.ABOUT in present,
    )


def combined_total(totals: Sequence[FundingTotal], *, label: str) -> FundingTotal:
    """Groups of one grouped answer, of one measure and donor, as one total labelled ``label``
    (the explorer's row for the groups it does not show one by one). Each counted figure is in
    one group only, and the figures left out of the lower bounds were chosen over the whole
    answer: the groups' bounds, counts and parts add up as their records would. Its ``key`` is
    None: it is no group of an answer, only a row of a page, which places it itself (a "not
    stated" group's key is None or empty too: never tell them apart by their keys)."""
    first = totals[0]
    if any((total.measure, total.donor) != (first.measure, first.donor) for total in totals):
        raise ValueError("Only totals of one measure and donor add up.")
    parts: dict[str, tuple[Decimal, int, list[str]]] = {}
    for total in totals:
        for part in total.parts:
            amount, records, qualifiers = parts.get(part.donor, (Decimal(0), 0, []))
            parts[part.donor] = (amount + part.amount, records + part.records, [*qualifiers, part.qualifier])
    return FundingTotal(
        measure=first.measure,
        donor=first.donor,
        lower=sum((total.lower for total in totals), Decimal(0)),
        upper=sum((total.upper for total in totals), Decimal(0)),
        lower_qualifier=qualifier_of_sum(total.lower_qualifier for total in totals),
        upper_qualifier=qualifier_of_sum(total.upper_qualifier for total in totals),
        records=sum(total.records for total in totals),
        nested=sum(total.nested for total in totals),
        overlapping=sum(total.overlapping for total in totals),
        parts=tuple(
            FundingPart(donor=donor, amount=amount, qualifier=qualifier_of_sum(qualifiers), records=records)
            for donor, (amount, records, qualifiers) in sorted(parts.items(), key=_largest_part_first)
        ),
        label=label,
    )


def _members(records: QuerySet[FundingRecord], group_by: str | None) -> QuerySet:
    """(record, amount, qualifier, parent, measure, donor, plain group key, instrument) for every
    record of the set with an amount, each once: the set's own query when it joins no other
    table (each filter a condition on the record's columns or a semi-join), else its distinct
    ids (a filter that joins a many-to-many relation would repeat a record)."""
    if _each_record_once(records):
        members = records.order_by().filter(amount__isnull=False)
    else:
        members = FundingRecord.objects.filter(pk__in=records.order_by().values("pk"), amount__isnull=False)
    if group_by == "year":
        # A figure belongs to a year only if its whole period lies within it.
        plain_key: Case | Value = Case(
            When(period_start__isnull=True, then=Value(NOT_STATED)),
            When(
                Q(period_end__isnull=False) & Q(period_end__year=ExtractYear("period_start")),
                then=Cast(ExtractYear("period_start"), CharField()),
            ),
            default=Value(SEVERAL_YEARS),
            output_field=CharField(),
        )
    else:
        plain_key = Value(NOT_STATED, output_field=CharField())
    return (
        members.order_by()
        .annotate(plain_key=plain_key, instrument_key=F("instrument_id"))
        .values_list(
            "pk", "amount", "qualifier", "parent_id", "measure", "donor", "plain_key", "instrument_key"
        )
    )


def _each_record_once(records: QuerySet[FundingRecord]) -> bool:
    """Whether the SQL of ``records`` gives each record at most once: it reads the records'
    table alone (no join: a subquery in a condition repeats nothing), with nothing that changes
    its rows (DISTINCT, grouping, annotations, a slice, a UNION, ``extra()`` tables). Reading
    such a set directly saves a second scan of the records and a join by id (about a tenth of the
    totals' time for a set filtered by amount or year at 100 000 records). A join Django trimmed
    (``instrument=`` compares the key, ``parent__isnull`` the column) stays in ``alias_map`` with
    a reference count of 0 (Django's own bookkeeping, read here: the tests of ``_members`` fail if
    it changes meaning)."""
    query = records.query
    return (
        records.model is FundingRecord
        and sum(1 for alias in query.alias_map if query.alias_refcount[alias]) <= 1
        and not (query.distinct or query.is_sliced or query.combinator or query.annotations)
        and not query.extra_tables
        and query.group_by is None
    )


def _group_key_sql(group_by: str | None, funding_table: str) -> str:
    """SQL for a counted member's group key: the ids of its recipients, comma-separated in
    ascending order (one row for a figure shared by several), its instrument (or its nearest
    whole's), or the plain key (year). Only table and column names from the models' metadata
    are interpolated, never a request's value (hence the noqa)."""
    if group_by in _M2M:
        through, column, _model = _M2M[group_by]
        table = connection.ops.quote_name(through._meta.db_table)
        if connection.vendor == "postgresql":
            joined = f"STRING_AGG(CAST(linked.{column} AS TEXT), ',' ORDER BY linked.{column})"
            source = f"{table} AS linked WHERE linked.fundingrecord_id = members.id"
        else:  # SQLite (`make run`): GROUP_CONCAT follows the order of an ordered subquery.
            joined = f"GROUP_CONCAT(CAST(linked.{column} AS TEXT), ',')"
            source = (
                f"(SELECT {column} FROM {table} WHERE fundingrecord_id = members.id "  # noqa: S608
                f"ORDER BY {column}) AS linked"
            )
        return f"COALESCE((SELECT {joined} FROM {source}), '')"  # noqa: S608
    if group_by == "instrument":
        # Only a published whole passes its instrument on: a draft's is not reviewed yet.
        inherited = (
            f"(SELECT up.instrument_id FROM lineage JOIN {funding_table} AS up ON up.id = lineage.ancestor "  # noqa: S608
            f"WHERE lineage.id = members.id AND up.instrument_id IS NOT NULL "
            f"AND {published_sql('up')} ORDER BY lineage.depth LIMIT 1)"
        )
        return f"COALESCE(CAST(COALESCE(members.instrument_id, {inherited}) AS TEXT), '')"
    return "members.plain_key"


def totals_sql(records: QuerySet[FundingRecord], group_by: str | None) -> tuple[str, tuple] | None:
    """The SQL of the totals of ``records`` (``_TOTALS_SQL``) and its parameters; None for a set
    that cannot hold anything (e.g. ``FundingRecord.objects.none()``)."""
    try:
        members_sql, members_params = _members(records, group_by).query.sql_with_params()
    except EmptyResultSet:
        return None
    quote = connection.ops.quote_name
    funding_table = quote(FundingRecord._meta.db_table)
    overlap = FundingRecord.may_overlap.through
    sql = _TOTALS_SQL.format(
        members=members_sql,
        funding=funding_table,
        group_key=_group_key_sql(group_by, funding_table),
        overlap=quote(overlap._meta.db_table),
        overlap_from="from_fundingrecord_id",
        overlap_to="to_fundingrecord_id",
    )
    qualifiers = (Qualifier.MORE_THAN, Qualifier.ALMOST, Qualifier.ABOUT)
    return sql, (*members_params, MAX_NESTING_DEPTH, *qualifiers, *qualifiers)


def computed_rows(records: QuerySet[FundingRecord], group_by: str | None) -> list[dict]:
    """The totals' rows computed from the records themselves: the reference the stored totals
    (``funding.rollup``) are checked against."""
    return _rows(records, totals_sql(records, group_by))


def _total_rows(records: QuerySet[FundingRecord], group_by: str | None) -> list[dict]:
    """The totals' rows: stored when ``records`` is a set whose totals are stored and current
    (``funding.rollup``), from the in-memory snapshot for a combination of filters (or an amount
    threshold alone, grouped) while the data is current (``funding.snapshot``), computed
    otherwise; one query either way."""
    from .rollup import MEMORY, answer_sql
    from .snapshot import combination_rows

    rows = _rows(records, answer_sql(records, group_by, in_memory=True))
    if rows and rows[0]["row_kind"] == MEMORY:  # current: in memory (``snapshot.combination_of``)
        found = combination_rows(records, group_by, rows[0]["record_id"])
        if found is None:  # moved on since, or no snapshot held: stored rows if current, else SQL
            return _rows(records, answer_sql(records, group_by))
        return found
    return rows


def _rows(records: QuerySet[FundingRecord], query: tuple[str, tuple] | None) -> list[dict]:
    if query is None:
        return []
    with connections[records.db].cursor() as cursor:  # where the set is read (a replica, maybe)
        cursor.execute(*query)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _decimal(value) -> Decimal:
    # PostgreSQL sums numeric columns exactly; SQLite (`make run`) answers an int or a float.
    return value if isinstance(value, Decimal) else Decimal(str(value)).quantize(Decimal("0.01"))


def independent_figures(amounts: dict[int, Decimal], marks: set[frozenset[int]]) -> set[int]:
    """The figures a lower bound keeps: the heaviest set of figures no two of which may overlap.

    Each group of figures linked by "may overlap" marks is solved on its own, exactly when it is
    small (it always is in practice), else greedily largest first, which keeps the bound a true
    "at least" but may make it lower than it could be. Ties go to the lower ids, so the answer
    never depends on the order rows come in.
    """
    neighbours: dict[int, set[int]] = defaultdict(set)
    for mark in marks:
        one, other = tuple(mark)
        neighbours[one].add(other)
        neighbours[other].add(one)
    kept: set[int] = set()
    seen: set[int] = set()
    for start in sorted(neighbours):
        if start in seen:
            continue
        component, frontier = set(), [start]
        while frontier:
            node = frontier.pop()
            if node not in component:
                component.add(node)
                frontier.extend(neighbours[node] - component)
        seen |= component
        kept |= _heaviest_independent(sorted(component), amounts, neighbours)
    return kept | (set(amounts) - seen)


_EXACT_LIMIT = 16


def _heaviest_independent(nodes: list[int], amounts, neighbours) -> set[int]:
    if len(nodes) > _EXACT_LIMIT:
        chosen: set[int] = set()
        for node in sorted(nodes, key=lambda n: (-amounts[n], n)):
            if not neighbours[node] & chosen:
                chosen.add(node)
        return chosen
    best: tuple[Decimal, tuple[int, ...]] = (Decimal(-1), ())
    for size in range(len(nodes), 0, -1):
        for subset in combinations(nodes, size):
            members = set(subset)
            if any(neighbours[n] & members for n in subset):
                continue
            weight = sum((amounts[n] for n in subset), Decimal(0))
            if weight > best[0] or (weight == best[0] and subset < best[1]):
                best = (weight, subset)
    return set(best[1])


def funding_totals(
    *, records: QuerySet[FundingRecord], group_by: str | None = None, include_drafts: bool = False
) -> list[FundingTotal]:
    """The totals of ``records``: one per (measure, donor scope) present, never one sum across
    them, never counting a part inside its whole twice, and a range where figures may overlap.

    * **Measures and donors.** "Mobilised by the EU and its Member States" and "pledged by the
      European Commission" are different things; each pair has its own total.
    * **Nesting.** A record is left out when one of its wholes (parent, grandparent...) is in the
      set, because the whole's amount already contains it: the €47 million programme is not added
      to the €60 million package it belongs to. A left-out part given by a narrower donor is
      reported with its whole's total as ``parts`` ("of which €2.12 billion by the Commission").
    * **Overlaps.** Figures an officer marked "may overlap" give a range: ``upper`` counts them
      separately, ``lower`` as if the smaller were inside the larger (the heaviest set of figures
      no two of which may overlap; ``independent_figures``).
    * **Groups** (``group_by`` "region", "country", "theme", "instrument" or "year"): each counted
      record falls in exactly one group, so the groups of a measure and donor add up exactly to
      its overall total (``lower`` and ``upper`` both). A figure for several countries is one row
      "shared by" all of them, never counted in full for each; a figure whose period is not within
      one year is in the "several years" row, not in the year it starts; a part takes its whole's
      instrument when it names none. Records without the grouping are in the "not stated" row.
      Unless ``include_drafts``, draft regions, countries, themes and instruments are never named:
      their records are grouped as if not linked to them.

    The set is first reduced to distinct ids, so filters that join many-to-many relations never
    repeat a row. One SQL query (a recursive common table expression around the ORM's own SQL for
    the set, walking up from the set's records; or, for every published record and the large
    sets one filter selects, the same rows stored by ``funding.rollup``), plus one for the group
    labels.
    """
    return _totals_from_rows(_total_rows(records, group_by), group_by, include_drafts)


def funding_totals_and_groups(
    *,
    records: QuerySet[FundingRecord],
    group_by: str,
    include_drafts: bool = False,
    identified: bool = False,
) -> tuple[list[FundingTotal], list[FundingTotal]]:
    """``funding_totals(records=records)`` and ``funding_totals(records=records, group_by=...)``
    from one computation: each counted record falls in exactly one group, so the overall totals
    are the grouped rows added up by measure and donor (half the work of asking for both).

    ``identified``: each group keyed as the API names it, by its records' stable identifiers
    (slugs, ISO codes; ``recipients`` too) in the order of their names, and null for the
    records without the grouping, instead of by ids."""
    return totals_and_groups_of_rows(
        _total_rows(records, group_by), group_by, include_drafts=include_drafts, identified=identified
    )


def totals_and_groups_of_rows(
    rows: list[dict], group_by: str, *, include_drafts: bool = False, identified: bool = False
) -> tuple[list[FundingTotal], list[FundingTotal]]:
    """``funding_totals_and_groups`` of the totals' rows of a set in ``group_by`` (stored ones:
    ``funding.rollup``)."""
    return (
        _totals_from_rows(rows, None, include_drafts),
        _totals_from_rows(rows, group_by, include_drafts, identified=identified),
    )


def _totals_from_rows(
    rows: list[dict], group_by: str | None, include_drafts: bool, *, identified: bool = False
) -> list[FundingTotal]:
    visible = _visible_labels(group_by, rows, include_drafts)
    # Each raw key once (a group's total and nested rows share it; 2 700 rows by country).
    keys: dict[str, str | None] = {}

    def key_of(raw: str) -> str | None:
        if raw not in keys:
            keys[raw] = _visible_key(group_by, raw, visible) if group_by else None
        return keys[raw]

    sums: dict[tuple, dict] = {}

    def bucket(row) -> dict:
        slot = (key_of(row["group_key"]), row["measure"], row["donor"])
        found = sums.get(slot)
        if found is None:
            found = sums[slot] = {
                "amount": Decimal(0),
                "records": 0,
                "q": [0, 0, 0],
                "nested": 0,
                "parts": {},
                "out": [],
            }
        return found

    amounts: dict[int, Decimal] = {}
    owners: dict[int, dict] = {}
    qualifiers: dict[int, str] = {}
    marks: set[frozenset[int]] = set()
    for row in rows:
        slot = bucket(row)
        kind = row["row_kind"]
        if kind == "total":
            slot["amount"] += _decimal(row["amount"])
            slot["records"] += row["records"]
            _add_qualifier_counts(slot["q"], row)
        elif kind == "nested":
            slot["nested"] += row["records"]
        elif kind == "part":
            part = slot["parts"].setdefault(row["part_donor"], [Decimal(0), 0, [0, 0, 0]])
            part[0] += _decimal(row["amount"])
            part[1] += row["records"]
            _add_qualifier_counts(part[2], row)
        elif row["records"]:  # overlap, within one measure and donor
            amounts[row["record_id"]] = _decimal(row["amount"])
            owners[row["record_id"]] = slot
            qualifiers[row["record_id"]] = row["qualifier"]
            marks.add(frozenset((row["record_id"], row["partner_id"])))

    for record_id in set(amounts) - independent_figures(amounts, marks):
        owners[record_id]["out"].append((amounts[record_id], qualifiers[record_id]))

    # Each group's name once (a group has a total per measure and donor).
    names: dict[str, tuple[str | None, str, tuple[tuple[str, str], ...]]] = {}
    totals = []
    for (key, measure, donor), slot in sums.items():
        if not slot["records"]:
            continue
        if group_by is not None and key not in names:
            names[key] = _name(group_by, key, visible, identified)
        name = names[key] if group_by is not None else (None, "", ())
        totals.append(_to_total(slot, measure=measure, donor=donor, name=name))
    if group_by is None:
        return sorted(totals, key=lambda t: (_MEASURE_ORDER[t.measure], _DONOR_ORDER[t.donor]))
    return sorted(
        totals,
        key=lambda t: (
            _MEASURE_ORDER[t.measure],
            _DONOR_ORDER[t.donor],
            not t.key,
            group_by == "year" and t.key == SEVERAL_YEARS,
            -t.upper if group_by != "year" else 0,
            (t.key or "") if group_by == "year" else t.label,
        ),
    )


def _add_qualifier_counts(counts: list[int], row: dict) -> None:
    counts[0] += row["more_than"]
    counts[1] += row["almost"]
    counts[2] += row["about"]


_QUALIFIER_INDEX = {Qualifier.MORE_THAN: 0, Qualifier.ALMOST: 1, Qualifier.ABOUT: 2}


def _to_total(
    slot: dict, *, measure: str, donor: str, name: tuple[str | None, str, tuple[tuple[str, str], ...]]
) -> FundingTotal:
    upper_counts = slot["q"]
    lower_counts = list(upper_counts)
    lower = slot["amount"]
    for amount, qualifier in slot["out"]:
        lower -= amount
        if qualifier in _QUALIFIER_INDEX:
            lower_counts[_QUALIFIER_INDEX[qualifier]] -= 1
    more_than, almost, about = upper_counts
    lower_more_than, lower_almost, lower_about = lower_counts
    parts = tuple(
        FundingPart(
            donor=part_donor,
            amount=amount,
            qualifier=total_qualifier(more_than=q[0], almost=q[1], about=q[2]),
            records=count,
        )
        for part_donor, (amount, count, q) in sorted(slot["parts"].items(), key=_largest_part_first)
    )
    key, label, recipients = name
    return FundingTotal(
        measure=measure,
        donor=donor,
        lower=lower,
        upper=slot["amount"],
        lower_qualifier=total_qualifier(more_than=lower_more_than, almost=lower_almost, about=lower_about),
        upper_qualifier=total_qualifier(more_than=more_than, almost=almost, about=about),
        records=slot["records"],
        nested=slot["nested"],
        overlapping=len(slot["out"]),
        parts=parts,
        key=key,
        label=label,
        recipients=recipients,
    )


def _visible_labels(
    group_by: str | None, rows: list[dict], include_drafts: bool
) -> dict[str, tuple[str, str]]:
    """{id: (name, stable identifier)} of the regions, countries, themes or instruments the
    groups may name."""
    model = LABEL_MODELS.get(group_by or "")
    if model is None:
        return {}
    ids = {int(part) for row in rows for part in (row["group_key"] or "").split(",") if part}
    objects = model.objects.filter(pk__in=ids)
    if not include_drafts:
        objects = objects.published()
    identifier = IDENTIFIERS[group_by or ""]
    if group_by == "country":
        return {str(pk): (name, code) for pk, name, code in objects.values_list("pk", "name", identifier)}
    return {str(obj.pk): (str(obj), getattr(obj, identifier)) for obj in objects}


def _visible_key(group_by: str, raw: str, visible: dict[str, tuple[str, str]]) -> str:
    if group_by == "year":
        return raw
    return ",".join(part for part in (raw or "").split(",") if part in visible)


def _name(
    group_by: str, key: str, visible: dict[str, tuple[str, str]], identified: bool
) -> tuple[str | None, str, tuple[tuple[str, str], ...]]:
    """(key, label, recipients) of a group: its key by ids, or ``identified`` as the API names it."""
    if group_by == "year":
        if key == SEVERAL_YEARS:
            return key, "Several years or ongoing", ()
        return (key, key, ()) if key else (None if identified else key, "No period stated", ())
    if not key:
        label = "No instrument stated" if group_by == "instrument" else f"No {group_by} stated"
        return (None if identified else key), label, ()
    recipients = tuple(
        sorted(
            ((visible[part][1] if identified else part, visible[part][0]) for part in key.split(",")),
            key=lambda r: r[1],
        )
    )
    names = [name for _pk, name in recipients]
    named: str | None = key
    if identified:
        named = ",".join(identifier for identifier, _name in recipients) or None
    if len(names) == 1:
        return named, names[0], recipients
    return named, "Shared by " + ", ".join(names[:-1]) + " and " + names[-1], recipients


def funding_overlap_candidates(*, record: FundingRecord, limit: int = 10) -> list[FundingRecord]:
    """Figures an officer should check for a "may overlap" mark with ``record``, largest first:
    the same measure and donor, a region in common (or no region on either), periods that meet
    (or no period), the same instrument or none, and neither nested with it nor marked already."""
    related = {a.pk for a in record.ancestors()} | record.descendant_ids() | {record.pk}
    candidates = (
        FundingRecord.objects.filter(measure=record.measure, donor=record.donor, amount__isnull=False)
        .exclude(pk__in=related)
        .exclude(pk__in=record.may_overlap.values("pk"))
    )
    through = FundingRecord.regions.through
    regions = through.objects.filter(fundingrecord_id=record.pk).values("region_id")
    if regions.exists():
        candidates = candidates.filter(
            pk__in=through.objects.filter(region_id__in=regions).values("fundingrecord_id")
        )
    else:
        candidates = candidates.exclude(pk__in=through.objects.values("fundingrecord_id"))
    if record.period_start is not None:
        candidates = candidates.exclude(period_end__lt=record.period_start)
    if record.period_end is not None:
        candidates = candidates.exclude(period_start__gt=record.period_end)
    if record.instrument_id is not None:
        candidates = candidates.filter(Q(instrument_id=record.instrument_id) | Q(instrument__isnull=True))
    return list(candidates.order_by(F("amount").desc(), "pk")[:limit])


# --- Follow-through: what was pledged, then committed, then paid ------------------------------

# The measures a follow-through reports after the figure followed, in the order money moves.
FOLLOW_UP_MEASURES = (Measure.COMMITTED, Measure.CONTRACTED, Measure.PAID)
# Figures that something can fulfil (``funding.models.FULFILS``): pages compute a follow-through
# only for these.
FOLLOWED_MEASURES = (Measure.PLEDGED, Measure.COMMITTED, Measure.CONTRACTED)
# Which way a qualified amount may be off: +1 the true value is at least it ("more than"), -1 at
# most ("almost"), 0 exact, None either way ("about").
_BOUND: dict[str, int | None] = {
    Qualifier.EXACT: 0,
    Qualifier.MORE_THAN: 1,
    Qualifier.ALMOST: -1,
    Qualifier.ABOUT: None,
}


@dataclass(frozen=True)
class Share:
    """The share of a promise fulfilled: "about 45 %". ``qualifier`` says how exact it is: a
    share of "almost €6 billion" is at least what the division gives ("more than")."""

    percent: Decimal
    qualifier: str

    @property
    def display(self) -> str:
        words = QUALIFIER_WORDINGS[self.qualifier][0]
        number = f"{self.percent}\u00a0%"
        return f"{words} {number}" if words else number


@dataclass(frozen=True)
class FollowUpStage:
    """What was reported for one measure after the figure followed (committed, contracted or
    paid): one total per donor scope, never added across them, with the date of its latest
    record and, where the figures allow it, the share of the promise it covers."""

    measure: str
    totals: tuple[FundingTotal, ...]
    as_of: PartialDate | None
    share: Share | None
    share_note: str

    @property
    def heading(self) -> str:
        return (
            "Committed or allocated"
            if self.measure == Measure.COMMITTED
            else str(Measure(self.measure).label)
        )


@dataclass(frozen=True)
class FollowThrough:
    """A promise (pledges, or a commitment) and what was reported to fulfil it.

    ``promised``: the totals of the figures followed, with ``promised_as_of``. ``stages``: one
    per follow-up measure reported (committed, contracted, paid). ``reported`` is False when no
    published link reaches them: pages say "no follow-up reported", never 0 %. ``shared``: some
    follow-up also fulfils figures outside this set, so it is shown in full here and there and
    no share is computed. ``sources``: where the follow-up figures and their links come from.
    """

    promised: tuple[FundingTotal, ...]
    promised_as_of: PartialDate | None
    stages: tuple[FollowUpStage, ...] = ()
    reported: bool = False
    shared: bool = False
    sources: tuple = ()

    def stage(self, measure: str) -> FollowUpStage | None:
        return next((s for s in self.stages if s.measure == measure), None)


def _as_of_expressions():
    """A record's date for "as of": a pledge made at a conference, the conference's date; any
    other figure, the end of its period (its start when it states no end)."""
    at_conference = Q(measure=Measure.PLEDGED, conference__date__isnull=False)
    date = Case(
        When(at_conference, then=F("conference__date")),
        default=Coalesce("period_end", "period_start"),
    )
    precision = Case(
        When(at_conference, then=F("conference__date_precision")),
        When(period_end__isnull=False, then=F("period_end_precision")),
        default=F("period_start_precision"),
        output_field=CharField(),
    )
    return date, precision


_PRECISION_REACH: dict[str, int] = {DatePrecision.YEAR: 3, DatePrecision.MONTH: 2, DatePrecision.DAY: 1}


def _latest_dates(
    records: QuerySet[FundingRecord], *, follow_up: frozenset[int] = frozenset()
) -> tuple[dict[str, PartialDate], dict[str, PartialDate]]:
    """The latest date per measure of ``records``, and of the records ``follow_up`` names (none
    of them among ``records``), in one query however many records: the precisions stated on the
    latest first day of each measure of each set (a window over the set and the measure). A later
    first day wins; on the same first day the coarser precision, which reaches further ("2024"
    after "1 January 2024")."""
    date, precision = _as_of_expressions()
    members = records.order_by().values("pk")
    is_follow_up: Case | Value = Value(False)
    if follow_up:
        followed = Q(pk__in=_ids(set(follow_up)))
        # One list of ids, the set's and the follow-up's: PostgreSQL reads them by primary key.
        # Two lists ORed read every record to test each against both (17 ms at +100 000 for a
        # commitment's page; docs/performance.md). A donor's thousands of follow-ups, dated
        # when its stored follow-through is rebuilt, take a little longer (73 -> 79 ms).
        members = members.union(FundingRecord.objects.filter(followed).order_by().values("pk"), all=True)
        is_follow_up = Case(When(followed, then=Value(True)), default=Value(False))
    dated = (
        FundingRecord.objects.filter(pk__in=members)
        .order_by()  # the model's ordering would enter the DISTINCT below and sort every member
        .annotate(as_of=date, as_of_precision=precision, followed=is_follow_up)
        .filter(as_of__isnull=False)
    )
    latest = dated.annotate(latest=Window(Max("as_of"), partition_by=[F("followed"), F("measure")])).filter(
        as_of=F("latest")
    )
    found: tuple[dict[str, PartialDate], dict[str, PartialDate]] = ({}, {})
    rows = latest.values_list("followed", "measure", "as_of", "as_of_precision").distinct()
    for in_follow_up, measure, day, stated in rows:
        of_set = found[1 if in_follow_up else 0]
        current = of_set.get(measure)
        if current is None or _PRECISION_REACH.get(stated, 0) > _PRECISION_REACH.get(current.precision, 0):
            of_set[measure] = PartialDate(day, stated)
    return found


# The follow-up of a set of figures, in one query: ``promise`` the published records of the set
# and their published parts; ``first`` the published records a published link says fulfil one of
# them, with their parts; ``second`` those that fulfil one of ``first`` (payments for the
# commitments), with their parts. Recursion over ids only, bounded by the nesting depth. The row
# ``'s'`` says the follow-up is shared: a published link (between published records) from one
# of the follow-up to a record outside the promise and its follow-up.
# The follow-through's closure (``_follow_up_closure``) in SQL that SQLite (``make run``'s
# default) runs too; PostgreSQL runs ``_CLOSURE_SQL_POSTGRESQL``, the same sets by its indexes.
_CLOSURE_SQL = """
WITH RECURSIVE
promise (id, depth) AS (
    SELECT f.id, 0 FROM {funding} AS f WHERE f.id IN ({records}) AND {published_f}
    UNION
    SELECT f.id, promise.depth + 1 FROM {funding} AS f JOIN promise ON f.parent_id = promise.id
    WHERE promise.depth < %s AND {published_f}
),
first (id, depth) AS (
    SELECT f.id, 0 FROM {links} AS l JOIN promise ON promise.id = l.fulfilled_id
    JOIN {funding} AS f ON f.id = l.fulfilling_id WHERE {published_l} AND {published_f}
    UNION
    SELECT f.id, first.depth + 1 FROM {funding} AS f JOIN first ON f.parent_id = first.id
    WHERE first.depth < %s AND {published_f}
),
second (id, depth) AS (
    SELECT f.id, 0 FROM {links} AS l JOIN first ON first.id = l.fulfilled_id
    JOIN {funding} AS f ON f.id = l.fulfilling_id WHERE {published_l} AND {published_f}
    UNION
    SELECT f.id, second.depth + 1 FROM {funding} AS f JOIN second ON f.parent_id = second.id
    WHERE second.depth < %s AND {published_f}
)
SELECT DISTINCT 'p', id FROM promise
UNION SELECT 'f', id FROM first
UNION SELECT 'f', id FROM second
UNION SELECT 's', 0 WHERE EXISTS (
    SELECT 1 FROM {links} AS l JOIN {funding} AS f ON f.id = l.fulfilled_id
    WHERE {published_l} AND {published_f}
    AND l.fulfilling_id IN (SELECT id FROM first UNION SELECT id FROM second)
    AND l.fulfilling_id NOT IN (SELECT id FROM promise)
    AND l.fulfilled_id NOT IN (SELECT id FROM promise UNION SELECT id FROM first UNION SELECT id FROM second)
)
"""

_CLOSURE_SQL_POSTGRESQL = """
WITH RECURSIVE
promise (id, depth) AS (
    SELECT f.id, 0 FROM {funding} AS f WHERE f.id IN ({records}) AND {published_f}
    UNION
    SELECT part.id, promise.depth + 1 FROM promise, LATERAL (
        SELECT f.id FROM {funding} AS f WHERE f.parent_id = promise.id AND {published_f} OFFSET 0
    ) AS part WHERE promise.depth < %s
),
first (id, depth) AS (
    SELECT link.id, 0 FROM promise, LATERAL (
        SELECT f.id FROM {links} AS l JOIN {funding} AS f ON f.id = l.fulfilling_id
        WHERE l.fulfilled_id = promise.id AND {published_l} AND {published_f} OFFSET 0
    ) AS link
    UNION
    SELECT part.id, first.depth + 1 FROM first, LATERAL (
        SELECT f.id FROM {funding} AS f WHERE f.parent_id = first.id AND {published_f} OFFSET 0
    ) AS part WHERE first.depth < %s
),
second (id, depth) AS (
    SELECT link.id, 0 FROM first, LATERAL (
        SELECT f.id FROM {links} AS l JOIN {funding} AS f ON f.id = l.fulfilling_id
        WHERE l.fulfilled_id = first.id AND {published_l} AND {published_f} OFFSET 0
    ) AS link
    UNION
    SELECT part.id, second.depth + 1 FROM second, LATERAL (
        SELECT f.id FROM {funding} AS f WHERE f.parent_id = second.id AND {published_f} OFFSET 0
    ) AS part WHERE second.depth < %s
)
SELECT DISTINCT 'p', id FROM promise
UNION SELECT 'f', id FROM first
UNION SELECT 'f', id FROM second
UNION SELECT 's', 0 WHERE EXISTS (
    SELECT 1 FROM (SELECT id FROM first UNION SELECT id FROM second) AS follow, LATERAL (
        SELECT l.fulfilled_id FROM {links} AS l
        WHERE l.fulfilling_id = follow.id AND {published_l} OFFSET 0
    ) AS link
    WHERE NOT EXISTS (SELECT FROM promise WHERE promise.id = follow.id)
    AND NOT EXISTS (SELECT FROM promise WHERE promise.id = link.fulfilled_id)
    AND NOT EXISTS (SELECT FROM first WHERE first.id = link.fulfilled_id)
    AND NOT EXISTS (SELECT FROM second WHERE second.id = link.fulfilled_id)
    AND (SELECT {published_f} FROM {funding} AS f WHERE f.id = link.fulfilled_id)
)
"""
# ``_CLOSURE_SQL`` on PostgreSQL (SQLite, the default of ``make run``, has no ``LATERAL``).
# Each step goes from the few records found so far to their parts and links by the indexes
# (``parent_id``, the links' ``fulfilled_id`` and ``fulfilling_id``): a ``LATERAL`` subquery with
# ``OFFSET 0`` per record, which PostgreSQL runs as written, and a scalar subquery for whether a
# fulfilled record is published. As plain joins, PostgreSQL, which estimates a recursive CTE at
# millions of rows, hashed the whole funding table at each step and, for the last part, ran a
# nested loop over every funding record per link: 2.6 s for a conference of 100 pledges at
# +100 000 records, 11 ms now (EXPLAIN ANALYZE).


def _follow_up_closure(records: QuerySet[FundingRecord]) -> tuple[set[int], set[int], bool]:
    """(ids of the published figures followed and their parts, ids of their follow-up, whether
    any of the follow-up also fulfils a figure outside both): one query (``_CLOSURE_SQL``)."""
    from .models import Fulfilment

    try:
        records_sql, params = records.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:
        return set(), set(), False
    quote = connection.ops.quote_name
    template = _CLOSURE_SQL_POSTGRESQL if connections[records.db].vendor == "postgresql" else _CLOSURE_SQL
    sql = template.format(
        funding=quote(FundingRecord._meta.db_table),
        links=quote(Fulfilment._meta.db_table),
        records=records_sql,
        published_f=published_sql("f"),
        published_l=published_sql("l"),
    )
    promise: set[int] = set()
    follow: set[int] = set()
    shared = False
    with connections[records.db].cursor() as cursor:
        cursor.execute(sql, (*params, MAX_NESTING_DEPTH, MAX_NESTING_DEPTH, MAX_NESTING_DEPTH))
        for tag, pk in cursor.fetchall():
            if tag == "s":
                shared = True
            else:
                (promise if tag == "p" else follow).add(pk)
    return promise, follow - promise, shared


def _ids(ids: set[int]):
    """``ids`` for ``pk__in``: one array parameter on PostgreSQL rather than thousands."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (sorted(ids),))
    return sorted(ids)


def _date_reach(date: PartialDate) -> tuple:
    return (date.date, _PRECISION_REACH.get(date.precision, 0))


def donor_pledges(donor: str) -> QuerySet[FundingRecord]:
    """A donor's published pledges, as its page follows them through (``funding.views``): the set
    whose follow-through ``funding.rollup`` stores when it is large, built here once so the page's
    SQL, and its fingerprint, are the stored set's."""
    return FundingRecord.objects.published().filter(donor=donor).filter(measure=Measure.PLEDGED)


def conference_pledges(conference: PledgingConference | int | OuterRef) -> QuerySet[FundingRecord]:
    """The published pledges made at a conference (or at ``OuterRef("pk")``'s, in a subquery), as
    its page and the API follow them through: the set whose follow-through ``funding.rollup``
    stores, built here once so their SQL, and its fingerprint, are the stored set's."""
    return FundingRecord.objects.published().filter(conference=conference, measure=Measure.PLEDGED)


def follow_through(*, records: QuerySet[FundingRecord]) -> FollowThrough:
    """What was reported to fulfil ``records`` (pledges, or a commitment), per measure.

    * **Links, not nesting.** A commitment fulfils a pledge, a payment a commitment or a pledge
      (``Fulfilment``, published links between published records). A payment for a commitment
      that fulfils the pledge fulfils the pledge too; what fulfils a part of a pledge fulfils the
      pledge; a commitment's parts are inside it.
    * **Each record once per measure.** The follow-up records form one set, totalled by
      ``funding_totals``: a record reached by several links (directly and through a commitment)
      is one member, and a part inside its whole is not added again. Measures and donors are
      never added together: committed and paid are separate totals, each per donor scope.
    * **Share fulfilled** only where it means something: one promised total and one follow-up
      total of that measure, from the same donor scope, no overlap range, and no follow-up
      shared with figures outside the set (it would be counted in full for each). The share
      carries the qualifiers of both figures ("more than 40 %" of "almost €6 billion").
    * **Absence** is not zero: with no link, ``reported`` is False and pages say "no follow-up
      reported".

    Queries: the promised totals (1), the follow-up's ids and whether it is shared (1, a
    recursive query over ids), the latest dates of the promise and of its follow-up (1,
    ``_latest_dates``); with follow-up, its totals (1) and sources (1): never more with more data.
    """
    from migrationsupport.models import Source

    from .rollup import follow_answer_sql

    # One query: the stored follow-through of a large set (``funding.rollup``) when current,
    # else the promised totals, with which the computation below starts.
    rows = _rows(records, follow_answer_sql(records))
    if rows and rows[0]["row_kind"] == "follow":
        follow, source_ids = follow_through_from_json(rows[0]["qualifier"])
        if not source_ids:
            return follow
        sources = Source.objects.using(records.db).published().filter(pk__in=source_ids)
        return replace(follow, sources=tuple(sources.order_by("title", "pk")))
    return _computed_follow_through(records, _totals_from_rows(rows, None, False))[0]


def computed_follow_through(records: QuerySet[FundingRecord]) -> tuple[FollowThrough, list[int]]:
    """``follow_through`` computed from the records, whatever is stored, and the ids of every
    source its figures and links cite, published or not (``funding.rollup`` stores them and reads
    which are published with the stored answer): the reference the stored answers are checked
    against."""
    return _computed_follow_through(records, funding_totals(records=records))


def _computed_follow_through(
    records: QuerySet[FundingRecord], promised: list[FundingTotal]
) -> tuple[FollowThrough, list[int]]:
    from migrationsupport.models import Source

    from .models import Fulfilment

    promise_ids, follow_ids, shared = _follow_up_closure(records)
    links = Fulfilment.objects.published()
    follow_up = FundingRecord.objects.filter(pk__in=_ids(follow_ids))
    totals = funding_totals(records=follow_up) if follow_ids else []
    if not totals:
        promised_dates = _latest_dates(records)[0] if promised else {}
        return FollowThrough(
            promised=tuple(promised),
            promised_as_of=max(promised_dates.values(), key=_date_reach, default=None),
        ), []
    # The latest dates of the promise and of its follow-up, in one query.
    promised_dates, as_of = _latest_dates(records, follow_up=frozenset(follow_ids))
    promised_as_of = max(promised_dates.values(), key=_date_reach, default=None) if promised else None

    follow_up_ids = _ids(follow_ids)
    stages = []
    for measure in FOLLOW_UP_MEASURES:
        of_measure = tuple(t for t in totals if t.measure == measure)
        if not of_measure:
            continue
        share, note = _share(promised, of_measure, shared=shared)
        stages.append(
            FollowUpStage(
                measure=measure,
                totals=of_measure,
                as_of=as_of.get(measure),
                share=share,
                share_note=note,
            )
        )
    used_links = links.filter(fulfilling__in=follow_up_ids, fulfilled__in=_ids(promise_ids | follow_ids))
    cited = Q(pk__in=follow_up.order_by().values("source")) | Q(pk__in=used_links.order_by().values("source"))
    # Every cited source, with whether it is published: the page lists the published ones, and
    # a stored answer keeps them all, to read which are published when it is read.
    public = Case(When(published_q(), then=Value(True)), default=Value(False), output_field=BooleanField())
    sources = list(Source.objects.filter(cited).annotate(public=public).order_by("title", "pk"))
    return FollowThrough(
        promised=tuple(promised),
        promised_as_of=promised_as_of,
        stages=tuple(stages),
        reported=True,
        shared=shared,
        sources=tuple(source for source in sources if source.public),
    ), [source.pk for source in sources]


def _share(promised: list[FundingTotal], done: tuple[FundingTotal, ...], *, shared: bool):
    """(Share, "") or (None, why not)."""
    if shared:
        return None, (
            "No share: some of these figures also fulfil other pledges or commitments, so they are "
            "shown in full for each."
        )
    if len(promised) != 1 or len(done) != 1:
        return None, "No share: the figures are given by different donor scopes, which are never compared."
    whole, part = promised[0], done[0]
    if whole.donor != part.donor:
        return None, (
            f"No share: the promise is by {_donor_phrase(whole.donor)}, this figure by "
            f"{_donor_phrase(part.donor)}."
        )
    if whole.is_range or part.is_range:
        return None, "No share: figures that may overlap make one of the amounts a range."
    if not whole.lower:
        return None, "No share: the promise states no amount."
    ratio = part.lower / whole.lower * 100
    num, den = _BOUND.get(part.lower_qualifier), _BOUND.get(whole.lower_qualifier)
    if num is None or den is None:
        qualifier = Qualifier.ABOUT
    elif num == den == 0:
        qualifier = Qualifier.EXACT if ratio == ratio.quantize(Decimal(1)) else Qualifier.ABOUT
    elif num >= 0 and den <= 0:
        qualifier = Qualifier.MORE_THAN
    elif num <= 0 and den >= 0:
        qualifier = Qualifier.ALMOST
    else:
        qualifier = Qualifier.ABOUT
    # A bound is rounded away from the claim: "more than 39 %" of 39.6 %, never "more than 40 %".
    rounding = {Qualifier.MORE_THAN: ROUND_FLOOR, Qualifier.ALMOST: ROUND_CEILING}.get(
        qualifier, ROUND_HALF_EVEN
    )
    return Share(percent=ratio.quantize(Decimal(1), rounding=rounding), qualifier=qualifier), ""


# --- A follow-through as stored (funding.rollup) ----------------------------------------------


def follow_through_to_json(follow: FollowThrough, source_ids: list[int]) -> str:
    """``follow`` as ``funding.rollup`` stores it: its figures as they are (amounts as exact
    decimal strings), its sources by id (every one cited, published or not)."""

    def total(t: FundingTotal) -> dict:
        data = asdict(t)
        data["parts"] = [asdict(part) for part in t.parts]
        return data

    def date(d: PartialDate | None) -> list | None:
        return None if d is None else [d.date.isoformat(), d.precision]

    return json.dumps(
        {
            "promised": [total(t) for t in follow.promised],
            "promised_as_of": date(follow.promised_as_of),
            "stages": [
                {
                    "measure": str(stage.measure),
                    "totals": [total(t) for t in stage.totals],
                    "as_of": date(stage.as_of),
                    "share": None if stage.share is None else [stage.share.percent, stage.share.qualifier],
                    "share_note": stage.share_note,
                }
                for stage in follow.stages
            ],
            "reported": follow.reported,
            "shared": follow.shared,
            "sources": source_ids,
        },
        default=str,  # Decimal, exactly
    )


def _share_from(share: list) -> Share:
    return Share(Decimal(share[0]), share[1])


def follow_through_from_json(value: str) -> tuple[FollowThrough, list[int]]:
    """(the follow-through ``follow_through_to_json`` wrote, without its sources; their ids)."""
    data = json.loads(value)

    def total(t: dict) -> FundingTotal:
        parts = tuple(FundingPart(**{**part, "amount": Decimal(part["amount"])}) for part in t["parts"])
        return FundingTotal(
            **{
                **t,
                "lower": Decimal(t["lower"]),
                "upper": Decimal(t["upper"]),
                "parts": parts,
                "recipients": tuple(tuple(r) for r in t["recipients"]),
            }
        )

    def date(d: list | None) -> PartialDate | None:
        return None if d is None else PartialDate(datetime.date.fromisoformat(d[0]), d[1])

    follow = FollowThrough(
        promised=tuple(total(t) for t in data["promised"]),
        promised_as_of=date(data["promised_as_of"]),
        stages=tuple(
            FollowUpStage(
                measure=stage["measure"],
                totals=tuple(total(t) for t in stage["totals"]),
                as_of=date(stage["as_of"]),
                share=None if stage["share"] is None else _share_from(stage["share"]),
                share_note=stage["share_note"],
            )
            for stage in data["stages"]
        ),
        reported=data["reported"],
        shared=data["shared"],
    )
    return follow, data["sources"]
