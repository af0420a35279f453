"""Published funding records ready for a page (relations joined or prefetched), in page order."""

from __future__ import annotations

from django.db.models import F, QuerySet

from .models import FundingRecord


def funding_largest_first() -> QuerySet[FundingRecord]:
    """Largest amount first, records without an amount last: how a page lists figures."""
    return FundingRecord.objects.for_public().order_by(F("amount").desc(nulls_last=True), "title", "pk")


def funding_latest_first() -> QuerySet[FundingRecord]:
    """Latest period first (the explorer's order, and so its CSV's)."""
    return FundingRecord.objects.for_public().order_by(
        F("period_start").desc(nulls_last=True), F("amount").desc(nulls_last=True), "title", "pk"
    )
