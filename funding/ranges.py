"""The totals of the sets a range filter selects, stored for every threshold (PostgreSQL).

A set like "every published record of at least €1 million" (``amount_min``), or "ending in or
after 2021" (``year_min``), cannot be stored as the sets of ``funding.rollup`` are, one per value:
any number is a value. Computed, its totals read every member (57 787 records for ``year_min=
2021`` at +100 000: 180–290 ms). But along one such filter each record counts for an interval of
thresholds, and the totals of a threshold are sums over the intervals that hold it.

Take the record's value in the filter's order (its amount, or the year its period ends, later
than any year for an ongoing one; negated for ``amount_max`` and ``year_max``, so that a record
is in the set when its value is at least the threshold ``t``). A record of the set is counted
unless one of its wholes is in the set too, so it is counted for ``t`` in (the highest value of
its published wholes with an amount, its own value]; it is left out as a part of the whole it is
placed under, the highest of its wholes in the set, for ``t`` in (the highest value above that
whole, the lower of the two values]. Each such interval (lo, hi] adds its record's amount,
count and qualifier to a row kind ("total", "nested", "part", as ``funding.selectors`` computes
them) of one group (a counted record's own, a part's its whole's), measure, donor and part
donor. The sum over the intervals holding ``t`` is the sum over those with ``hi >= t`` less the
sum over those with ``lo >= t`` (an interval starting at or above ``t`` ends above it), and both
are stored as running sums from the highest bound down (``FundingRangeTotalsRow``): a
threshold's totals are one index lookup per row kind, group, measure, donor and side. The marks
of possible overlap between counted records, few, are read as computed (``answer_sql``); the
set's size is a running count too (``size_sql``).

``funding.rollup`` stores the rows with the filtered sets, serves them under the same conditions
(current only while no change is left and built by this code), and only for a set whose SQL is
the one the filter makes, in the groupings of ``GROUPINGS``; any other set or grouping, or two
filters at once, are computed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from migrationsupport.models import published_sql
from migrationsupport.values import Qualifier

from .models import MAX_NESTING_DEPTH, FundingRangeTotalsRow, FundingRecord
from .selectors import LINEAGE_SQL, _group_key_sql

#: A value above every year the year filters take (they refuse more than 9999): a period with no
#: end is ongoing, in every later year (``FundingFilter.filter_year_min``).
ONGOING = 10_000


@dataclass(frozen=True)
class Range:
    """A range filter of ``FundingFilter``: a record's value in its order, as SQL on the table
    alias ``{f}`` (NULL: in no set), the threshold a parameter of its SQL stands for, and two
    values to tell that parameter from the others."""

    value_sql: str
    negated: bool
    samples: tuple[str, str]

    def value(self, alias: str) -> str:
        return self.value_sql.format(f=alias)

    def threshold(self, parameter) -> Decimal | None:
        """The threshold, in the value's order, of the parameter the filter put in its SQL: an
        amount, or the first day of the year for ``__year__gte`` (the last for ``__year__lte``);
        None for any other date (``period_end__gte=<1 June>`` is not a year's set)."""
        if isinstance(parameter, datetime.date):
            year = parameter.year
            if parameter != (datetime.date(year, 12, 31) if self.negated else datetime.date(year, 1, 1)):
                return None
            number = Decimal(year)
        else:
            number = Decimal(parameter)
        return -number if self.negated else number


RANGES = {
    "amount_min": Range("{f}.amount", negated=False, samples=("1", "2")),
    "amount_max": Range("-{f}.amount", negated=True, samples=("1", "2")),
    "year_min": Range(
        f"CASE WHEN {{f}}.period_end IS NOT NULL THEN EXTRACT(YEAR FROM {{f}}.period_end) "
        f"WHEN {{f}}.period_start IS NOT NULL THEN {ONGOING} END",
        negated=False,
        samples=("2001", "2002"),
    ),
    "year_max": Range("-EXTRACT(YEAR FROM {f}.period_start)", negated=True, samples=("2001", "2002")),
}

_TABLE = FundingRangeTotalsRow._meta.db_table
_FUNDING = FundingRecord._meta.db_table
_OVERLAP = FundingRecord.may_overlap.through._meta.db_table
_QUALIFIERS = (Qualifier.MORE_THAN, Qualifier.ALMOST, Qualifier.ABOUT)
#: The groupings stored: the overall totals (the API's ``/totals/``) and the explorer's chart's.
GROUPINGS = ("", "region", "instrument")
#: The row kind of a set's size: how many published records it holds, with an amount or not.
SIZE = "size"

# ``members``: the published records with an amount and a value, each in the sets of the
# thresholds up to its value (and, with or without an amount, in their sizes: row kind ``SIZE``).
# ``lineage``: their wholes, as ``funding.selectors`` climbs them; ``keyed``: their group key in
# each grouping, as it computes them. ``wholes``: each eligible whole of each, its group keys, and
# ``above``, the highest value of the eligible wholes above that one. The facts are the intervals
# of the module's docstring, each in every grouping (a counted record's own group, a part's its
# whole's); ``bounds`` their sums per bound, and the rows the running sums from the highest bound
# down.
_BUILD_SQL = """
INSERT INTO {table} (dimension, grouping, row_kind, group_key, measure, donor, part_donor, side,
                     bound, top, amount, records, more_than, almost, about)
WITH RECURSIVE
members AS MATERIALIZED (
    SELECT f.id, f.amount, f.qualifier, f.parent_id, f.measure, f.donor, f.instrument_id,
           '' AS plain_key, {value} AS value
    FROM {funding} AS f
    WHERE {published} AND f.amount IS NOT NULL AND {value} IS NOT NULL
),
{lineage},
keyed AS MATERIALIZED (
    SELECT members.id, {region_key} AS region_key, {instrument_key} AS instrument_key FROM members
),
wholes AS MATERIALIZED (
    SELECT lineage.id, whole.measure, whole.donor, whole.value, keyed.region_key,
           keyed.instrument_key,
           MAX(whole.value) OVER (PARTITION BY lineage.id ORDER BY lineage.depth DESC
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS above
    FROM lineage
    JOIN members AS whole ON whole.id = lineage.ancestor
    JOIN keyed ON keyed.id = whole.id
),
facts (row_kind, region_key, instrument_key, measure, donor, part_donor, lo, hi, amount,
       more_than, almost, about) AS (
    SELECT 'total', keyed.region_key, keyed.instrument_key, part.measure, part.donor, '',
           highest.value, part.value, part.amount,
           CASE WHEN part.qualifier = %s THEN 1 ELSE 0 END,
           CASE WHEN part.qualifier = %s THEN 1 ELSE 0 END,
           CASE WHEN part.qualifier = %s THEN 1 ELSE 0 END
    FROM members AS part
    JOIN keyed ON keyed.id = part.id
    LEFT JOIN (SELECT id, MAX(value) AS value FROM wholes GROUP BY id) AS highest ON highest.id = part.id
    UNION ALL
    SELECT 'nested', wholes.region_key, wholes.instrument_key, wholes.measure, wholes.donor, '',
           wholes.above, LEAST(part.value, wholes.value), part.amount, 0, 0, 0
    FROM wholes JOIN members AS part ON part.id = wholes.id
    UNION ALL
    SELECT 'part', wholes.region_key, wholes.instrument_key, wholes.measure, wholes.donor,
           part.donor, wholes.above, LEAST(part.value, wholes.value), part.amount,
           CASE WHEN part.qualifier = %s THEN 1 ELSE 0 END,
           CASE WHEN part.qualifier = %s THEN 1 ELSE 0 END,
           CASE WHEN part.qualifier = %s THEN 1 ELSE 0 END
    FROM wholes
    JOIN members AS part ON part.id = wholes.id
    JOIN {funding} AS parent ON parent.id = part.parent_id
    WHERE part.donor <> wholes.donor AND part.donor <> parent.donor
),
grouped (grouping, row_kind, group_key, measure, donor, part_donor, lo, hi, amount, more_than,
         almost, about) AS (
    SELECT grouping.name, facts.row_kind, grouping.group_key, facts.measure, facts.donor,
           facts.part_donor, facts.lo, facts.hi, facts.amount, facts.more_than, facts.almost,
           facts.about
    FROM facts
    CROSS JOIN LATERAL (
        VALUES ('', ''), ('region', facts.region_key), ('instrument', facts.instrument_key)
    ) AS grouping (name, group_key)
    WHERE facts.lo IS NULL OR facts.lo < facts.hi
),
events (grouping, row_kind, group_key, measure, donor, part_donor, side, bound, amount, more_than,
        almost, about) AS (
    SELECT grouping, row_kind, group_key, measure, donor, part_donor, 'hi', hi, amount,
           more_than, almost, about
    FROM grouped
    UNION ALL
    SELECT grouping, row_kind, group_key, measure, donor, part_donor, 'lo', lo, amount,
           more_than, almost, about
    FROM grouped WHERE lo IS NOT NULL
    UNION ALL
    SELECT '', '{size}', '', '', '', '', 'hi', {value}, 0, 0, 0, 0
    FROM {funding} AS f WHERE {published} AND {value} IS NOT NULL
),
bounds AS (
    SELECT grouping, row_kind, group_key, measure, donor, part_donor, side, bound,
           SUM(amount) AS amount, COUNT(*) AS records, SUM(more_than) AS more_than,
           SUM(almost) AS almost, SUM(about) AS about
    FROM events
    GROUP BY grouping, row_kind, group_key, measure, donor, part_donor, side, bound
)
SELECT %s, grouping, row_kind, group_key, measure, donor, part_donor, side, bound,
       ROW_NUMBER() OVER down = 1, SUM(amount) OVER down, SUM(records) OVER down,
       SUM(more_than) OVER down, SUM(almost) OVER down, SUM(about) OVER down
FROM bounds
WINDOW down AS (
    PARTITION BY grouping, row_kind, group_key, measure, donor, part_donor, side ORDER BY bound DESC
)
"""

# The rows of ``funding.selectors``' totals query in a grouping, for a threshold: for each row
# kind, group, measure, donor, part donor and side, the running sum at the lowest bound at or
# above the threshold (one index lookup each, from the ``top`` rows), "hi" less "lo"; then the
# marks of possible overlap between two records of the set placed under different counted
# records, each placed under the highest of itself and its wholes in the set (the marked records
# read by id), in the group of the one it is placed under.
_ANSWER_SQL = """
SELECT keys.row_kind, keys.group_key, keys.measure, keys.donor,
       NULLIF(keys.part_donor, '') AS part_donor,
       SUM(CASE keys.side WHEN 'hi' THEN sums.amount ELSE -sums.amount END) AS amount,
       CAST(SUM(CASE keys.side WHEN 'hi' THEN sums.records ELSE -sums.records END) AS BIGINT) AS records,
       CAST(SUM(CASE keys.side WHEN 'hi' THEN sums.more_than ELSE -sums.more_than END) AS BIGINT)
           AS more_than,
       CAST(SUM(CASE keys.side WHEN 'hi' THEN sums.almost ELSE -sums.almost END) AS BIGINT) AS almost,
       CAST(SUM(CASE keys.side WHEN 'hi' THEN sums.about ELSE -sums.about END) AS BIGINT) AS about,
       CAST(NULL AS BIGINT) AS record_id, CAST(NULL AS BIGINT) AS partner_id,
       CAST(NULL AS TEXT) AS qualifier
FROM {table} AS keys
CROSS JOIN LATERAL (
    SELECT sums.amount, sums.records, sums.more_than, sums.almost, sums.about
    FROM {table} AS sums
    WHERE sums.dimension = keys.dimension AND sums.grouping = keys.grouping
      AND sums.row_kind = keys.row_kind AND sums.group_key = keys.group_key
      AND sums.measure = keys.measure AND sums.donor = keys.donor
      AND sums.part_donor = keys.part_donor AND sums.side = keys.side AND sums.bound >= %s
    ORDER BY sums.bound LIMIT 1
) AS sums
WHERE keys.dimension = %s AND keys.grouping = %s AND keys.top AND keys.row_kind <> '{size}'
GROUP BY keys.row_kind, keys.group_key, keys.measure, keys.donor, keys.part_donor
HAVING SUM(CASE keys.side WHEN 'hi' THEN sums.records ELSE -sums.records END) > 0
UNION ALL
SELECT * FROM (
    WITH RECURSIVE
    ends (id) AS (
        SELECT marked.id FROM {funding} AS marked
        WHERE marked.id IN (
            SELECT from_fundingrecord_id FROM {overlap} UNION SELECT to_fundingrecord_id FROM {overlap}
        ) AND {marked_in_set}
    ),
    climb (id, ancestor, depth) AS (
        SELECT id, id, 0 FROM ends
        UNION ALL
        SELECT climb.id, up.parent_id, climb.depth + 1
        FROM climb JOIN {funding} AS up ON up.id = climb.ancestor
        WHERE up.parent_id IS NOT NULL AND climb.depth < %s
    ),
    placed AS (
        SELECT DISTINCT ON (climb.id) climb.id, whole.id AS rep, whole.amount AS rep_amount,
               whole.qualifier AS rep_qualifier, whole.measure, whole.donor AS rep_donor
        FROM climb JOIN {funding} AS whole ON whole.id = climb.ancestor
        WHERE {whole_in_set}
        ORDER BY climb.id, climb.depth DESC
    ),
    members AS (
        SELECT whole.id, whole.parent_id, whole.instrument_id, '' AS plain_key
        FROM {funding} AS whole WHERE whole.id IN (SELECT rep FROM placed)
    ),
    {lineage},
    keyed AS (SELECT members.id, {group_key} AS group_key FROM members)
    SELECT 'overlap', keyed.group_key, one.measure, one.rep_donor, CAST(NULL AS TEXT),
           one.rep_amount,
           CAST(CASE WHEN one.measure = other.measure AND one.rep_donor = other.rep_donor
                THEN 1 ELSE 0 END AS BIGINT),
           CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), one.rep, other.rep,
           CAST(one.rep_qualifier AS TEXT)
    FROM {overlap} AS mark
    JOIN placed AS one ON one.id = mark.from_fundingrecord_id
    JOIN placed AS other ON other.id = mark.to_fundingrecord_id
    JOIN keyed ON keyed.id = one.rep
    WHERE one.rep <> other.rep
) AS overlap_rows
"""


def _in_set(dimension: str, alias: str) -> str:
    """SQL: the record ``alias`` is in the set of the threshold (the ``%s`` it leaves)."""
    return f"{published_sql(alias)} AND {alias}.amount IS NOT NULL AND {RANGES[dimension].value(alias)} >= %s"


def store(cursor) -> None:
    """Store the rows of every range filter again (inside the rebuild's transaction)."""
    cursor.execute(f"DELETE FROM {_TABLE}")  # noqa: S608
    quote = connection.ops.quote_name
    funding = quote(_FUNDING)
    for dimension, range_ in RANGES.items():
        sql = _BUILD_SQL.format(
            lineage=LINEAGE_SQL.format(funding=funding),
            table=quote(_TABLE),
            funding=funding,
            value=range_.value("f"),
            published=published_sql("f"),
            size=SIZE,
            region_key=_group_key_sql("region", funding),
            instrument_key=_group_key_sql("instrument", funding),
        )
        cursor.execute(sql, [MAX_NESTING_DEPTH, *_QUALIFIERS, *_QUALIFIERS, dimension])


def answer_sql(dimension: str, threshold: Decimal, group_by: str | None) -> tuple[str, tuple]:
    """The rows of the totals of the set of ``dimension`` at ``threshold`` in ``group_by`` (one of
    ``GROUPINGS``), as ``funding.selectors`` computes them, from the stored rows (current or not:
    the caller checks)."""
    quote = connection.ops.quote_name
    funding = quote(_FUNDING)
    sql = _ANSWER_SQL.format(
        lineage=LINEAGE_SQL.format(funding=funding),
        table=quote(_TABLE),
        funding=funding,
        overlap=quote(_OVERLAP),
        size=SIZE,
        marked_in_set=_in_set(dimension, "marked"),
        whole_in_set=_in_set(dimension, "whole"),
        group_key=_group_key_sql(group_by, funding),
    )
    depth = MAX_NESTING_DEPTH
    return sql, (threshold, dimension, group_by or "", threshold, depth, threshold, depth)


def size_sql(dimension: str, threshold: Decimal) -> tuple[str, tuple]:
    """How many published records the set of ``dimension`` at ``threshold`` holds, from the
    stored rows (current or not: the caller checks); one index lookup."""
    sql = (
        f"SELECT COALESCE((SELECT records FROM {connection.ops.quote_name(_TABLE)} "  # noqa: S608
        "WHERE dimension = %s AND grouping = '' AND row_kind = %s AND group_key = '' "
        "AND measure = '' AND donor = '' AND part_donor = '' AND side = 'hi' AND bound >= %s "
        "ORDER BY bound LIMIT 1), 0)"
    )
    return sql, (dimension, SIZE, threshold)
