"""Published funding records ready for a page (relations joined or prefetched), in page order."""

from __future__ import annotations

from django.db.models import Case, F, Q, QuerySet, When

from migrationsupport.views import FIRST_ROWS

from .models import Fulfilment, FundingRecord


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
    (``fulfilment_not_itself``), so each link is in one list only."""
    links = Fulfilment.objects.for_public()
    shown = Q(fulfilling=record)
    if against:
        first = links.filter(fulfilled=record).order_by("fulfilling__title", "pk").values("pk")[: limit + 1]
        # Each side of the OR on its own indexed column, so PostgreSQL reads both by their
        # indexes (a BitmapOr); ``OR pk IN (first)`` alone read every link (docs/performance.md).
        shown |= Q(fulfilled=record, pk__in=first)
    fulfils: list[Fulfilment] = []
    fulfilled_by: list[Fulfilment] = []
    # Each list in its own order: the title of the record at the link's other end, then the link.
    other_title = Case(When(fulfilling=record, then=F("fulfilled__title")), default=F("fulfilling__title"))
    for link in links.filter(shown).order_by(other_title, "pk"):
        (fulfils if link.fulfilling_id == record.pk else fulfilled_by).append(link)
    return fulfils, fulfilled_by[:limit], len(fulfilled_by) > limit
