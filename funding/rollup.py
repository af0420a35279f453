"""Precomputed totals of every published funding record (PostgreSQL; docs/performance.md,
"Precomputed totals").

The overall totals and the totals by region, country, key area, instrument and year of all
published records are what the explorer without filters, the instruments list and the API's
``/funding/totals/`` show; computing them walks every record and took 0.4–0.7 s at 100 000
records. They are stored instead (``FundingTotalsRow``: the rows ``funding.selectors`` computes,
unchanged) and rebuilt after a change, so a request reads a few hundred rows by one index.

Current or not, never wrong: a trigger adds a ``FundingTotalsChange`` row in the same
transaction as any write to funding records or their links, and ``stored_rows`` answers only while
no such row is left and the rows were built by this version of the query (``DEFINITION``), in the
same query as the rows themselves. Until the rebuild that follows a commit has finished, readers
compute the totals as before. Rebuilds take a transaction-level advisory lock, so two never
interleave, and delete only the change rows they saw before they started: a change committed
during a rebuild stays for the next one, never marked as included without it. Any other set of
records (filters, one instrument) is computed per request.
"""

from __future__ import annotations

import hashlib

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections, router, transaction
from django.db.models import QuerySet

from migrationsupport import tasks
from migrationsupport.models import published_sql

from .models import (
    MAX_NESTING_DEPTH,
    FundingRecord,
    FundingTotalsChange,
    FundingTotalsRow,
    FundingTotalsState,
)
from .selectors import _TOTALS_SQL, GROUPINGS, _group_key_sql, totals_sql

# Every grouping the stored totals are kept for ("" is the overall totals).
STORED_GROUPINGS: tuple[str | None, ...] = (None, *GROUPINGS)
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
_CHANGES = FundingTotalsChange._meta.db_table
_STATE = FundingTotalsState._meta.db_table
# What the stored rows depend on besides the data: rows built from another definition (a deploy
# that changed the query, the groupings or the nesting depth) are stale.
DEFINITION = int.from_bytes(
    hashlib.sha256(
        repr(
            (
                _TOTALS_SQL,
                [_group_key_sql(group_by, "funding") for group_by in STORED_GROUPINGS],
                MAX_NESTING_DEPTH,
                published_sql("x"),
            )
        ).encode()
    ).digest()[:8],
    "big",
    signed=True,
)
# True when a write since the last rebuild, or another definition, makes the stored rows stale.
_STALE_SQL = (
    f"(EXISTS (SELECT FROM {_CHANGES}) OR NOT EXISTS "  # noqa: S608
    f"(SELECT FROM {_STATE} WHERE name = 'definition' AND value = %s))"
)


def enabled() -> bool:
    return connection.vendor == "postgresql"


def published_set() -> QuerySet[FundingRecord]:
    return FundingRecord.objects.published()


def _ids_sql(records: QuerySet[FundingRecord]) -> str:
    return str(records.order_by().values("pk").query)


def is_published_set(records: QuerySet[FundingRecord]) -> bool:
    """Whether ``records`` selects exactly every published record (the same SQL, whatever the
    joins or prefetches a page adds), the one set the totals are stored for."""
    if not enabled() or records.model is not FundingRecord:
        return False
    try:
        return _ids_sql(records) == _ids_sql(published_set())
    except EmptyResultSet:  # e.g. FundingRecord.objects.none()
        return False


def stored_rows(group_by: str | None) -> list[dict] | None:
    """The stored rows of ``group_by``, or None while they are stale. One query."""
    columns = ", ".join(_COLUMNS)
    nulls = ", ".join("NULL" for _ in _COLUMNS[1:])
    sql = (
        f"SELECT {columns} FROM {_ROWS} WHERE grouping = %s "  # noqa: S608
        f"UNION ALL SELECT 'stale', {nulls} WHERE {_STALE_SQL}"
    )
    # Where the request reads (a replica for a public page): its rows and counters replicate
    # together, so a replica answers "stale" until it has replayed the rebuild.
    with connections[router.db_for_read(FundingTotalsRow)].cursor() as cursor:
        cursor.execute(sql, [group_by or "", DEFINITION])
        rows = [dict(zip(_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    if any(row["row_kind"] == "stale" for row in rows):
        return None
    return rows


def rebuild(*, force: bool = False) -> bool:
    """Store the totals of every published record again if a change made them stale (or
    ``force``); True if it did. Safe to call from several processes at once."""
    if not enabled():
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        cursor.execute(f"SELECT {_STALE_SQL}", [DEFINITION])
        if not (cursor.fetchone()[0] or force):
            return False
        # Six totals over every record: longer than a page's statement timeout may allow.
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute(f"SELECT id FROM {_CHANGES}")  # noqa: S608
        seen = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"DELETE FROM {_ROWS}")  # noqa: S608
        columns = ", ".join(_COLUMNS)
        for group_by in STORED_GROUPINGS:
            query = totals_sql(published_set(), group_by)
            if query is None:
                continue
            sql, params = query
            cursor.execute(
                f"INSERT INTO {_ROWS} (grouping, {columns}) "  # noqa: S608
                f"SELECT %s, {columns} FROM ({sql}) AS answer",
                [group_by or "", *params],
            )
        cursor.execute(
            f"INSERT INTO {_STATE} (name, value) VALUES ('definition', %s) "  # noqa: S608
            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            [DEFINITION],
        )
        cursor.execute(f"DELETE FROM {_CHANGES} WHERE id = ANY(%s)", [seen])  # noqa: S608
    return True


def rebuild_after_commit(**_kwargs) -> None:
    """A signal receiver: rebuild once the writing transaction commits, on the task queue when
    there is one (``migrationsupport.tasks``), so the officer who saved does not wait for it;
    until then readers compute the totals. Several saves in one transaction, or while a rebuild
    is waiting, make one rebuild."""
    if enabled():
        tasks.run_after_commit(rebuild)
