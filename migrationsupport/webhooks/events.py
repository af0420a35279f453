"""Which change of a publishable record is an event, and turning an event into deliveries.

``publication_event`` is the one rule: it sees a record's status before and after a write
(``None`` for "did not exist") and names the event, if any. The signal handlers below feed it from
saves and deletes; whatever else comes to know about public changes (a change table) can feed it
the same two values. Events are dispatched after the transaction commits (``on_commit``): a
rolled-back save sends nothing, and the payload is read from what was committed.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from ..models import PublishableModel, Status
from . import records
from .delivery import enqueue
from .models import Delivery, EventType, Subscription


def publication_event(*, before: str | None, after: str | None) -> EventType | None:
    """The event a write makes, from the record's status before and after it (None: the record
    did not exist before / does not after). Only what the public could see counts: a draft's
    edits, creation or deletion are no event."""
    was_public, is_public = before == Status.PUBLISHED, after == Status.PUBLISHED
    if is_public:
        return EventType.UPDATED if was_public else EventType.PUBLISHED
    if was_public:
        return EventType.DELETED if after is None else EventType.UNPUBLISHED
    return None


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


# --- From saves and deletes ----------------------------------------------------------------


def _record_event(instance: PublishableModel, *, before: str | None, after: str | None) -> RecordEvent | None:
    event_type = publication_event(before=before, after=after)
    if event_type is None:
        return None
    route = records.record_type_of(type(instance))
    if route is None:  # not in the API (a page section): nothing to tell its consumers
        return None
    return RecordEvent(
        event_type=event_type,
        model=type(instance),
        pk=instance.pk,
        record_type=route.prefix,
        record_id=records.public_identifier(route, instance),
    )


def on_pre_save(sender, instance, raw=False, **kwargs) -> None:
    if raw or not isinstance(instance, PublishableModel):
        return
    if instance._state.adding:
        instance._status_before_save = None
    elif hasattr(instance, "_status_as_loaded"):
        instance._status_before_save = instance._status_as_loaded
    else:  # built by hand rather than loaded: ask the database
        stored = type(instance)._base_manager.filter(pk=instance.pk).values_list("status", flat=True).first()
        instance._status_before_save = stored


def on_post_save(sender, instance, created=False, raw=False, **kwargs) -> None:
    if raw or not isinstance(instance, PublishableModel):
        return
    before = None if created else getattr(instance, "_status_before_save", None)
    instance._status_as_loaded = instance.status
    event = _record_event(instance, before=before, after=instance.status)
    if event is not None:
        transaction.on_commit(partial(dispatch, event), robust=True)


def on_pre_delete(sender, instance, **kwargs) -> None:
    if not isinstance(instance, PublishableModel):
        return
    before = getattr(instance, "_status_as_loaded", instance.status)
    event = _record_event(instance, before=before, after=None)
    if event is None:
        return
    # The record is about to go: its filters are matched now, while it is still there.
    route = records.record_types()[event.record_type]
    event.subscription_ids = [
        subscription.pk
        for subscription in _interested(event)
        if records.matches_filters(route, instance.pk, subscription.filters)
    ]
    if event.subscription_ids:
        transaction.on_commit(partial(dispatch, event), robust=True)


def connect() -> None:
    from django.db.models.signals import post_save, pre_delete, pre_save

    pre_save.connect(on_pre_save, dispatch_uid="webhooks-pre-save", weak=False)
    post_save.connect(on_post_save, dispatch_uid="webhooks-post-save", weak=False)
    pre_delete.connect(on_pre_delete, dispatch_uid="webhooks-pre-delete", weak=False)
