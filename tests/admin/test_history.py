"""History: every change with who and what (many-to-many included), diffs, revert, recent changes."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from funding.models import FundingRecord
from migrationsupport.models import Status
from tests.admin.conftest import admin_url, change_data
from tests.factories import (
    AgreementFactory,
    CountryFactory,
    FundingRecordFactory,
    RegionFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db


def test_admin_change_records_fields_and_many_to_many_with_the_officer(editor, editor_client):
    record = FundingRecordFactory(status=Status.DRAFT, title="Before")
    balkans, turkiye = RegionFactory(name="Western Balkans"), RegionFactory(name="Türkiye")
    response = editor_client.post(
        admin_url(record, "change", record.pk),
        change_data(record, title="After", regions=[balkans.pk, turkiye.pk]),
    )
    assert response.status_code == 302
    latest = record.history.latest()
    assert latest.title == "After"
    assert latest.history_user == editor
    assert sorted(r.region.name for r in latest.regions.all()) == ["Türkiye", "Western Balkans"]
    assert {entry.history_user for entry in record.history.all()[:2]} == {editor}


def test_history_page_shows_field_and_relation_diffs(editor_client):
    record = FundingRecordFactory(status=Status.DRAFT, title="Old title")
    region = RegionFactory(name="North Africa")
    editor_client.post(
        admin_url(record, "change", record.pk), change_data(record, title="New title", regions=[region.pk])
    )
    response = editor_client.get(admin_url(record, "history", record.pk))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Old title" in content and "New title" in content
    assert "North Africa" in content
    assert "Erin Editor" in content
    assert content.count("Revert to this version") == record.history.count() - 1


def test_agreement_parties_changes_are_in_history():
    agreement = AgreementFactory()
    agreement.parties.add(CountryFactory(name="Belarus"))
    latest = agreement.history.latest()
    assert [p.country.name for p in latest.parties.all()] == ["Belarus"]
    delta = latest.diff_against(latest.prev_record)
    assert delta.changed_fields == ["parties"]


def test_revert_restores_content_and_relations_as_one_new_version(editor, editor_client):
    theme = ThemeFactory()
    record = FundingRecordFactory(status=Status.DRAFT, title="Original", amount=100, themes=[theme])
    original = record.history.latest()
    record.title, record.amount = "Edited", 200
    record.save()
    record.themes.clear()
    record.refresh_from_db()
    entries, version = record.history.count(), record.version

    response = editor_client.post(
        admin_url(record, "revert", record.pk, original.history_id), {"expected_version": version}
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.title, record.amount) == ("Original", 100)
    assert list(record.themes.all()) == [theme]
    assert record.version == version + 1
    assert record.status == Status.DRAFT
    assert record.history.count() == entries + 1  # the revert is one new entry, relations included
    entry = record.history.latest()
    assert entry.history_change_reason.startswith("Reverted to the version of")
    assert entry.history_user == editor
    assert [t.theme for t in entry.themes.all()] == [theme]


def test_revert_never_publishes(publisher_client):
    record = FundingRecordFactory(status=Status.PUBLISHED, title="Published text")
    published_version = record.history.latest()
    record.status, record.title = Status.DRAFT, "Draft text"
    record.save()
    publisher_client.post(
        admin_url(record, "revert", record.pk, published_version.history_id),
        {"expected_version": record.version},
    )
    record.refresh_from_db()
    assert (record.title, record.status) == ("Published text", Status.DRAFT)


def test_revert_from_a_stale_history_page_is_refused(editor_client):
    record = FundingRecordFactory(status=Status.DRAFT, title="One")
    first = record.history.latest()
    seen = record.version
    record.title = "Two"
    record.save()
    response = editor_client.post(
        admin_url(record, "revert", record.pk, first.history_id), {"expected_version": seen}, follow=True
    )
    assert "Nothing was reverted." in response.content.decode()
    record.refresh_from_db()
    assert record.title == "Two"


def test_revert_that_no_longer_validates_changes_nothing(editor_client):
    record = FundingRecordFactory(status=Status.DRAFT, slug="taken-later")
    first = record.history.latest()
    record.slug = "renamed"
    record.save()
    FundingRecordFactory(slug="taken-later")
    response = editor_client.post(
        admin_url(record, "revert", record.pk, first.history_id),
        {"expected_version": record.version},
        follow=True,
    )
    assert "cannot be restored as it is" in response.content.decode()
    record.refresh_from_db()
    assert record.slug == "renamed"


def test_simple_history_form_view_cannot_save(editor_client):
    record = FundingRecordFactory(status=Status.DRAFT, title="Keep")
    first = record.history.latest()
    url = reverse("admin:funding_fundingrecord_simple_history", args=[record.pk, first.history_id])
    response = editor_client.post(url, change_data(record, title="Sneaky"))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.title == "Keep"


# --- Recent changes --------------------------------------------------------------------------


def test_recent_changes_lists_every_model_newest_first(editor, publisher, editor_client):
    record = FundingRecordFactory(status=Status.DRAFT, title="Funding change")
    record._history_user = editor
    record.save()
    country = CountryFactory(name="Moldova")
    country._history_user = publisher
    country.save()
    response = editor_client.get(reverse("admin:recent-changes"))
    assert response.status_code == 200
    changes = response.context["changes"]
    assert changes[0].label == "Moldova" and changes[0].user_name == "Paula Publisher"
    assert any(c.label == "Funding change" and c.user_name == "Erin Editor" for c in changes)
    assert changes[0].url == admin_url(country, "history", country.pk)
    assert [c.history_date for c in changes] == sorted((c.history_date for c in changes), reverse=True)


def test_recent_changes_filters_by_user_model_and_date(editor, publisher, editor_client):
    record = FundingRecordFactory(status=Status.DRAFT)
    record._history_user = editor
    record.save()
    country = CountryFactory()
    country._history_user = publisher
    country.save()
    url = reverse("admin:recent-changes")

    by_editor = editor_client.get(url, {"user": editor.pk}).context["changes"]
    assert by_editor and {c.user_id for c in by_editor} == {editor.pk}

    funding_only = editor_client.get(url, {"model": "funding.fundingrecord"}).context["changes"]
    assert funding_only and {c.model_label for c in funding_only} == {"funding.fundingrecord"}

    today = timezone.localdate()
    assert editor_client.get(url, {"since": today, "until": today}).context["changes"]
    yesterday = today - datetime.timedelta(days=1)
    assert editor_client.get(url, {"until": yesterday}).context["changes"] == []
    bad = editor_client.get(url, {"since": today, "until": yesterday})
    assert "cannot be before" in bad.content.decode()


def test_recent_changes_cost_constant_queries(editor_client):
    url = reverse("admin:recent-changes")
    FundingRecordFactory.create_batch(2)
    editor_client.get(url)
    with CaptureQueriesContext(connection) as few:
        editor_client.get(url)
    FundingRecordFactory.create_batch(20)
    AgreementFactory.create_batch(10)
    with CaptureQueriesContext(connection) as many:
        response = editor_client.get(url)
    assert len(response.context["changes"]) == 50
    # session, user, the user's permissions (2), the officers for the filter, the count,
    # the page of the UNION, the names of its users.
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    assert FundingRecord.objects.count() == 22


def test_recent_changes_name_officers_without_their_login_names(
    make_officer, editor_client, superuser_client
):
    nameless = make_officer("login-name-7", "Publisher")
    record = FundingRecordFactory(status=Status.DRAFT)
    record._history_user = nameless
    record.save()
    url = reverse("admin:recent-changes")

    as_editor = editor_client.get(url)
    assert as_editor.context["changes"][0].user_name == f"Officer {nameless.pk}"
    assert "login-name-7" not in as_editor.content.decode()  # neither in the table nor the filter
    assert "Erin Editor" in as_editor.content.decode()  # officers with a name keep it

    as_superuser = superuser_client.get(url)
    assert as_superuser.context["changes"][0].user_name == "login-name-7"
