"""Precomputed totals of every published funding record (PostgreSQL; docs/performance.md,
"Precomputed totals").

The overall totals and the totals by region, country, key area, instrument and year of all
published records are what the explorer without filters, the instruments list and the API's
``/funding/totals/`` show; computing them walks every record and took 0.4–0.7 s at 100 000
records. They are stored instead (``FundingTotalsRow``: the rows ``funding.selectors`` computes,
unchanged) and rebuilt after a change, so a request reads a few hundred rows by one index.

Current or not, never wrong: a trigger raises ``FundingTotalsState.changed`` in the same
transaction as any write to funding records or their links, and ``stored_rows`` answers only
while ``refreshed`` has caught up with it. Until the rebuild that follows a commit has finished,
readers compute the totals themselves as before. Rebuilds take a transaction-level advisory lock,
so two never interleave, and each records the ``changed`` value it read before it started: a
change committed during a rebuild leaves the totals stale for the next one, never marked
current without it. Any other set of records (filters, one instrument) is computed per request.
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections, router, transaction
from django.db.models import QuerySet

from .models import FundingRecord, FundingTotalsRow, FundingTotalsState
from .selectors import GROUPINGS, totals_sql

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
_STATE = FundingTotalsState._meta.db_table
# True when a write since the last rebuild makes the stored totals stale (no row yet: stale).
_STALE_SQL = (
    f"COALESCE((SELECT value FROM {_STATE} WHERE name = 'changed'), 0) "  # noqa: S608
    f"> COALESCE((SELECT value FROM {_STATE} WHERE name = 'refreshed'), -1)"
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
        cursor.execute(sql, [group_by or ""])
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
        cursor.execute(f"SELECT {_STALE_SQL}")
        if not (cursor.fetchone()[0] or force):
            return False
        cursor.execute(f"SELECT COALESCE((SELECT value FROM {_STATE} WHERE name = 'changed'), 0)")  # noqa: S608
        changed = cursor.fetchone()[0]
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
            f"INSERT INTO {_STATE} (name, value) VALUES ('refreshed', %s) "  # noqa: S608
            f"ON CONFLICT (name) DO UPDATE SET value = GREATEST({_STATE}.value, EXCLUDED.value)",
            [changed],
        )
    return True


def rebuild_after_commit(**_kwargs) -> None:
    """A signal receiver: rebuild once the writing transaction commits, so the next reader finds
    the totals current (several saves in one transaction: the first callback rebuilds, the
    others find nothing stale)."""
    if enabled():
        transaction.on_commit(rebuild)
