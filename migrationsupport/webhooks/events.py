"""Which change of a publishable record is an event, and turning an event into deliveries.

The log of public changes (``changes.py``, written in the transaction of each change) is the one
rule of what the public could see: each of its rows for a record in the API makes an event
(``EVENTS``). Events are dispatched after the transaction commits (``on_commit``): a rolled-back
save sends nothing, and the payload is read from what was committed.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from ..models import PublicChange, PublicChangeKind, PublishableModel
from . import records
from .delivery import enqueue
from .models import Delivery, EventType, Subscription


@dataclass
class RecordEvent:
    event_type: EventType
    model: type[models.Model]
    pk: Any
    record_type: str
    record_id: str
    occurred_at: datetime.datetime = field(default_factory=timezone.now)
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    #: For a deletion: the subscriptions whose filters matched the record before it went.
    subscription_ids: list[int] | None = None


def payload(event: RecordEvent, record: dict[str, Any] | None) -> dict[str, Any]:
    """The body of every delivery of ``event`` (docs/api.md, "Webhooks")."""
    return {
        "type": f"record.{event.event_type}",
        "timestamp": event.occurred_at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "data": {
            "event_id": str(event.event_id),
            "record_type": event.record_type,
            "id": event.record_id,
            "record": record,
        },
    }


def _interested(event: RecordEvent) -> list[Subscription]:
    # A handful of rows: filtered here rather than with JSON lookups SQLite lacks (`make run`).
    return [
        subscription
        for subscription in Subscription.objects.filter(is_active=True)
        if subscription.wants(event=event.event_type, record_type=event.record_type)
    ]


def dispatch(event: RecordEvent) -> list[Delivery]:
    """One ``Delivery`` per subscription that wants ``event``, each queued (or sent) at once."""
    subscriptions = _interested(event)
    if not subscriptions:
        return []
    route = records.record_types()[event.record_type]
    if event.subscription_ids is not None:
        subscriptions = [s for s in subscriptions if s.pk in event.subscription_ids]
    else:
        subscriptions = [s for s in subscriptions if records.matches_filters(route, event.pk, s.filters)]
    if not subscriptions:
        return []
    record = None
    if event.event_type in (EventType.PUBLISHED, EventType.UPDATED):
        record = records.public_representation(route, event.pk)
        if record is None:  # not public after all: its page belongs to a draft
            return []
    body = payload(event, record)
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                subscription=subscription,
                event_id=event.event_id,
                event_type=event.event_type,
                record_type=event.record_type,
                record_id=event.record_id,
                payload=body,
            )
            for subscription in subscriptions
        ]
    )
    for delivery in deliveries:
        enqueue(delivery)
    return deliveries


def send_test_event(subscription: Subscription) -> Delivery:
    """A ``webhook.test`` delivery to ``subscription``, whatever its events (the admin's action)."""
    delivery = Delivery.objects.create(
        subscription=subscription,
        event_type=EventType.TEST,
        record_type="",
        record_id="",
        payload={
            "type": "webhook.test",
            "timestamp": timezone.now().astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
            "data": {"subscription": subscription.name},
        },
    )
    transaction.on_commit(partial(enqueue, delivery), robust=True)
    return delivery


# --- From the log of public changes ----------------------------------------------------------

#: The event each kind of public change makes (``changes.py`` decides what the public could see:
#: one rule for the change feed, the readers' pages and the webhooks). ``related`` rows (a record
#: whose representation changed with another one) and baselines make no event.
EVENTS: dict[str, EventType] = {
    PublicChangeKind.PUBLISHED: EventType.PUBLISHED,
    PublicChangeKind.CHANGED: EventType.UPDATED,
    PublicChangeKind.WITHDRAWN: EventType.UNPUBLISHED,
    PublicChangeKind.DELETED: EventType.DELETED,
}


def on_public_change(sender, row: PublicChange, instance: PublishableModel, **kwargs) -> None:
    """``changes.public_change_recorded``: the change's event, dispatched once it is committed."""
    event_type = EVENTS.get(row.kind)
    route = records.record_type_of(type(instance))
    if event_type is None or route is None:  # not in the API (a link, a page section): no event
        return
    event = RecordEvent(
        event_type=event_type,
        model=type(instance),
        pk=instance.pk,
        record_type=route.prefix,
        # A withdrawal names the record as the public knew it (``row.lookup``), not as the draft.
        record_id=row.lookup or records.public_identifier(route, instance),
        occurred_at=row.changed_at,
    )
    if event_type == EventType.DELETED:
        event.subscription_ids = getattr(instance, "_webhook_subscription_ids", [])
        if not event.subscription_ids:
            return
    transaction.on_commit(partial(dispatch, event), robust=True)


def on_pre_delete(sender, instance, **kwargs) -> None:
    """A published record about to go: the subscriptions its filters match, matched now while its
    relations are still there (the deletion's event, if the log records one, reads them)."""
    if not isinstance(instance, PublishableModel) or not instance.is_published:
        return
    route = records.record_type_of(type(instance))
    if route is None:
        return
    probe = RecordEvent(EventType.DELETED, type(instance), instance.pk, route.prefix, "")
    instance._webhook_subscription_ids = [
        subscription.pk
        for subscription in _interested(probe)
        if records.matches_filters(route, instance.pk, subscription.filters)
    ]


def connect() -> None:
    from django.db.models.signals import pre_delete

    from ..changes import public_change_recorded

    public_change_recorded.connect(on_public_change, dispatch_uid="webhooks-public-change", weak=False)
    pre_delete.connect(on_pre_delete, dispatch_uid="webhooks-pre-delete", weak=False)
