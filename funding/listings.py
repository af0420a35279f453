"""Published funding records ready for a page (relations joined or prefetched), in page order."""

from __future__ import annotations

from django.db.models import F, QuerySet

from .models import FundingRecord


def _public(relations: bool) -> QuerySet[FundingRecord]:
    records = FundingRecord.objects.for_public()
    # A table of figures (includes/funding_table.html) shows no region, country or key area:
    # without them, no query per relation.
    return records if relations else records.prefetch_related(None)


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
