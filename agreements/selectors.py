"""Reads over agreements for the public pages."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import CharField, Exists, F, OuterRef, Prefetch, QuerySet, Value, Window
from django.db.models.functions import Coalesce, Concat, Lag
from django.utils.translation import gettext as _

from migrationsupport import asof
from migrationsupport.charts import LaneChart, LaneRow, Span, lane_chart
from migrationsupport.values import DatePrecision

from .lifecycle import OFFICIAL_ACTS, StatusPeriod, allowed_pairs, period_end, status_periods
from .models import Agreement, AgreementEvent, Document, event_order


def agreements_with_latest_event() -> QuerySet[Agreement]:
    """Published agreements ready for a list of items (``{% agreement_item %}``): current status
    and latest event's date annotated, parties prefetched; no event loaded, and no source or
    region joined: an item shows neither (a region's page built ~100 such records for nothing)."""
    return Agreement.objects.for_public().select_related(None).with_latest_event()


def agreements_with_timeline() -> QuerySet[Agreement]:
    """Published agreements ready for a list: current status annotated, source, region and
    parties joined or prefetched, and each one's published events as ``published_events``
    (oldest first), so a list of any length costs the same few queries."""
    return Agreement.objects.for_public().prefetch_related(
        Prefetch(
            "events",
            queryset=AgreementEvent.objects.for_public().in_lifecycle_order(),
            to_attr="published_events",
        )
    )


def documents_latest_first(*, relations: bool = True) -> QuerySet[Document]:
    """Published documents ready for a list, latest first and undated ones last.
    ``relations=False``: without their regions, countries and key areas, nor their sources, for a
    list that shows each by title, kind and date only (``{% document_item %}``)."""
    documents = Document.objects.for_public()
    if relations:
        documents = documents.prefetch_published("themes")
    else:
        documents = documents.prefetch_related(None).select_related(None)
    return documents.order_by(F("date").desc(nulls_last=True), "title", "pk")


def _known_from(date: datetime.date, precision: str) -> datetime.date:
    """The day after the last day a partial date may mean (the hatched stretch ends there)."""
    if precision == DatePrecision.DAY:
        return date
    return period_end(date, precision) + datetime.timedelta(days=1)


@dataclass(frozen=True)
class AgreementLane:
    agreement: Agreement
    periods: list[StatusPeriod]


@dataclass(frozen=True)
class AgreementLanes:
    lanes: list[AgreementLane]
    chart: LaneChart | None


def agreement_lanes(agreements: Iterable[Agreement], *, today: datetime.date | None = None) -> AgreementLanes:
    """Each agreement's statuses over time, for the lane chart and its table, from the published
    events already loaded as ``published_events`` (``agreements_with_timeline``): no query.

    A lane starts at the first recorded event (what came before is not stated, so nothing is
    drawn), a status whose start is known to the month or year only is hatched over that month
    or year, and an agreement with no dated event says its stated status (or "not stated")
    instead of a bar."""
    today = today or asof.today()
    lanes, rows = [], []
    for agreement in agreements:
        periods = status_periods(agreement.published_events)  # type: ignore[attr-defined]
        lanes.append(AgreementLane(agreement, periods))
        if periods:
            note = ""
        elif agreement.stated_status:
            note = _("%(status)s, as the source states, with no date") % {
                "status": agreement.current_status_label
            }
        else:
            note = str(_("Status not stated"))
        spans = [
            Span(
                style=period.family,
                label=str(period.label),
                start=period.event.date,
                start_known=_known_from(period.event.date, period.event.date_precision),
                end=period.end_event.date if period.end_event else None,
            )
            for period in periods
        ]
        rows.append(LaneRow(agreement.title, agreement.get_absolute_url(), spans, note))
    return AgreementLanes(lanes, lane_chart(rows, today=today))


def events_off_the_lifecycle() -> QuerySet[AgreementEvent]:
    """Every event (drafts included) that the lifecycle does not expect after the step before it
    in its agreement (``lifecycle.ALLOWED_NEXT``), whether or not the officer said why.

    One query: ``LAG`` over each agreement's events in ``lifecycle.order_key`` order gives the
    previous kind, and the pair "previous>kind" is compared with the expected pairs. The
    window runs over all events; conditions on the result go on the outer query (a condition
    next to the window would change which event counts as "previous")."""
    previous = Window(
        Lag("kind"),
        partition_by=[F("agreement_id")],
        order_by=[F("date").asc(), event_order().asc(), F("pk").asc()],
    )
    off = (
        AgreementEvent.objects.annotate(
            pair=Concat(Coalesce(previous, Value("")), Value(">"), F("kind"), output_field=CharField())
        )
        .exclude(pair__in=allowed_pairs())
        .values("pk")
    )
    return AgreementEvent.objects.filter(pk__in=off)


def agreements_with_gaps(queryset: QuerySet[Agreement]) -> QuerySet[Agreement]:
    """Annotate what an officer still has to record, for the admin's list (one query for the
    page, whatever its length):

    ``has_events``: any dated step (draft or published); without one the status is only the
    stated one, or not stated at all. ``unexplained_skips``: a step the lifecycle does not expect
    and no "why" recorded. ``missing_references``: an official act (signature, conclusion,
    entry into force, suspension, termination) without its CELEX number or OJ citation."""
    events = AgreementEvent.objects.filter(agreement=OuterRef("pk"))
    return queryset.annotate(
        has_events=Exists(events),
        unexplained_skips=Exists(
            events_off_the_lifecycle().filter(agreement=OuterRef("pk"), transition_note="")
        ),
        missing_references=Exists(events.filter(kind__in=OFFICIAL_ACTS, official_reference="")),
    )
