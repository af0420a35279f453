"""Sending one delivery: sign it (Standard Webhooks), POST it to the checked address, record the
attempt, retry or give up, and pause a subscription that keeps failing.

Retries are RQ's (``Retry`` with ``WEBHOOKS_RETRY_INTERVALS``, brought back by the scheduler of
the ``webhooks`` queue's worker, ``make worker``): a failed attempt that may be retried raises
``DeliveryFailed`` so RQ schedules the next one. Every attempt sends the same body with the same
``webhook-id`` and a fresh ``webhook-timestamp`` and signature. The ``Delivery`` row is the record
of truth: an attempt reads it first and does nothing for a delivery already delivered, given up or
cancelled.

Without the queue (``TASK_QUEUE`` off, ``make run``) the attempt runs in the web process once the
transaction commits, and once only: a failure is recorded and the admin's "send again" repeats it.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

import urllib3
from django.conf import settings
from django.core.mail import send_mail
from django.db import close_old_connections, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from rq import get_current_job
from standardwebhooks import Webhook

from .. import exactjson, tasks
from .models import Delivery, DeliveryStatus, Subscription
from .targets import Target, TargetRefused, check_target

logger = logging.getLogger(__name__)

#: The RQ queue of deliveries: its worker runs each job in its own process, without forking one
#: per job (``rq.worker.SimpleWorker``), since a delivery is short and a fork of the site's process
#: took longer than the delivery (docs/performance.md).
QUEUE = "webhooks"
#: At most this much of a receiver's answer is read (and the start of it kept as the error).
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "MigrationSupport-Webhooks/1"


class DeliveryFailed(Exception):
    """An attempt failed and another will follow (RQ's retry)."""


def body_of(payload: dict[str, Any]) -> str:
    """Compact JSON with sorted keys, every decimal as stored (``exactjson``)."""
    return exactjson.dumps(payload, sort_keys=True).decode()


def signed_headers(*, secret: str, message_id: str, body: str, now: datetime.datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``, signed with ``secret`` at ``now``."""
    now = now.astimezone(datetime.UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }


def send(target: Target, *, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST ``body`` to ``target`` at the address that was checked (not a second look-up), with
    the URL's host name as Host and TLS server name; no redirect followed, timeouts, the answer
    read up to ``MAX_RESPONSE_BYTES``. Returns the status and the start of the answer."""
    default_port = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    headers = {
        **headers,
        "Host": host if target.port == default_port else f"{host}:{target.port}",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    timeout = urllib3.Timeout(connect=settings.WEBHOOKS_CONNECT_TIMEOUT, read=settings.WEBHOOKS_READ_TIMEOUT)
    last_error: Exception | None = None
    for address in target.addresses:
        pool: urllib3.HTTPConnectionPool
        if target.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                str(address),
                target.port,
                timeout=timeout,
                retries=False,
                maxsize=1,
                cert_reqs="CERT_REQUIRED",
                server_hostname=target.host,
                assert_hostname=target.host,
            )
        else:
            pool = urllib3.HTTPConnectionPool(
                str(address), target.port, timeout=timeout, retries=False, maxsize=1
            )
        try:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:
            last_error = exc  # the next address the name resolved to, if any
            pool.close()
            continue
        try:
            answer = response.read(MAX_RESPONSE_BYTES, decode_content=False)
        finally:
            response.release_conn()
            pool.close()
        return response.status, answer
    assert last_error is not None
    raise last_error


def max_attempts() -> int:
    return len(settings.WEBHOOKS_RETRY_INTERVALS) + 1 if tasks.queued() else 1


def enqueue(delivery: Delivery) -> None:
    tasks.enqueue_each(attempt, delivery.pk, retry_intervals=settings.WEBHOOKS_RETRY_INTERVALS, queue=QUEUE)


def attempt(delivery_id: int) -> None:
    """One attempt at a delivery: what the worker runs (``DeliveryFailed`` asks RQ to retry)."""
    if get_current_job() is not None:  # in the worker, which lives on between jobs as a web process does
        close_old_connections()
    delivery = Delivery.objects.select_related("subscription__owner").filter(pk=delivery_id).first()
    if delivery is None or delivery.status not in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING):
        return
    subscription = delivery.subscription
    if not subscription.is_active:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.CANCELLED, last_error="Not sent: the subscription is paused."
        )
        return
    now = timezone.now()
    body = body_of(delivery.payload)
    status_code: int | None = None
    try:
        target = check_target(subscription.target_url)
        headers = signed_headers(
            secret=subscription.secret, message_id=delivery.message_id, body=body, now=now
        )
        status_code, answer = send(target, body=body.encode(), headers=headers)
        error = (
            "" if 200 <= status_code < 300 else f"HTTP {status_code}: {answer[:500].decode(errors='replace')}"
        )
    except TargetRefused as exc:
        error = f"Refused: {exc}"
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"

    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = status_code
    delivery.last_error = error
    if not error:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.save()
        Subscription.objects.filter(pk=subscription.pk).update(consecutive_failures=0, failing_since=None)
        return
    will_retry = delivery.attempts < max_attempts()
    delivery.status = DeliveryStatus.RETRYING if will_retry else DeliveryStatus.FAILED
    delivery.save()
    record_failure(subscription, delivery_failed=not will_retry, now=now)
    if will_retry:
        raise DeliveryFailed(f"Delivery {delivery.pk}, attempt {delivery.attempts}: {error}")


def record_failure(subscription: Subscription, *, delivery_failed: bool, now: datetime.datetime) -> None:
    """Count a failed attempt against the subscription and pause it when it keeps failing:
    ``WEBHOOKS_PAUSE_AFTER_FAILURES`` deliveries in a row given up, or failures with no success
    for ``WEBHOOKS_PAUSE_AFTER_HOURS``."""
    Subscription.objects.filter(pk=subscription.pk).update(
        consecutive_failures=F("consecutive_failures") + (1 if delivery_failed else 0),
        failing_since=Coalesce(F("failing_since"), now),
    )
    subscription.refresh_from_db(fields=["consecutive_failures", "failing_since", "is_active"])
    assert subscription.failing_since is not None
    hours = settings.WEBHOOKS_PAUSE_AFTER_HOURS
    if subscription.consecutive_failures >= settings.WEBHOOKS_PAUSE_AFTER_FAILURES:
        reason = f"{subscription.consecutive_failures} deliveries in a row failed."
    elif now - subscription.failing_since >= datetime.timedelta(hours=hours):
        reason = f"Every attempt has failed for {hours} hours or more."
    else:
        return
    pause(subscription, reason=reason, now=now)


def pause(subscription: Subscription, *, reason: str, now: datetime.datetime) -> bool:
    """Pause the subscription and tell its owner by email, once (an already paused one is left)."""
    with transaction.atomic():
        paused = Subscription.objects.filter(pk=subscription.pk, is_active=True).update(
            is_active=False, paused_at=now, pause_reason=reason
        )
    if not paused:
        return False
    owner = subscription.owner
    logger.warning("Webhook subscription %s paused: %s", subscription.pk, reason)
    if owner.email:
        try:
            send_mail(
                subject=f"Webhook subscription paused: {subscription.name}",
                message=(
                    f"Your webhook subscription “{subscription.name}” ({subscription.target_url}) "
                    f"has been paused: {reason}\n\nNo events are sent to it until you resume it in "
                    "the admin (Webhook subscriptions, action “Resume”). Its delivery log there "
                    "shows the errors."
                ),
                from_email=None,
                recipient_list=[owner.email],
            )
        except Exception:  # the pause stands and shows in the admin; the mail is logged
            logger.exception("Could not tell %s that subscription %s is paused", owner.email, subscription.pk)
    return True


def resume(subscription: Subscription) -> None:
    Subscription.objects.filter(pk=subscription.pk).update(
        is_active=True, paused_at=None, pause_reason="", consecutive_failures=0, failing_since=None
    )
