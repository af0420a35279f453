"""The publishing and no-lost-edits services the admin, the API and the commands share."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from funding.models import FundingRecord
from migrationsupport import services
from migrationsupport.models import Status
from tests.factories import FundingRecordFactory, RegionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(django_user_model):
    user = django_user_model.objects.create_user("erin", first_name="Erin", last_name="Editor", is_staff=True)
    user.groups.add(Group.objects.get(name="Editor"))
    return user


@pytest.fixture
def publisher(django_user_model):
    user = django_user_model.objects.create_user("paula", is_staff=True)
    user.groups.add(Group.objects.get(name="Publisher"))
    return user


def test_permissions_per_record(editor, publisher):
    draft, published = (
        FundingRecordFactory(status=Status.DRAFT),
        FundingRecordFactory(status=Status.PUBLISHED),
    )
    assert services.can_change(editor, draft) and not services.can_change(editor, published)
    assert not services.can_delete(editor, draft) and not services.can_delete(editor, published)
    assert not services.can_publish(editor, FundingRecord)
    assert services.can_change(publisher, published) and services.can_delete(publisher, published)
    assert services.can_publish(publisher, draft)
    for nobody in (None, AnonymousUser()):
        assert not services.can_change(nobody, draft) and not services.can_publish(nobody, draft)


def test_can_change_looks_at_the_stored_status_not_an_unsaved_one(editor):
    published = FundingRecordFactory(status=Status.PUBLISHED)
    published.status = Status.DRAFT  # e.g. set from a request body, not saved
    assert not services.can_change(editor, published)


def test_save_with_version_check_saves_the_current_version(editor):
    record = FundingRecordFactory(status=Status.DRAFT)
    version = record.version
    record.title = "New"
    services.save_with_version_check(instance=record, expected_version=version, user=editor, reason="Typo")
    record.refresh_from_db()
    assert (record.title, record.version) == ("New", version + 1)
    entry = record.history.latest()
    assert (entry.history_user, entry.history_change_reason) == (editor, "Typo")


def test_stale_save_is_refused_with_who_and_when_and_nothing_written(editor, publisher):
    record = FundingRecordFactory(status=Status.DRAFT, title="Base")
    stale = FundingRecord.objects.get(pk=record.pk)
    record.title, record._history_user = "Theirs", editor
    record.save()

    stale.title = "Mine"
    with pytest.raises(services.StaleVersion) as caught:
        services.save_with_version_check(instance=stale, expected_version=stale.version, user=publisher)
    error = caught.value
    assert error.current.title == "Theirs" and error.current.version == record.version
    assert error.last_change.history_user == editor
    assert error.changed_by == "Erin Editor"
    assert "Erin Editor saved this record on" in str(error)
    assert f"version {stale.version}" in str(error) and f"version {record.version}" in str(error)
    record.refresh_from_db()
    assert record.title == "Theirs"


def test_editors_cannot_change_published_records_status_or_schedule(editor):
    published = FundingRecordFactory(status=Status.PUBLISHED)
    published.title = "x"
    with pytest.raises(PermissionDenied):
        services.save_with_version_check(instance=published, expected_version=published.version, user=editor)
    draft = FundingRecordFactory(status=Status.DRAFT)
    draft.status = Status.PUBLISHED
    with pytest.raises(PermissionDenied):
        services.save_with_version_check(instance=draft, expected_version=draft.version, user=editor)
    draft.status, draft.publish_at = Status.DRAFT, timezone.now()
    with pytest.raises(PermissionDenied):
        services.save_with_version_check(instance=draft, expected_version=draft.version, user=editor)
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT and draft.publish_at is None


def test_create_record_starts_an_editors_record_as_a_draft(editor, publisher, source):
    mine = services.create_record(
        instance=FundingRecord(title="E", slug="e", source=source, status=Status.PUBLISHED), user=editor
    )
    theirs = services.create_record(
        instance=FundingRecord(title="P", slug="p", source=source, status=Status.PUBLISHED), user=publisher
    )
    assert (mine.status, theirs.status) == (Status.DRAFT, Status.PUBLISHED)
    assert mine.history.latest().history_user == editor


def test_publish_and_unpublish(publisher, editor):
    record = FundingRecordFactory(status=Status.DRAFT)
    with pytest.raises(PermissionDenied):
        services.publish(instance=record, user=editor)
    assert services.publish(instance=record, user=publisher, expected_version=record.version) is True
    assert record.is_published  # the caller's instance follows the stored row
    assert services.publish(instance=record, user=publisher) is False
    assert services.unpublish(instance=record, user=publisher) is True
    record.refresh_from_db()
    assert record.status == Status.DRAFT
    reasons = list(record.history.values_list("history_change_reason", flat=True)[:2])
    assert reasons == ["Unpublished", "Published"]


def test_publish_publishes_the_stored_record_not_unsaved_edits(publisher):
    record = FundingRecordFactory(status=Status.DRAFT, title="Stored")
    record.title = "Unsaved"
    services.publish(instance=record, user=publisher)
    record.refresh_from_db()
    assert (record.title, record.status) == ("Stored", Status.PUBLISHED)


def test_publish_refuses_a_stale_version(publisher):
    record = FundingRecordFactory(status=Status.DRAFT)
    with pytest.raises(services.StaleVersion):
        services.publish(instance=record, user=publisher, expected_version=record.version + 1)
    record.refresh_from_db()
    assert record.status == Status.DRAFT


def test_set_status_of_counts_what_changed(publisher):
    FundingRecordFactory.create_batch(2, status=Status.DRAFT)
    FundingRecordFactory(status=Status.PUBLISHED)
    changed = services.set_status_of(
        queryset=FundingRecord.objects.all(), status=Status.PUBLISHED, user=publisher
    )
    assert changed == 2
    assert not FundingRecord.objects.filter(status=Status.DRAFT).exists()


def test_publish_due_skips_locked_rows_and_future_schedules():
    now = timezone.now()
    due = FundingRecordFactory(status=Status.DRAFT, publish_at=now - datetime.timedelta(seconds=1))
    FundingRecordFactory(status=Status.DRAFT, publish_at=now + datetime.timedelta(hours=1))
    with CaptureQueriesContext(connection) as queries:
        assert services.publish_due(now=now) == {"funding.FundingRecord": 1}
    assert any("SKIP LOCKED" in q["sql"] for q in queries.captured_queries)
    due.refresh_from_db()
    assert due.is_published and due.publish_at is None
    assert services.publish_due(now=now) == {}


def test_revert_restores_fields_and_relations(editor):
    region = RegionFactory()
    record = FundingRecordFactory(status=Status.DRAFT, title="v1", regions=[region])
    v1 = record.history.latest()
    record.title = "v2"
    record.save()
    record.regions.clear()
    reverted = services.revert(instance=record, record=v1, user=editor, expected_version=record.version)
    assert reverted.title == "v1" and list(reverted.regions.all()) == [region]


def test_revert_refuses_another_records_history(editor):
    one, other = FundingRecordFactory(status=Status.DRAFT), FundingRecordFactory(status=Status.DRAFT)
    with pytest.raises(ValueError):
        services.revert(instance=one, record=other.history.latest(), user=editor)


def test_an_editor_cannot_revert_a_published_record(editor):
    record = FundingRecordFactory(status=Status.PUBLISHED)
    with pytest.raises(PermissionDenied):
        services.revert(instance=record, record=record.history.latest(), user=editor)


def test_publishable_models_are_every_record_type():
    labels = {model._meta.label for model in services.publishable_models()}
    assert {
        "funding.FundingRecord",
        "agreements.Agreement",
        "regions.Country",
        "migrationsupport.Source",
    } <= labels
    assert len(labels) == 15  # with funding.Fulfilment (a pledge followed through)
