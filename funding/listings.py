"""Published funding records ready for a page (relations joined or prefetched), in page order."""

from __future__ import annotations

from functools import partial

from django.core.paginator import Paginator
from django.db.models import Case, F, Q, QuerySet, When

from migrationsupport import compiled
from migrationsupport.views import FIRST_ROWS

from . import rollup, snapshot
from .models import Fulfilment, FundingRecord


class SnapshotPaginator(Paginator):
    """Pages of funding records whose records are found in a snapshot (``snapshot.page_ids``)
    and read by primary key, in the list's order: every page of a combination of filters counted
    in memory (``rollup.count``), not by walking the ordered index past every record that fails
    one of the filters; every page past the first of one filter or none, not by reading every
    row before it (``OFFSET``). Any other list is cut by SQL, as Django does."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        records = self.object_list
        # The API lists its set's rows as its row plan reads them (annotated), counted from the
        # set itself (``rollup.StoredCount``): the page's records are that set's.
        counter = getattr(getattr(records, "count", None), "__self__", None)
        counted = counter.records if isinstance(counter, rollup.StoredCount) else records
        ids = snapshot.page_ids(counted, bottom, top) if isinstance(records, QuerySet) else None
        if ids is None:
            return super().page(number)
        return self._get_page(records.filter(pk__in=ids), number, self)


def _public(relations: bool) -> QuerySet[FundingRecord]:
    records = FundingRecord.objects.for_public()
    if relations:
        return records
    # A table of figures (``{% funding_row %}``) shows no region, country or key area (no query
    # per relation) and no conference: not joined, so no page builds one it does not show.
    return (
        records.prefetch_related(None).select_related(None).select_related("instrument", "parent", "source")
    )


def funding_largest_first(*, relations: bool = True) -> QuerySet[FundingRecord]:
    """Largest amount first, records without an amount last: how a page lists figures.
    ``relations=False``: without the to-many relations (regions, countries, key areas)."""
    return _public(relations).order_by(F("amount").desc(nulls_last=True), "title", "pk")


def funding_latest_first(*, relations: bool = True) -> QuerySet[FundingRecord]:
    """Latest period first (the explorer's order, and so its CSV's).
    ``relations=False``: without the to-many relations (regions, countries, key areas)."""
    return _public(relations).order_by(
        F("period_start").desc(nulls_last=True), F("amount").desc(nulls_last=True), "title", "pk"
    )


def fulfilment_links(
    record: FundingRecord, *, against: bool, limit: int = FIRST_ROWS
) -> tuple[list[Fulfilment], list[Fulfilment], bool]:
    """A record's published links, in one query: what it fulfils (every link, by the title of
    what it fulfils) and, with ``against``, the first ``limit`` links reported against it (by the
    title of what fulfils it) and whether there are more. A link never joins a record to itself
    (``fulfilment_not_itself``), so each link is in one list only. The query is kept compiled
    per process, the record's id in its place (``compiled.rows``)."""
    fulfils: list[Fulfilment] = []
    fulfilled_by: list[Fulfilment] = []
    key = ("fulfilment_links", against, limit)
    for link in compiled.rows(key, partial(_fulfilment_links, against=against, limit=limit), record.pk):
        (fulfils if link.fulfilling_id == record.pk else fulfilled_by).append(link)
    return fulfils, fulfilled_by[:limit], len(fulfilled_by) > limit


def _fulfilment_links(record_id, *, against: bool, limit: int) -> QuerySet[Fulfilment]:
    links = Fulfilment.objects.for_public()
    shown = Q(fulfilling_id=record_id)
    if against:
        first = (
            links.filter(fulfilled_id=record_id).order_by("fulfilling__title", "pk").values("pk")[: limit + 1]
        )
        # Each side of the OR on its own indexed column, so PostgreSQL reads both by their
        # indexes (a BitmapOr); ``OR pk IN (first)`` alone read every link (docs/performance.md).
        shown |= Q(fulfilled_id=record_id, pk__in=first)
    # Each list in its own order: the title of the record at the link's other end, then the link.
    other_title = Case(
        When(fulfilling_id=record_id, then=F("fulfilled__title")), default=F("fulfilling__title")
    )
    return links.filter(shown).order_by(other_title, "pk")
