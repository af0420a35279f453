"""Webhook subscriptions and the log of their deliveries (``migrationsupport.webhooks``)."""

from __future__ import annotations

import base64
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..exactjson import DecimalJSONDecoder, DecimalJSONEncoder


class EventType(models.TextChoices):
    PUBLISHED = "published", _("Published")
    UPDATED = "updated", _("Updated (while published)")
    UNPUBLISHED = "unpublished", _("Unpublished")
    DELETED = "deleted", _("Deleted (while published)")
    #: Sent only by the admin's "send test event" action, whatever the subscription's events.
    TEST = "test", _("Test")


#: The prefix Standard Webhooks gives a symmetric secret: ``whsec_`` + base64 of the key.
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
#: 32 random bytes: the specification asks for 24 to 64.
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class Subscription(models.Model):
    """Where and what to send: a target address, the events and record types it wants, and an
    optional filter in the API's own query syntax (``region=western-balkans&donor=eu``)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        help_text=_("Told by email when the subscription is paused."),
    )
    name = models.CharField(_("name"), max_length=100)
    target_url = models.URLField(
        _("target URL"),
        max_length=500,
        help_text=_("http or https; addresses on loopback, private or link-local networks are refused."),
    )
    events = models.JSONField(_("events"), default=list, help_text=_("The event types sent."))
    record_types = models.JSONField(
        _("record types"), default=list, help_text=_("The API's lists (funding, countries…).")
    )
    filters = models.CharField(
        _("record filters"),
        max_length=500,
        blank=True,
        help_text=_(
            "Optional: the API list's filters as a query string, e.g. region=western-balkans&donor=eu. "
            "A filter applies to the record types whose API list has it."
        ),
    )
    secret = models.CharField(_("signing secret"), max_length=100, default=new_secret, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True, editable=False)
    pause_reason = models.CharField(_("why paused"), max_length=300, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(
        _("failed deliveries in a row"), default=0, editable=False
    )
    failing_since = models.DateTimeField(
        _("failing since"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The first failed attempt since the last success."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.name

    def wants(self, *, event: str, record_type: str) -> bool:
        return self.is_active and event in self.events and record_type in self.record_types


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RETRYING = "retrying", _("Failed, will retry")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    #: Not sent: the subscription was paused or the target refused (SSRF) before the attempt.
    CANCELLED = "cancelled", _("Not sent")


class Delivery(models.Model):
    """One event for one subscription: the payload as first built (every retry sends the same
    body with the same ``webhook-id``) and what happened to it."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    #: The ``webhook-id`` header: unique per delivery, the same on every retry of it.
    message_id = models.CharField(_("webhook-id"), max_length=40, unique=True, default=new_message_id)
    #: One per event, shared by its deliveries to several subscriptions.
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, db_index=True)
    event_type = models.CharField(_("event"), max_length=20, choices=EventType.choices)
    record_type = models.CharField(_("record type"), max_length=50)
    record_id = models.CharField(_("record"), max_length=200, help_text=_("The record's API identifier."))
    # Decimals kept digit for digit, in the database and back (the body is built from it).
    payload = models.JSONField(encoder=DecimalJSONEncoder, decoder=DecimalJSONDecoder)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event_type} {self.record_type}/{self.record_id} → {self.subscription}"
