"""Webhooks (migrationsupport.webhooks): publication events after commit, signed per Standard
Webhooks, checked against SSRF, retried by the real worker, paused with the owner told.

A real HTTP receiver on loopback (tests/support/webhook_receiver.py) verifies every signature with
the ``standardwebhooks`` package; loopback targets need WEBHOOKS_ALLOW_PRIVATE_TARGETS, which the
``receiver`` fixture turns on (and the SSRF tests leave off)."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from redis import Redis
from rq import Queue
from standardwebhooks import Webhook

from migrationsupport import services
from migrationsupport.models import Status
from migrationsupport.webhooks.models import Delivery, DeliveryStatus, EventType, Subscription
from migrationsupport.webhooks.targets import TargetRefused, check_target
from tests.admin.conftest import admin_url
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    PopulationFigureFactory,
    RegionFactory,
    RouteFactory,
    SourceFactory,
    ThemeFactory,
)
from tests.support.database import child_database_url
from tests.support.webhook_receiver import Receiver

BASE_DIR = Path(__file__).resolve().parents[2]
# A Redis database of its own (the task-queue tests use 14, the cache tests 15).
REDIS_URL = "redis://127.0.0.1:6379/13"
# Emptied before and after each worker test: used by this module alone, whose tests
# `make test TEST_WORKERS=2` (pytest-xdist, --dist loadfile) runs in one process, one at a time.
# The deliveries' worker, as the Makefile's `worker` target starts it.
WORKER_ARGS = ["webhooks", "--with-scheduler", "--worker-class", "rq.worker.SimpleWorker"]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.TASK_QUEUE = False
    settings.SITE_URL = "http://testserver"
    with Receiver() as running:
        yield running


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("owner", "owner@example.org", "pw", is_staff=True)


def subscribe(owner, url: str, **fields) -> Subscription:
    fields.setdefault("events", [e.value for e in EventType if e != EventType.TEST])
    fields.setdefault("record_types", ["funding"])
    fields.setdefault("name", "Mirror")
    return Subscription.objects.create(owner=owner, target_url=url, **fields)


def verified(subscription: Subscription, request) -> dict:
    """The body of a received request once its Standard Webhooks signature checks out."""
    return Webhook(subscription.secret).verify(request.body, request.headers)


# --- In process (TASK_QUEUE off, as `make run`) -------------------------------------------------


@pytest.mark.django_db
def test_publishing_posts_a_signed_payload_that_is_the_public_api_record(
    receiver, owner, client, django_capture_on_commit_callbacks
):
    subscription = subscribe(owner, receiver.url)
    record = FundingRecordFactory(status=Status.DRAFT)
    assert receiver.requests == []  # a draft's creation is no event

    with django_capture_on_commit_callbacks(execute=True):
        services.publish(instance=record, user=None)
        assert receiver.requests == []  # nothing before the commit

    (request,) = receiver.wait_for(1)
    assert request.path == "/hook"
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["content-type"] == "application/json"
    body = verified(subscription, request)
    assert body["type"] == "record.published"
    assert body["data"]["record_type"] == "funding"
    assert body["data"]["id"] == record.slug
    # The record exactly as an anonymous client reads it from the API.
    assert body["data"]["record"] == client.get(f"/api/v1/funding/{record.slug}/").json()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
    )
    assert delivery.message_id == request.headers["webhook-id"]
    # A signature made with another secret does not verify.
    with pytest.raises(Exception, match="signature"):
        Webhook(subscribe(owner, receiver.url).secret).verify(request.body, request.headers)


@pytest.mark.parametrize(
    ("record_type", "factory"),
    [
        ("regions", RegionFactory),
        ("countries", CountryFactory),
        ("routes", RouteFactory),
        ("population-figures", PopulationFigureFactory),
        ("instruments", InstrumentFactory),
        ("conferences", PledgingConferenceFactory),
        ("agreements", AgreementFactory),
        ("agreement-events", AgreementEventFactory),
        ("documents", DocumentFactory),
        ("themes", ThemeFactory),
        ("sources", SourceFactory),
    ],
)
@pytest.mark.django_db
def test_every_record_type_is_sent_as_its_api_address_answers(
    receiver, owner, client, record_type, factory, django_capture_on_commit_callbacks
):
    subscription = subscribe(owner, receiver.url, record_types=[record_type])
    record = factory(status=Status.DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        services.publish(instance=record, user=None)
    body = verified(subscription, receiver.wait_for(1)[0])
    assert body["data"]["record_type"] == record_type
    answer = client.get(f"/api/v1/{record_type}/{body['data']['id']}/")
    assert answer.status_code == 200
    assert body["data"]["record"] == answer.json()


@pytest.mark.django_db
def test_edits_unpublishing_and_deleting(receiver, owner, django_capture_on_commit_callbacks):
    subscription = subscribe(owner, receiver.url)
    draft = FundingRecordFactory(status=Status.DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        draft.title = "Edited draft"
        draft.save()
        draft.delete()
    assert receiver.requests == []  # a draft's edits and deletion are no events

    record = FundingRecordFactory()  # created published
    with django_capture_on_commit_callbacks(execute=True):
        record.title = "Edited"
        record.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.unpublish(instance=record, user=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.publish(instance=record, user=None)
    record.refresh_from_db()
    slug = record.slug
    with django_capture_on_commit_callbacks(execute=True):
        record.delete()

    bodies = [verified(subscription, request) for request in receiver.wait_for(4)]
    assert [body["type"] for body in bodies] == [
        "record.updated",
        "record.unpublished",
        "record.published",
        "record.deleted",
    ]
    assert bodies[0]["data"]["record"]["title"] == "Edited"
    # What is no longer public is named, never shown.
    assert bodies[1]["data"]["record"] is None and bodies[1]["data"]["id"] == slug
    assert bodies[3]["data"]["record"] is None and bodies[3]["data"]["id"] == slug


@pytest.mark.django_db
def test_a_change_of_relations_only_is_an_event_and_a_draft_owners_part_none(
    receiver, owner, django_capture_on_commit_callbacks
):
    subscription = subscribe(owner, receiver.url)
    record, region = FundingRecordFactory(), RegionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        record.regions.add(region)  # no save of the record itself
    (body,) = [verified(subscription, request) for request in receiver.wait_for(1)]
    assert body["type"] == "record.updated"
    assert region.slug in body["data"]["record"]["regions"]

    event = AgreementEventFactory(agreement=AgreementFactory(status=Status.DRAFT), status=Status.DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        services.publish(instance=event, user=None)  # its agreement is a draft: not public
    with django_capture_on_commit_callbacks(execute=True):
        event.delete()
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_a_rolled_back_publication_sends_nothing(receiver, owner, django_capture_on_commit_callbacks):
    subscribe(owner, receiver.url)
    record = FundingRecordFactory(status=Status.DRAFT)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                services.publish(instance=record, user=None)
                raise RuntimeError
        except RuntimeError:
            pass
    assert callbacks == []
    assert Delivery.objects.count() == 0


@pytest.mark.django_db
def test_payloads_hold_no_draft_and_only_what_the_public_api_shows(
    receiver, owner, client, admin_client, django_capture_on_commit_callbacks
):
    subscription = subscribe(owner, receiver.url)
    draft_region = RegionFactory(status=Status.DRAFT, slug="secret-draft-region")
    public_region = RegionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        record = FundingRecordFactory(regions=[draft_region, public_region])
        record.save()  # the factory sets the regions after its save: save again, as admin does
    body = verified(subscription, receiver.wait_for(1)[-1])
    payload_text = json.dumps(body)
    assert "secret-draft-region" not in payload_text
    assert body["data"]["record"]["regions"] == [public_region.slug]
    # Staff read the draft region through the API; the payload is the anonymous answer.
    staff_answer = admin_client.get(f"/api/v1/funding/{record.slug}/").json()
    assert "secret-draft-region" in json.dumps(staff_answer)
    assert body["data"]["record"] == client.get(f"/api/v1/funding/{record.slug}/").json()


@pytest.mark.django_db
def test_record_types_events_and_filters_choose_what_a_subscription_gets(
    receiver, owner, django_capture_on_commit_callbacks
):
    region = RegionFactory()
    in_region = subscribe(owner, receiver.url, filters=f"region={region.slug}", events=["published"])
    regions_only = subscribe(owner, receiver.url, record_types=["regions"])
    with django_capture_on_commit_callbacks(execute=True):
        elsewhere = FundingRecordFactory()
        inside = FundingRecordFactory(regions=[region])
    with django_capture_on_commit_callbacks(execute=True):
        inside.title = "An update"
        inside.save()  # not an event in_region asked for

    assert list(in_region.deliveries.values_list("record_id", "event_type")) == [(inside.slug, "published")]
    assert regions_only.deliveries.count() == 0
    assert elsewhere.slug not in {d.record_id for d in Delivery.objects.all()}


@pytest.mark.django_db
def test_https_targets_must_show_a_certificate_the_system_trusts_for_their_name(
    settings, owner, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.TASK_QUEUE = False
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=receiver",
            ),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)),
        ],
        check=True,
        capture_output=True,
    )
    with Receiver(certificate=str(certificate), key=str(key)) as receiver:
        subscription = subscribe(owner, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            FundingRecordFactory()  # a self-signed certificate nobody trusts
        refused = subscription.deliveries.get()
        assert refused.status == DeliveryStatus.FAILED
        assert "CERTIFICATE_VERIFY_FAILED" in refused.last_error
        assert receiver.requests == []

        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # now trusted, for 127.0.0.1
        with django_capture_on_commit_callbacks(execute=True):
            FundingRecordFactory()
        (request,) = receiver.wait_for(1)
        assert verified(subscription, request)["type"] == "record.published"


# --- SSRF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1.2.3:8000/hook",
        "http://10.0.0.1/hook",
        "http://172.16.5.4/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        "http://224.0.0.1/hook",
        "http://localhost:8000/hook",  # a name that resolves to loopback
        "ftp://93.184.215.14/hook",
        "http://user:pw@93.184.215.14/hook",
    ],
)
def test_targets_on_this_machine_or_private_networks_are_refused(settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(TargetRefused):
        check_target(url)


def test_a_public_address_is_allowed_and_the_setting_allows_private_ones(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    target = check_target("https://93.184.215.14/hooks/in?x=1")
    assert (target.scheme, target.port, target.path) == ("https", 443, "/hooks/in?x=1")
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    assert str(check_target("http://127.0.0.1:9/").addresses[0]) == "127.0.0.1"


@pytest.mark.django_db
def test_the_target_is_checked_again_when_sending(
    receiver, settings, owner, django_capture_on_commit_callbacks
):
    subscription = subscribe(owner, receiver.url)  # allowed when it was saved
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False  # ...but not when the event is sent
    with django_capture_on_commit_callbacks(execute=True):
        FundingRecordFactory()
    delivery = subscription.deliveries.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error.startswith("Refused: 127.0.0.1 resolves to an address that is not public")
    assert receiver.requests == []


@pytest.mark.django_db
def test_the_admin_refuses_a_private_target(settings, owner, client):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    owner.is_superuser = True
    owner.save()
    client.force_login(owner)
    data = {
        "name": "x",
        "target_url": "http://169.254.169.254/",
        "events": ["published"],
        "record_types": ["funding"],
    }
    response = client.post(admin_url(Subscription, "add"), data)
    assert response.status_code == 200
    assert "not public" in response.content.decode()
    assert Subscription.objects.count() == 0


# --- Pause ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_subscription_that_keeps_failing_is_paused_and_its_owner_told(
    receiver, settings, owner, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_PAUSE_AFTER_FAILURES = 2
    subscription = subscribe(owner, receiver.url)
    receiver.statuses.extend([500, 503])
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            FundingRecordFactory()
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.pause_reason == "2 deliveries in a row failed."
    assert [d.last_status_code for d in subscription.deliveries.order_by("pk")] == [500, 503]
    (message,) = mail.outbox
    assert message.to == ["owner@example.org"]
    assert "paused" in message.subject and subscription.name in message.body

    with django_capture_on_commit_callbacks(execute=True):
        FundingRecordFactory()  # paused: no delivery
    assert subscription.deliveries.count() == 2 and len(receiver.requests) == 2


@pytest.mark.django_db
def test_a_subscription_failing_for_hours_is_paused_before_the_count_is_reached(
    receiver, owner, django_capture_on_commit_callbacks
):
    subscription = subscribe(owner, receiver.url)
    Subscription.objects.filter(pk=subscription.pk).update(
        failing_since=timezone.now() - datetime.timedelta(hours=24, minutes=1)
    )
    receiver.statuses.append(500)
    with django_capture_on_commit_callbacks(execute=True):
        FundingRecordFactory()
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 1  # far from 5...
    assert not subscription.is_active  # ...but nothing has worked for a day
    assert subscription.pause_reason == "Every attempt has failed for 24 hours or more."
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_success_resets_the_failure_count(receiver, settings, owner, django_capture_on_commit_callbacks):
    settings.WEBHOOKS_PAUSE_AFTER_FAILURES = 2
    subscription = subscribe(owner, receiver.url)
    receiver.statuses.extend([500, 200, 500])
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            FundingRecordFactory()
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 1
    assert mail.outbox == []


# --- Admin ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_officers_keep_their_own_subscriptions_and_can_send_a_test_event(
    receiver, django_user_model, django_capture_on_commit_callbacks
):
    from django.contrib.auth.models import Permission
    from django.test import Client

    perms = Permission.objects.filter(
        codename__in=["add_subscription", "change_subscription", "view_subscription", "view_delivery"]
    )
    officers = []
    for name in ("ann", "bob"):
        user = django_user_model.objects.create_user(name, f"{name}@example.org", "pw", is_staff=True)
        user.user_permissions.set(perms)
        officers.append(user)
    ann, bob = officers
    client = Client()
    client.force_login(ann)
    data = {"name": "Ann's", "target_url": receiver.url, "events": ["published"], "record_types": ["funding"]}
    response = client.post(admin_url(Subscription, "add"), data)
    assert response.status_code == 302, response.content.decode()
    subscription = Subscription.objects.get()
    assert subscription.owner == ann and subscription.secret.startswith("whsec_")
    assert (
        subscription.secret in client.get(admin_url(subscription, "change", subscription.pk)).content.decode()
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            admin_url(Subscription, "changelist"),
            {"action": "send_test", "_selected_action": [subscription.pk]},
        )
    body = verified(subscription, receiver.wait_for(1)[0])
    assert body["type"] == "webhook.test"
    assert b"Ann" in client.get(admin_url(Delivery, "changelist")).content

    other = Client()
    other.force_login(bob)
    assert other.get(admin_url(subscription, "change", subscription.pk)).status_code == 302  # not bob's
    assert "Ann" not in other.get(admin_url(Delivery, "changelist")).content.decode()

    # Two subscriptions with deliveries each side: the log's filter names only one's own.
    for user, name in [(ann, "Ann's second"), (bob, "Bob's first"), (bob, "Bob's second")]:
        Delivery.objects.create(
            subscription=subscribe(user, receiver.url, name=name), event_type="test", payload={}
        )
    page = client.get(admin_url(Delivery, "changelist")).content.decode()
    assert "Ann&#x27;s second" in page and "Bob" not in page


@pytest.mark.django_db
def test_the_admin_checks_filters_against_the_api_lists(settings, owner, client):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    owner.is_superuser = True
    owner.save()
    client.force_login(owner)
    region = RegionFactory()
    data = {
        "name": "x",
        "target_url": "http://127.0.0.1:9/",
        "events": ["published"],
        "record_types": ["funding"],
    }
    for filters, error in [
        ("colour=blue", "No chosen record type has the filter colour."),
        ("region=no-such-region", "funding: region:"),
        ("iso_code=TR", "No chosen record type has the filter iso_code."),  # not one of funding's
    ]:
        response = client.post(admin_url(Subscription, "add"), {**data, "filters": filters})
        assert response.status_code == 200 and error in response.content.decode(), filters
    response = client.post(
        admin_url(Subscription, "add"), {**data, "filters": f"region={region.slug}&donor=eu"}
    )
    assert response.status_code == 302
    assert Subscription.objects.get().filters == f"region={region.slug}&donor=eu"


@pytest.mark.django_db
def test_the_delivery_log_sends_a_failed_delivery_again_with_the_same_id(
    receiver, owner, admin_client, django_capture_on_commit_callbacks
):
    subscription = subscribe(owner, receiver.url)
    receiver.statuses.append(500)
    with django_capture_on_commit_callbacks(execute=True):
        FundingRecordFactory()
    delivery = subscription.deliveries.get()
    assert delivery.status == DeliveryStatus.FAILED
    admin_client.post(
        admin_url(Delivery, "changelist"), {"action": "send_again", "_selected_action": [delivery.pk]}
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 200)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message_id


# --- The real worker (TASK_QUEUE=1) ---------------------------------------------------------------


@pytest.fixture
def queue(settings):
    settings.TASK_QUEUE = True
    settings.RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 60} for name in ("default", "webhooks")}
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    yield redis
    redis.flushdb()


def start_worker(*, retry_intervals: str) -> subprocess.Popen:
    """The deliveries' real worker as `make worker` runs it (with RQ's scheduler, which brings
    retries back)."""
    env = {
        **os.environ,
        "DATABASE_URL": child_database_url(),
        "REDIS_URL": REDIS_URL,
        "TASK_QUEUE": "1",
        "DEBUG": "0",
        "SECRET_KEY": "test-only",
        "DATABASE_REPLICA_URLS": "",
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1",
        "WEBHOOKS_RETRY_INTERVALS": retry_intervals,
        "SITE_URL": "http://testserver",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", *WORKER_ARGS],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(worker: subprocess.Popen) -> str:
    worker.terminate()
    try:
        _, errors = worker.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        _, errors = worker.communicate()
    return errors


def wait_until(predicate, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_and_retries_a_failed_attempt_with_the_same_id(
    receiver, queue, settings, django_user_model
):
    settings.WEBHOOKS_RETRY_INTERVALS = [2, 2]
    owner = django_user_model.objects.create_user("owner", "owner@example.org", "pw", is_staff=True)
    subscription = subscribe(owner, receiver.url)
    receiver.statuses.append(500)

    with transaction.atomic():
        record = FundingRecordFactory()
    # The save committed without sending: one job waits for the worker.
    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert Queue("webhooks", connection=queue).count == 1

    worker = start_worker(retry_intervals="2,2")
    try:
        delivered = wait_until(
            lambda: Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.DELIVERED).exists()
        )
    finally:
        errors = stop(worker)
    assert delivered, errors
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (2, 200, "")
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message_id
    # RQ's scheduler brought it back after the interval (2 s, scheduled to the whole second).
    assert second.at - first.at >= 1
    assert verified(subscription, first) == verified(subscription, second)
    assert verified(subscription, second)["data"]["id"] == record.slug
