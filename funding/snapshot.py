"""The totals and sizes of sets that several funding filters select together, computed in memory
(PostgreSQL; docs/performance.md, "every combination of filters, totalled in memory").

The sets one filter selects are stored (``funding.rollup``, ``funding.ranges``), but every pair,
triple... of filters is another set, too many to store: computed by SQL they read every member
(a region and a year together: 67 000 records, 270–390 ms for the totals and 60–70 ms for the
count at +100 000). So each process keeps a ``Snapshot`` of every funding record as columns (its
parent chain, amount, measure, donor, qualifier and group keys) and, per filter and value, the
records that filter selects alone (read once, by the filter's own SQL; a threshold's, of an
amount or a year, compared with the amounts and years held, as each new threshold would read up
to every record). A combination's set is
the intersection of its filters' sets; its totals are the rows ``selectors._TOTALS_SQL`` computes
(the same row kinds, the same rules for nesting, parts and overlap marks), found with array
operations over that set: a few milliseconds for any combination.

Current or not, never wrong. A snapshot is of the data as of one rebuild of the stored totals
(``FundingTotalsState`` ``generation``, which each rebuild changes) while no write since is left
(no ``FundingTotalsChange`` row: every write to the tables the totals read adds one, and only a
rebuild removes them). Every read of a snapshot, or of a filter's records into it, first checks
that this still holds, in the same statement; if it does not, the request is answered by SQL as
before (``funding.rollup``), and the next request after the rebuild reads a new snapshot.
Amounts are added as integers of cents (two float sums of 32-bit halves, each exact below 2**53):
the sums are the database's to the cent.

Pages too (``page_ids``): a list's page is its set's records in an order of every record read
once, rather than SQL's walk past every row before it (``OFFSET``, or the ordered index until it
has met the page's records of every filter).
"""

from __future__ import annotations

import functools
import threading
import weakref
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

import numpy as np
from django.core.exceptions import EmptyResultSet, FieldError
from django.db import connections
from django.db.models import QuerySet

from migrationsupport.asof import reading_the_past
from migrationsupport.models import published_sql
from migrationsupport.values import Qualifier

from .filters import THRESHOLDS
from .models import MAX_NESTING_DEPTH, FundingRecord
from .rollup import (
    _STALE_SQL,
    _STATE,
    DEFINITION,
    GENERATION,
    WATCHED_TABLES,
    _ids_query,
    _key,
    enabled,
    tables_named,
)
from .selectors import _M2M, GROUPINGS, NOT_STATED, SEVERAL_YEARS

if TYPE_CHECKING:
    from .filters import Combination

# True when the data is as of rebuild %s and no write since is left; parameters: generation,
# DEFINITION.
_CURRENT_SQL = (
    f"EXISTS (SELECT FROM {_STATE} WHERE name = '{GENERATION}' AND value = %s) AND NOT {_STALE_SQL}"
)
#: The generation of the data while no write since is left, else no row; parameter: DEFINITION.
#: The totals' and the count's one query read it, or compute their answer, in one statement
#: (``rollup.answer_sql``, ``rollup.count``).
GENERATION_SQL = f"SELECT value FROM {_STATE} WHERE name = '{GENERATION}' AND NOT {_STALE_SQL}"  # noqa: S608
# A filter's records kept per snapshot (each 1 bit a record: 12.5 kB at 100 000 records).
MASKS_KEPT = 256
#: From this row on, a page of one filter or none reads into the snapshot what is not held yet
#: (``page_ids``): SQL's ``OFFSET`` reads every row before the page (at +100 000, the API's list:
#: 37-46 ms of SQL at row 10 000, 420-480 ms a request at the last; docs/performance.md).
DEEP_ROWS = 10_000
# Orders of the records kept per snapshot, the least recently used dropped first (8 bytes a
# record each: 0.8 MB at 100 000 records).
ORDERS_KEPT = 8
# Exact sums need each amount's cents below 2**62 and fewer than 2**21 records (each half's sum
# below 2**53); a database beyond either is answered by SQL.
_MAX_UNITS = 2**62
_MAX_RECORDS = 2**21
_HALF = 2**32
_AMOUNT_PLACES = FundingRecord._meta.get_field("amount").decimal_places
_QUALIFIER_COUNTS = (Qualifier.MORE_THAN, Qualifier.ALMOST, Qualifier.ABOUT)


class _Codes:
    """Integer codes of values as they are read, and the distinct values in code order."""

    def __init__(self) -> None:
        self.codes = array("i")
        self.found: dict = {}

    def add(self, value) -> None:
        self.codes.append(self.found.setdefault(value, len(self.found)))

    def done(self) -> tuple[np.ndarray, list]:
        return np.frombuffer(self.codes, dtype=np.int32).copy(), list(self.found)


class Snapshot:
    """Every funding record of one database as of one rebuild (``generation``), as arrays in id
    order; index ``size`` (one past the last) stands for "none". Read row by row into compact
    columns: the rows themselves (100 000 tuples of 13 objects) are never all held at once."""

    def __init__(self, generation: int, rows: Iterable[tuple], marks: list[tuple[int, int]]) -> None:
        self.generation = generation
        ids, parents, units, instruments = array("q"), array("q"), array("q"), array("q")
        starts, ends = array("i"), array("i")  # a period's first and last years (0: not stated)
        has_amount, published = bytearray(), bytearray()
        qualifier, measure, donor, year = _Codes(), _Codes(), _Codes(), _Codes()
        linked = {group_by: _Codes() for group_by in ("region", "country", "theme")}
        self.exact = True
        for row in rows:
            ids.append(row[0])
            parents.append(-1 if row[1] is None else row[1])
            has_amount.append(row[2] is not None)
            unit = 0 if row[2] is None else int(row[2].scaleb(_AMOUNT_PLACES))
            if not -_MAX_UNITS < unit < _MAX_UNITS:
                self.exact, unit = False, 0
            units.append(unit)
            qualifier.add(row[3])
            measure.add(row[4])
            donor.add(row[5])
            instruments.append(-1 if row[6] is None else row[6])
            published.append(row[7])
            year.add(_year_key(row[8], row[9]))
            starts.append(0 if row[8] is None else row[8].year)
            ends.append(0 if row[9] is None else row[9].year)
            for position, group_by in enumerate(linked, start=10):
                linked[group_by].add(row[position] or NOT_STATED)
        self.size = n = len(ids)
        self.exact = self.exact and n < _MAX_RECORDS
        self.ids = np.frombuffer(ids, dtype=np.int64).copy()
        parent_ids = np.frombuffer(parents, dtype=np.int64)
        parent = np.minimum(np.searchsorted(self.ids, parent_ids), n)
        self.parent = np.where(parent_ids == -1, n, parent)
        # ancestors[d]: each record's whole d + 1 steps up, as far as the totals query climbs.
        self.ancestors = [self.parent]
        for _ in range(MAX_NESTING_DEPTH - 1):
            self.ancestors.append(np.append(self.parent, n)[self.ancestors[-1]])
        self.has_amount = np.frombuffer(has_amount, dtype=bool).copy()
        self.units = np.frombuffer(units, dtype=np.int64).copy()
        self.high = (self.units >> 32).astype(np.float64)
        self.low = (self.units & (_HALF - 1)).astype(np.float64)
        self.qualifier, self.qualifiers = qualifier.done()
        self.measure, self.measures = measure.done()
        self.donor, self.donors = donor.done()
        self.donor_or_none = np.append(self.donor, -1)
        self.groups = {None: (np.zeros(n, np.int32), [NOT_STATED]), "year": year.done()}
        self.groups |= {group_by: codes.done() for group_by, codes in linked.items()}
        own = np.frombuffer(instruments, dtype=np.int64)
        self.published = np.frombuffer(published, dtype=bool).copy()
        self.start_year = np.frombuffer(starts, dtype=np.int32).copy()
        self.end_year = np.frombuffer(ends, dtype=np.int32).copy()
        self.groups["instrument"] = self._instrument_keys(own, self.published)
        assert set(self.groups) == {None, *GROUPINGS}
        pairs = np.array(marks, dtype=np.int64).reshape(-1, 2)
        self.mark_from, self.mark_to = (
            np.searchsorted(self.ids, pairs[:, 0]),
            np.searchsorted(self.ids, pairs[:, 1]),
        )
        self.masks: OrderedDict[str, np.ndarray] = OrderedDict()
        self.orders: OrderedDict[str, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()  # the masks and orders, for a process serving requests in threads

    def _instrument_keys(self, own: np.ndarray, published: np.ndarray) -> tuple[np.ndarray, list]:
        """A record's instrument, or its nearest published whole's (``selectors._group_key_sql``)."""
        passes_on = np.append(np.where(published, own, -1), -1)
        key = own.copy()
        for level in self.ancestors:
            key = np.where(key == -1, passes_on[level], key)
        values, codes = np.unique(key, return_inverse=True)
        return codes.astype(np.int32), [
            str(value) if value != -1 else NOT_STATED for value in values.tolist()
        ]

    def threshold_mask(self, name: str, value: Decimal) -> np.ndarray | None:
        """The published records of the threshold ``name`` (``filters.THRESHOLDS``) at
        ``value``, from the amounts and years held here, as PostgreSQL compares them: an amount
        at least (``amount_min``) or at most (``amount_max``) the value (a record with no amount:
        neither); a period ending in or after the year, or started and ongoing (``year_min``),
        or starting in or before it (``year_max``): the year as Django makes it for its lookup
        (``int()``, which drops a fraction: 2022.5 is 2022). None for another name or amounts not
        all held exactly."""
        if name in ("amount_min", "amount_max"):
            if not self.exact:
                return None
            scaled = value.scaleb(_AMOUNT_PLACES)
            if name == "amount_min":
                within = self.units >= _units(scaled.to_integral_value(ROUND_CEILING))
            else:
                within = self.units <= _units(scaled.to_integral_value(ROUND_FLOOR))
            return within & self.has_amount & self.published
        if name not in ("year_min", "year_max"):
            return None
        year = int(value)
        started = self.start_year != 0
        if name == "year_max":
            return started & (self.start_year <= year) & self.published
        ended = self.end_year != 0
        return ((ended & (self.end_year >= year)) | (~ended & started)) & self.published

    def mask_of(self, key: str) -> np.ndarray | None:
        """The records (packed bits) of the filter whose SQL ``key`` names, if read already."""
        return self._recall(self.masks, key)

    def order_of(self, key: str) -> np.ndarray | None:
        """Every record's position, in the order whose SQL ``key`` names, if read already."""
        return self._recall(self.orders, key)

    def keep_order(self, key: str, ids: list[int]) -> np.ndarray:
        """Keep the records' positions in the order ``ids`` lists them (the least recently used
        order goes past ``ORDERS_KEPT``)."""
        order = np.searchsorted(self.ids, np.array(ids, dtype=np.int64))
        self._keep(self.orders, key, order, ORDERS_KEPT)
        return order

    def _recall(self, kept: OrderedDict[str, np.ndarray], key: str) -> np.ndarray | None:
        with self.lock:
            found = kept.get(key)
            if found is not None:
                kept.move_to_end(key)
            return found

    def _keep(self, kept: OrderedDict[str, np.ndarray], key: str, value: np.ndarray, limit: int) -> None:
        with self.lock:
            kept[key] = value
            if len(kept) > limit:
                kept.popitem(last=False)

    def keep_mask(self, key: str, ids: list[int] | None) -> np.ndarray:
        """Keep the records ``ids`` as the filter ``key``'s (the least recently used go)."""
        found = np.zeros(self.size, bool)
        if ids:
            found[np.searchsorted(self.ids, np.array(ids, dtype=np.int64))] = True
        packed = np.packbits(found)
        self._keep(self.masks, key, packed, MASKS_KEPT)
        return packed

    def rows(self, chosen: np.ndarray, group_by: str | None) -> list[dict]:
        """The rows ``selectors._TOTALS_SQL`` gives for the records ``chosen``, in ``group_by``."""
        n = self.size
        member = chosen & self.has_amount
        member_or_none = np.append(member, False)
        enclosed = np.zeros(n, bool)
        for level in self.ancestors:
            enclosed |= member_or_none[level]
        enclosed &= member
        counted = member & ~enclosed
        counted_or_none = np.append(counted, False)
        rep = np.full(n, -1, dtype=np.int64)  # an enclosed member's counted whole (one at most)
        for level in self.ancestors:
            rep = np.where(counted_or_none[level] & enclosed, level, rep)
        parts = np.flatnonzero(rep >= 0)
        whole = rep[parts]
        codes, labels = self.groups[group_by]
        out: list[dict] = []

        c = np.flatnonzero(counted)
        key = self._key(codes[c], c)
        out += self._sums("total", key, c, labels, qualifiers=True)
        out += self._sums("nested", self._key(codes[whole], whole), parts, labels, qualifiers=False)
        by_narrower = (self.donor[parts] != self.donor[whole]) & (self.parent[parts] != n)
        by_narrower &= self.donor[parts] != self.donor_or_none[self.parent[parts]]
        narrower, narrower_whole = parts[by_narrower], whole[by_narrower]
        key = self._key(codes[narrower_whole], narrower_whole) * len(self.donors) + self.donor[narrower]
        out += self._sums("part", key, narrower, labels, qualifiers=True, part_donor=True)
        out += self._overlaps(counted, parts, whole, codes, labels)
        return out

    def _key(self, group_codes: np.ndarray, records: np.ndarray) -> np.ndarray:
        measures, donors = len(self.measures), len(self.donors)
        return (group_codes.astype(np.int64) * measures + self.measure[records]) * donors + self.donor[
            records
        ]

    def _sums(
        self,
        kind: str,
        key: np.ndarray,
        records: np.ndarray,
        labels: list,
        *,
        qualifiers: bool,
        part_donor=False,
    ) -> list[dict]:
        if not len(records):
            return []
        present = np.flatnonzero(np.bincount(key))
        # Each present key once, in order: its position among them, then the sums by position.
        position = np.searchsorted(present, key)
        width = len(present)
        columns = [
            np.bincount(position, minlength=width).tolist(),
            np.bincount(position, weights=self.high[records], minlength=width).tolist(),
            np.bincount(position, weights=self.low[records], minlength=width).tolist(),
        ]
        found = self.qualifier[records]
        for qualifier in _QUALIFIER_COUNTS:
            code = self.qualifiers.index(qualifier) if qualifier in self.qualifiers else -1
            wanted = qualifiers and code >= 0
            columns.append(
                np.bincount(position, weights=found == code, minlength=width).tolist() if wanted else None
            )
        donor_part = (present % len(self.donors)).tolist() if part_donor else None
        rest = present // len(self.donors) if part_donor else present
        donor, rest = (rest % len(self.donors)).tolist(), rest // len(self.donors)
        measure, group = (rest % len(self.measures)).tolist(), (rest // len(self.measures)).tolist()
        counts, high, low, more_than, almost, about = columns
        return [
            {
                "row_kind": kind,
                "group_key": labels[group[i]],
                "measure": self.measures[measure[i]],
                "donor": self.donors[donor[i]],
                "part_donor": self.donors[donor_part[i]] if donor_part is not None else None,
                "amount": Decimal(int(high[i]) * _HALF + int(low[i])).scaleb(-_AMOUNT_PLACES),
                "records": counts[i],
                "more_than": int(more_than[i]) if more_than is not None else 0,
                "almost": int(almost[i]) if almost is not None else 0,
                "about": int(about[i]) if about is not None else 0,
                "record_id": None,
                "partner_id": None,
                "qualifier": None,
            }
            for i in range(width)
        ]

    def _overlaps(self, counted, parts, whole, codes, labels) -> list[dict]:
        """One row per mark between two members placed under different counted records."""
        if not len(self.mark_from):
            return []
        placed = np.full(self.size, -1, dtype=np.int64)
        placed[counted] = np.flatnonzero(counted)
        placed[parts] = whole
        one, other = placed[self.mark_from], placed[self.mark_to]
        keep = (one >= 0) & (other >= 0) & (one != other)
        rows = []
        for a, b in zip(one[keep].tolist(), other[keep].tolist(), strict=True):
            same = self.measure[a] == self.measure[b] and self.donor[a] == self.donor[b]
            rows.append(
                {
                    "row_kind": "overlap",
                    "group_key": labels[codes[a]],
                    "measure": self.measures[self.measure[a]],
                    "donor": self.donors[self.donor[a]],
                    "part_donor": None,
                    "amount": Decimal(int(self.units[a])).scaleb(-_AMOUNT_PLACES),
                    "records": 1 if same else 0,
                    "more_than": 0,
                    "almost": 0,
                    "about": 0,
                    "record_id": int(self.ids[a]),
                    "partner_id": int(self.ids[b]),
                    "qualifier": self.qualifiers[self.qualifier[a]],
                }
            )
        return rows


def _units(whole: Decimal) -> int:
    """A whole number of cents, brought within what a snapshot holds exactly (every amount's
    units are strictly between -2**62 and 2**62), so comparing with them never overflows."""
    return max(-_MAX_UNITS, min(_MAX_UNITS, int(whole)))


def _year_key(start, end) -> str:
    """``selectors._members``' plain key in the year grouping."""
    if start is None:
        return NOT_STATED
    if end is not None and end.year == start.year:
        return str(start.year)
    return SEVERAL_YEARS


_RECORDS_SQL = (
    "SELECT record.id, record.parent_id, record.amount, record.qualifier, record.measure, "  # noqa: S608
    f"record.donor, record.instrument_id, {published_sql('record')}, record.period_start, record.period_end, "
    + ", ".join(f"{name}.key" for name in ("region", "country", "theme"))
    + f" FROM {FundingRecord._meta.db_table} AS record "
    + " ".join(
        f"LEFT JOIN (SELECT fundingrecord_id, "  # noqa: S608 - names from the models' metadata
        f"STRING_AGG(CAST({column} AS TEXT), ',' ORDER BY {column}) AS key FROM {through._meta.db_table} "
        f"GROUP BY fundingrecord_id) AS {name} ON {name}.fundingrecord_id = record.id"
        for name, (through, column, _model) in _M2M.items()
    )
    + f" WHERE {_CURRENT_SQL} ORDER BY record.id"
)


class _Snapshots:
    """The latest snapshot this process has read. One, whichever database it was read from: a
    replica where generation G is current (no change row) holds the primary's data at G, as the
    generation and the change rows replicate with the data; a request reads only the snapshot
    of the generation its own database has just said is current."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latest: Snapshot | None = None

    def at(self, database: str, generation: int) -> Snapshot | None:
        """The snapshot at ``generation`` (read now from ``database`` if this process has
        another), or None if the data has moved on, or is beyond exact sums."""
        snapshot = self.latest
        if snapshot is None or snapshot.generation != generation:
            with self.lock:
                snapshot = self.latest
                if snapshot is None or snapshot.generation != generation:
                    snapshot = _read(database, generation)
                    if snapshot is None:
                        return None
                    self.latest = snapshot
        return snapshot if snapshot.exact else None


def _read(database: str, generation: int) -> Snapshot | None:
    """The records of ``database`` as of ``generation``, or None if it is already past (each
    statement checks it: a write since leaves a change row until a rebuild changes it)."""
    marks = FundingRecord.may_overlap.through._meta.db_table
    with connections[database].cursor() as cursor:
        cursor.execute(
            f"SELECT from_fundingrecord_id, to_fundingrecord_id, {_CURRENT_SQL} FROM {marks} "  # noqa: S608
            f"UNION ALL SELECT NULL, NULL, {_CURRENT_SQL}",
            [generation, DEFINITION, generation, DEFINITION],
        )
        found = cursor.fetchall()
    if not all(row[2] for row in found):
        return None
    # Streamed from a server-side cursor where allowed (not behind PgBouncer in transaction mode:
    # ``DISABLE_SERVER_SIDE_CURSORS``): a client-side one holds every row at once, and the worker
    # kept the memory after (+59 MB of resident memory at +100 000 records, +29 MB streamed).
    with connections[database].chunked_cursor() as cursor:
        cursor.execute(_RECORDS_SQL, [generation, DEFINITION])
        read = Snapshot(
            generation, _batches(cursor), [(one, other) for one, other, _ in found if one is not None]
        )
    return read if read.size else None  # no records, or past already


def _batches(cursor, size: int = 2_000) -> Iterator[tuple]:
    while batch := cursor.fetchmany(size):
        yield from batch


_snapshots = _Snapshots()


def combination_of(records: QuerySet[FundingRecord], *, threshold_alone: bool = False) -> Combination | None:
    """The filters ``records`` is the combination of, when it is two or more of them together
    (or, with ``threshold_alone``, a threshold alone), exactly as ``FundingFilter`` left
    it, each filter reading only watched tables, on PostgreSQL and today's data; else None (no
    query).

    A threshold alone has stored rows (``funding.ranges``): its size is one of them, and so is
    each of its overall totals; but grouped, its totals are an index probe per row of the
    answer (947 for the explorer's regions, 16-25 ms at +100 000), where in memory they are a
    comparison with the amounts or years held (``rollup.answer_sql`` asks for them;
    docs/performance.md)."""
    combination = getattr(records.query, "funding_combination", None)
    if combination is None:
        return None
    alone_allowed = threshold_alone and combination.bounds[:1] not in ((), (None,))
    if len(combination.singles) < 2 and not alone_allowed:
        return None
    return _filtered_set(records)


def _filtered_set(records: QuerySet[FundingRecord]) -> Combination | None:
    """What ``FundingFilter`` left on ``records``, whatever the number of filters, when its
    records can be read into a snapshot: unchanged since, each filter (or the set itself when no
    filter is set) reading only watched tables, on PostgreSQL and today's data; else None."""
    combination = getattr(records.query, "funding_combination", None)
    if combination is None or not enabled():
        return None
    if records.model is not FundingRecord or connections[records.db].vendor != "postgresql":
        return None
    if reading_the_past():  # an as_of request reads its own schema's records, by SQL
        return None
    # A clone of the set carries the combination too: its SQL says whether it is still the set
    # (compared once per query object, ``Combination.checked``).
    query = records.query
    same = next((same for ref, same in combination.checked if ref() is query), None)
    if same is None:
        try:
            same = _ids_query(records) == combination.query
        except EmptyResultSet:
            same = False
        combination.checked.append((weakref.ref(query), same))
    if not same:
        return None
    if combination.single_queries is None:
        return None
    if not combination.singles and not tables_named(combination.query[0]) <= WATCHED_TABLES:
        return None
    return combination


def _chosen(
    records: QuerySet[FundingRecord], generation: int, combination: Combination | None, *, read: bool = True
) -> tuple[Snapshot, np.ndarray] | None:
    """The snapshot at ``generation`` and the records of ``combination`` (the filters of
    ``records``) in it, or None if the data has moved on since ``generation`` was read current
    (or, with ``read=False``, if the snapshot or a filter's records would have to be read)."""
    if combination is None:
        return None
    if read:
        snapshot = _snapshots.at(records.db, generation)
    else:  # the one held, never another read in its place
        held = _snapshots.latest
        snapshot = held if held is not None and held.generation == generation and held.exact else None
    if snapshot is None:
        return None
    members = _members(combination)
    keys = [key for key, _query, _bound in members]
    # A threshold's records from the amounts or years held (every new threshold would otherwise
    # read its records, up to every published one); every other filter's, read once.
    compared = {
        key: mask
        for key, query, bound in members
        if bound is not None and (mask := _threshold_mask(snapshot, query, bound)) is not None
    }
    packed: dict[str, np.ndarray] = {}
    for key in keys:
        if key not in compared and (mask := snapshot.mask_of(key)) is not None:
            packed[key] = mask
    missing = [(key, query) for key, query, _bound in members if key not in packed and key not in compared]
    if missing and not read:
        return None
    if missing:  # every filter's records not read yet, in one query
        columns = ", ".join(
            f"(SELECT ARRAY_AGG(ids.id) FROM ({sql}) AS ids (id))"  # noqa: S608 - the filters' own SQL
            for _key_, (sql, _params) in missing
        )
        with connections[records.db].cursor() as cursor:
            cursor.execute(
                f"SELECT {columns} WHERE {_CURRENT_SQL}",
                [*(value for _key_, (_sql, params) in missing for value in params), generation, DEFINITION],
            )
            row = cursor.fetchone()
        if row is None:  # a write or a rebuild since
            return None
        for (key, _query), ids in zip(missing, row, strict=True):
            packed[key] = snapshot.keep_mask(key, ids)
    chosen = np.ones(snapshot.size, bool)
    for key in keys:
        chosen &= (
            compared[key] if key in compared else np.unpackbits(packed[key], count=snapshot.size).view(bool)
        )
    return snapshot, chosen


def _members(combination: Combination) -> list[tuple[str, tuple[str, tuple], tuple[str, Decimal] | None]]:
    """(key, SQL and parameters, threshold or None) of each filter of ``combination``, whose
    records intersected are its set; with no filter, the set's own (every published record for
    the public; drafts too for staff)."""
    queries = combination.single_queries or [combination.query]
    bounds = combination.bounds or (None,) * len(queries)
    return [(_key(*query), query, bound) for query, bound in zip(queries, bounds, strict=True)]


def _all_held(held: Snapshot | None, combination: Combination, order_key: str) -> bool:
    """Whether the snapshot ``held`` holds the order ``order_key`` names and each filter's
    records of ``combination`` (a threshold's are compared with the amounts or years held)."""
    return (
        held is not None
        and held.order_of(order_key) is not None
        and all(
            bound is not None or held.mask_of(key) is not None for key, _query, bound in _members(combination)
        )
    )


def _threshold_mask(
    snapshot: Snapshot, query: tuple[str, tuple], bound: tuple[str, Decimal]
) -> np.ndarray | None:
    """The records of a threshold ``bound`` (filter name, value) from the snapshot's amounts or
    years, when ``query`` is exactly that threshold's SQL over the published records (else None:
    read by its SQL, as any filter)."""
    name, value = bound
    if query != _threshold_query(name, value):
        return None
    return snapshot.threshold_mask(name, value)


@functools.lru_cache(maxsize=256)
def _threshold_query(name: str, value) -> tuple[str, tuple]:
    """The SQL of a threshold's records over the published ones: the same for the same threshold
    and value in this process (it names no moment), compiled once. Today's records only: a request
    reading the past never gets here (``_filtered_set``)."""
    return _ids_query(THRESHOLDS[name](FundingRecord.objects.published(), value))


def combination_rows(
    records: QuerySet[FundingRecord], group_by: str | None, generation: int
) -> list[dict] | None:
    """The totals' rows of a combination of filters (``selectors._TOTALS_SQL``'s) at
    ``generation``, or None if the data has moved on since."""
    # A threshold alone only comes here when its grouped totals were asked for in memory.
    found = _chosen(records, generation, combination_of(records, threshold_alone=True))
    return None if found is None else found[0].rows(found[1], group_by)


def combination_size(records: QuerySet[FundingRecord], generation: int) -> int | None:
    """How many records a combination of filters selects at ``generation``, or None."""
    found = _chosen(records, generation, combination_of(records, threshold_alone=True))
    return None if found is None else int(np.count_nonzero(found[1]))


def counted(records: QuerySet[FundingRecord], generation: int | None) -> None:
    """Note that the combination ``records`` was counted in memory at ``generation`` (its pages
    follow), or by SQL (None: its pages are cut by SQL too)."""
    combination = combination_of(records)
    if combination is not None:
        combination.counted_at[:] = [] if generation is None else [generation]


def page_ids(records: QuerySet[FundingRecord], bottom: int, top: int) -> list[int] | None:
    """The ids of the records from ``bottom`` to ``top`` in ``records``' order, from a snapshot:
    for a combination counted in memory in this request (``counted``), from the same snapshot;
    for a set of one filter or none, past its first page, from the snapshot of the generation
    current now (one query), read into it from ``DEEP_ROWS`` on (before, only if all of it is
    held already). The order of every record is read once per ordering (by the ordering's own
    SQL, under the same condition as the rest), and the page is the set's records in it. As
    fresh as the count (a write between the two is the race any count then page has): for a
    combination, no query here once the filters' records and the order are read. None when that
    is not so: the page is then cut by SQL (``ORDER BY … LIMIT`` walks the ordered index until it
    has met the page's records of every filter: the rarer the combination, the further;
    ``OFFSET`` reads every row before the page)."""
    combination = getattr(records.query, "funding_combination", None)
    if combination is None:
        return None
    several = len(combination.singles) >= 2
    if several and not combination.counted_at:
        return None  # counted by SQL: the data moved on
    if not several and not bottom:
        # The first page of one filter or none: SQL's ``LIMIT`` reads as few rows as it needs.
        return None
    if _filtered_set(records) is None or not records.query.order_by:
        return None  # not a set of the filters' alone, or no order to follow
    try:
        ordered = FundingRecord._base_manager.order_by(*records.query.order_by).values("pk")
        sql, params = ordered.query.sql_with_params()
    except (EmptyResultSet, FieldError):
        return None
    if not tables_named(sql) <= WATCHED_TABLES:
        return None  # an order that reads tables whose writes are not watched
    key = _key(sql, params)
    # What is not held yet (the snapshot, the set's records, the order: up to 1.5 s at +100 000,
    # once per process and rebuild) is read for a combination, and for a page at ``DEEP_ROWS``
    # or past it, whose SQL costs more than a page of the first ones; a page before it is cut
    # by SQL unless all of it is held (docs/performance.md).
    read = several or bottom >= DEEP_ROWS
    if several:
        generation = combination.counted_at[0]
    else:
        if not read and not _all_held(_snapshots.latest, combination, key):
            return None  # cut by SQL, no query spent
        with connections[records.db].cursor() as cursor:
            cursor.execute(GENERATION_SQL, [DEFINITION])
            row = cursor.fetchone()
        if row is None:  # a write since the last rebuild
            return None
        generation = row[0]
    found = _chosen(records, generation, combination, read=read)
    if found is None:
        return None
    snapshot, chosen = found
    order = snapshot.order_of(key)
    if order is None and not read:
        return None
    if order is None:
        with connections[records.db].cursor() as cursor:
            cursor.execute(
                f"SELECT ARRAY({sql}) WHERE {_CURRENT_SQL}",
                [*params, generation, DEFINITION],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        order = snapshot.keep_order(key, row[0])
    return snapshot.ids[order[np.flatnonzero(chosen[order])[bottom:top]]].tolist()
