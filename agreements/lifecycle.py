"""The lifecycle of an agreement: its statuses, the steps (events) between them, and the order
the steps are allowed to come in. docs/agreement-lifecycle.md draws the machine.

The main path::

    mandate adopted → negotiations opened → concluded / initialled → signed
      → provisionally applied → in force → partially suspended / suspended → terminated

plus "not stated" (no event and no status the source states). Statements and arrangements that
take effect when adopted start at "adopted"; "operations launched" (a Frontex status agreement)
comes once the agreement applies. "Concluded" is the word sources use both for the end of
negotiations and for the EU's act of conclusion after signature, so both orders are accepted.

A source can skip steps (a press release may go from "negotiations" to "signed"): a step the
machine does not expect is refused only until the officer records why (``transition_note``).
Nothing here invents a step: the current status is the one after the latest recorded event.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from migrationsupport.values import DatePrecision

if TYPE_CHECKING:
    from migrationsupport.models import Message


class AgreementStatus(models.TextChoices):
    MANDATE_ADOPTED = "mandate_adopted", _("Negotiating mandate adopted")
    NEGOTIATING = "negotiating", _("Under negotiation")
    INITIALLED = "initialled", _("Initialled")
    CONCLUDED = "concluded", _("Concluded")
    SIGNED = "signed", _("Signed")
    PROVISIONALLY_APPLIED = "provisionally_applied", _("Provisionally applied")
    IN_FORCE = "in_force", _("In force")
    ADOPTED = "adopted", _("Adopted")
    BEING_IMPLEMENTED = "being_implemented", _("Being implemented")
    OPERATIONAL = "operational", _("Operations launched")
    ONGOING = "ongoing", _("Ongoing")
    PARTIALLY_SUSPENDED = "partially_suspended", _("Partially suspended")
    SUSPENDED = "suspended", _("Suspended")
    TERMINATED = "terminated", _("Terminated")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class EventKind(models.TextChoices):
    MANDATE_ADOPTED = "mandate_adopted", _("Negotiating mandate adopted")
    NEGOTIATIONS_OPENED = "negotiations_opened", _("Negotiations opened")
    INITIALLED = "initialled", _("Initialled")
    CONCLUDED = "concluded", _("Concluded")
    SIGNED = "signed", _("Signed")
    PROVISIONALLY_APPLIED = "provisionally_applied", _("Provisional application started")
    ADOPTED = "adopted", _("Adopted")
    ENTERED_INTO_FORCE = "entered_into_force", _("Entered into force")
    OPERATIONS_LAUNCHED = "operations_launched", _("Operations launched")
    PARTIALLY_SUSPENDED = "partially_suspended", _("Partially suspended")
    SUSPENDED = "suspended", _("Suspended")
    RESUMED = "resumed", _("Resumed")
    TERMINATED = "terminated", _("Terminated")
    WITHDRAWN = "withdrawn", _("Withdrawn")


S, K = AgreementStatus, EventKind

# The status an agreement is in after each kind of event.
STATUS_AFTER_EVENT: dict[str, str] = {
    K.MANDATE_ADOPTED: S.MANDATE_ADOPTED,
    K.NEGOTIATIONS_OPENED: S.NEGOTIATING,
    K.INITIALLED: S.INITIALLED,
    K.CONCLUDED: S.CONCLUDED,
    K.SIGNED: S.SIGNED,
    K.PROVISIONALLY_APPLIED: S.PROVISIONALLY_APPLIED,
    K.ADOPTED: S.ADOPTED,
    K.ENTERED_INTO_FORCE: S.IN_FORCE,
    K.OPERATIONS_LAUNCHED: S.OPERATIONAL,
    K.PARTIALLY_SUSPENDED: S.PARTIALLY_SUSPENDED,
    K.SUSPENDED: S.SUSPENDED,
    K.RESUMED: S.IN_FORCE,
    K.TERMINATED: S.TERMINATED,
    K.WITHDRAWN: S.WITHDRAWN,
}

# Where each kind of event sits in the lifecycle: two steps whose dates do not say which came
# first (same day, or one dated only to a month or year containing the other) are put in this order.
EVENT_ORDER: dict[str, int] = {kind: n for n, kind in enumerate(EventKind.values)}

_APPLYING = {K.OPERATIONS_LAUNCHED, K.PARTIALLY_SUSPENDED, K.SUSPENDED, K.TERMINATED, K.WITHDRAWN}

# After a status (None: no event yet), the kinds of event the machine expects next.
ALLOWED_NEXT: dict[str | None, frozenset[str]] = {
    None: frozenset(set(EventKind.values) - {K.RESUMED}),
    S.MANDATE_ADOPTED: frozenset({K.NEGOTIATIONS_OPENED, K.TERMINATED}),
    S.NEGOTIATING: frozenset({K.INITIALLED, K.CONCLUDED, K.ADOPTED, K.TERMINATED}),
    S.INITIALLED: frozenset({K.CONCLUDED, K.SIGNED, K.TERMINATED}),
    S.CONCLUDED: frozenset(
        {K.INITIALLED, K.SIGNED, K.PROVISIONALLY_APPLIED, K.ENTERED_INTO_FORCE, K.TERMINATED}
    ),
    S.SIGNED: frozenset({K.CONCLUDED, K.PROVISIONALLY_APPLIED, K.ENTERED_INTO_FORCE, K.TERMINATED}),
    S.PROVISIONALLY_APPLIED: frozenset({K.ENTERED_INTO_FORCE, *_APPLYING}),
    S.IN_FORCE: frozenset(_APPLYING),
    S.ADOPTED: frozenset(_APPLYING),
    S.OPERATIONAL: frozenset(_APPLYING - {K.OPERATIONS_LAUNCHED}),
    S.PARTIALLY_SUSPENDED: frozenset({K.SUSPENDED, K.RESUMED, K.TERMINATED, K.WITHDRAWN}),
    S.SUSPENDED: frozenset({K.PARTIALLY_SUSPENDED, K.RESUMED, K.TERMINATED, K.WITHDRAWN}),
    S.TERMINATED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

# Steps that are acts published in the Official Journal / EUR-Lex: an officer should record
# their official reference (the admin lists the ones without).
OFFICIAL_ACTS = frozenset(
    {
        K.CONCLUDED,
        K.SIGNED,
        K.PROVISIONALLY_APPLIED,
        K.ENTERED_INTO_FORCE,
        K.PARTIALLY_SUSPENDED,
        K.SUSPENDED,
        K.TERMINATED,
    }
)


def allowed_pairs() -> list[str]:
    """Every expected ``"<previous kind>><kind>"`` pair (``">kind"`` for a first event), for the
    admin's SQL check (agreements.admin)."""
    pairs = [f">{kind}" for kind in ALLOWED_NEXT[None]]
    for previous, status in STATUS_AFTER_EVENT.items():
        pairs += [f"{previous}>{kind}" for kind in ALLOWED_NEXT[status]]
    return pairs


def transition_error(previous_status: str | None, kind: str) -> Message | None:
    """Why ``kind`` does not follow ``previous_status`` (None if it does)."""
    if kind in ALLOWED_NEXT[previous_status]:
        return None
    label = EventKind(kind).label
    if previous_status is None:
        return _("“%(step)s” cannot be the first recorded step.") % {"step": label}
    expected = ", ".join(
        str(EventKind(k).label) for k in EventKind.values if k in ALLOWED_NEXT[previous_status]
    )
    return _(
        "“%(step)s” does not follow “%(status)s” in the lifecycle (expected next: %(expected)s). "
        "If the source skips steps or states them in this order, say so in “why this step does "
        "not follow”."
    ) % {
        "step": label,
        "status": AgreementStatus(previous_status).label,
        "expected": expected or _("nothing, the agreement has ended"),
    }


class Step(Protocol):
    """An event as the lifecycle reads it (read-only, so a model instance fits)."""

    @property
    def pk(self) -> Any: ...
    @property
    def kind(self) -> str: ...
    @property
    def date(self) -> Any: ...  # a datetime.date (the model field's type says "or None")
    @property
    def date_precision(self) -> str: ...


def order_key(event: Step) -> tuple[datetime.date, int, int]:
    """Events in time order: by the first day of their date (a month-only date sorts as its
    month, a year-only one as its year), then by lifecycle order, then by creation."""
    return (event.date, EVENT_ORDER[event.kind], event.pk or 0)


def period_end(date: datetime.date, precision: str) -> datetime.date:
    """The last day a partial date may mean: 31 December for a year, the month's last day."""
    if precision == DatePrecision.YEAR:
        return date.replace(month=12, day=31)
    if precision == DatePrecision.MONTH:
        following = date.replace(day=28) + datetime.timedelta(days=4)
        return following - datetime.timedelta(days=following.day)
    return date


def ordered_by_dates(earlier: Step, later: Step) -> bool:
    """Whether the dates alone put ``earlier`` before ``later``."""
    return period_end(earlier.date, earlier.date_precision) < later.date


E = TypeVar("E", bound=Step)


def in_order(events: Iterable[E]) -> list[E]:
    return sorted(events, key=order_key)


@dataclass(frozen=True)
class Check:
    """One event in its agreement's lifecycle: what it follows and whether the machine expects it."""

    event: Step
    previous_status: str | None
    error: Message | None
    tie: bool  # its order after the previous step comes from the lifecycle, not the dates


def check_sequence(events: Sequence[Step]) -> list[Check]:
    """Each event (in ``in_order`` order) checked against the status before it."""
    checks = []
    previous: Step | None = None
    for event in in_order(events):
        status = STATUS_AFTER_EVENT[previous.kind] if previous else None
        tie = previous is not None and not ordered_by_dates(previous, event)
        checks.append(Check(event, status, transition_error(status, event.kind), tie))
        previous = event
    return checks


# How the chart draws each status: a colour and a pattern per family of statuses (the CSS classes
# lane-<family> in site.css and the patterns of templates/includes/lane_chart.html), and the
# status's name written in the lane where it fits, so colour is never the only cue.
STATUS_FAMILY: dict[str, str] = {
    S.MANDATE_ADOPTED: "preparing",
    S.NEGOTIATING: "preparing",
    S.INITIALLED: "agreed",
    S.CONCLUDED: "agreed",
    S.SIGNED: "agreed",
    S.PROVISIONALLY_APPLIED: "applied",
    S.IN_FORCE: "applied",
    S.ADOPTED: "applied",
    S.BEING_IMPLEMENTED: "applied",
    S.OPERATIONAL: "applied",
    S.ONGOING: "applied",
    S.PARTIALLY_SUSPENDED: "suspended",
    S.SUSPENDED: "suspended",
    S.TERMINATED: "ended",
    S.WITHDRAWN: "ended",
}
FAMILIES: list[tuple[str, Message]] = [
    ("preparing", _("Mandate or negotiations")),
    ("agreed", _("Initialled, concluded or signed")),
    ("applied", _("Applied: provisionally, in force, adopted, operations launched")),
    ("suspended", _("Partially suspended or suspended")),
    ("ended", _("Terminated or withdrawn")),
]


class Dated(Step, Protocol):
    @property
    def transition_note(self) -> str: ...


@dataclass(frozen=True)
class StatusPeriod:
    """A stretch of an agreement's life in one status, from the event that began it to the next."""

    status: str
    event: Dated
    end_event: Dated | None
    tie: bool  # the dates do not say whether it began before the previous step

    @property
    def label(self) -> Message:
        return AgreementStatus(self.status).label

    @property
    def family(self) -> str:
        return STATUS_FAMILY[self.status]


def status_periods(events: Iterable[Dated]) -> list[StatusPeriod]:
    """The statuses an agreement went through, one period per event in time order. Nothing
    before the first recorded event is known: no period is made up for it."""
    ordered = in_order(events)
    periods = []
    for n, event in enumerate(ordered):
        following = ordered[n + 1] if n + 1 < len(ordered) else None
        tie = n > 0 and not ordered_by_dates(ordered[n - 1], event)
        periods.append(StatusPeriod(STATUS_AFTER_EVENT[event.kind], event, following, tie))
    return periods
