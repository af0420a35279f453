"""Reads over agreements for the public pages."""

from __future__ import annotations

from django.db.models import F, Prefetch, QuerySet

from .models import Agreement, AgreementEvent, Document


def agreements_with_timeline() -> QuerySet[Agreement]:
    """Published agreements ready for a list: current status annotated, source, region and
    parties joined or prefetched, and each one's published events as ``published_events``
    (oldest first), so a list of any length costs the same few queries."""
    return Agreement.objects.for_public().prefetch_related(
        Prefetch(
            "events",
            queryset=AgreementEvent.objects.for_public().order_by("date", "pk"),
            to_attr="published_events",
        )
    )


def documents_latest_first() -> QuerySet[Document]:
    """Published documents ready for a list, latest first and undated ones last."""
    return (
        Document.objects.for_public()
        .prefetch_published("themes")
        .order_by(F("date").desc(nulls_last=True), "title", "pk")
    )
