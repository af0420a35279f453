"""Publishing: who and when in history, previews of drafts, drafts hidden from the public, schedules."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import strip_tags

from agreements.models import Agreement, Document
from funding.models import FundingRecord, Instrument
from migrationsupport.models import Status, Theme
from regions.models import Country, Region
from tests.admin.conftest import admin_url, change_data
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PageSectionFactory,
    PopulationFigureFactory,
    RegionFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db


def test_publish_button_records_who_and_when(publisher, publisher_client):
    record = FundingRecordFactory(status=Status.DRAFT)
    before = timezone.now()
    response = publisher_client.post(
        admin_url(record, "publish", record.pk), {"expected_version": record.version}
    )
    assert response.status_code == 302
    entry = record.history.latest()
    assert entry.status == Status.PUBLISHED
    assert entry.history_change_reason == "Published"
    assert entry.history_user == publisher
    assert entry.history_date >= before


def test_bulk_actions_record_each_record_in_history(publisher, publisher_client):
    drafts = FundingRecordFactory.create_batch(3, status=Status.DRAFT)
    already = FundingRecordFactory(status=Status.PUBLISHED)
    url = admin_url(FundingRecord, "changelist")
    response = publisher_client.post(
        url,
        {"action": "publish_selected", "_selected_action": [r.pk for r in [*drafts, already]]},
        follow=True,
    )
    assert "Published 3 records." in response.content.decode()
    for record in drafts:
        entry = record.history.latest()
        assert (entry.status, entry.history_change_reason, entry.history_user) == (
            Status.PUBLISHED,
            "Published",
            publisher,
        )
    assert already.history.count() == 1  # nothing to do, no new entry

    publisher_client.post(url, {"action": "unpublish_selected", "_selected_action": [drafts[0].pk]})
    entry = drafts[0].history.latest()
    assert (entry.status, entry.history_change_reason) == (Status.DRAFT, "Unpublished")


def test_publish_button_refuses_a_stale_page(publisher_client):
    record = FundingRecordFactory(status=Status.DRAFT)
    seen = record.version
    record.title = "Changed meanwhile"
    record.save()
    response = publisher_client.post(
        admin_url(record, "publish", record.pk), {"expected_version": seen}, follow=True
    )
    assert "while you were editing it" in response.content.decode()
    record.refresh_from_db()
    assert record.status == Status.DRAFT


def test_change_form_offers_preview_and_publish_to_publishers(publisher_client, editor_client):
    record = FundingRecordFactory(status=Status.DRAFT)
    content = publisher_client.get(admin_url(record, "change", record.pk)).content.decode()
    assert admin_url(record, "preview", record.pk) in content
    assert admin_url(record, "publish", record.pk) in content
    assert "Draft: only officers see this record." in content
    content = editor_client.get(admin_url(record, "change", record.pk)).content.decode()
    assert admin_url(record, "preview", record.pk) in content
    assert admin_url(record, "publish", record.pk) not in content


def test_status_is_never_a_form_field(publisher_client):
    record = FundingRecordFactory(status=Status.DRAFT)
    form = publisher_client.get(admin_url(record, "change", record.pk)).context["adminform"].form
    assert "status" not in form.fields
    assert "expected_version" in form.fields


# --- Preview -----------------------------------------------------------------------------


def test_preview_shows_a_draft_on_its_public_page_and_writes_nothing(editor_client):
    record = FundingRecordFactory(status=Status.DRAFT, title="Secret package")
    version, history = record.version, record.history.count()
    response = editor_client.get(admin_url(record, "preview", record.pk))
    assert response.status_code == 200
    assert "Secret package" in response.content.decode()
    assert response.context["preview"]["record"] == record
    assert response.context["preview"]["is_draft"] is True
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"].startswith("noindex")
    record.refresh_from_db()
    assert (record.status, record.version, record.history.count()) == (Status.DRAFT, version, history)
    # The public still gets a 404.
    assert Client().get(record.get_absolute_url()).status_code == 404


def test_preview_of_a_record_shown_on_another_page(editor_client):
    section = PageSectionFactory(status=Status.DRAFT, title="Draft introduction", body="<p>Hello draft</p>")
    response = editor_client.get(admin_url(section, "preview", section.pk))
    assert response.status_code == 200
    assert "Hello draft" in response.content.decode()
    assert response.context["preview"]["fragment"] == section.slug


def test_preview_of_a_record_on_the_page_of_a_draft(editor_client):
    """An event of a draft agreement is previewed on the agreement's page, shown as published."""
    agreement = AgreementFactory(status=Status.DRAFT, title="Draft arrangement")
    event = AgreementEventFactory(status=Status.DRAFT, agreement=agreement, description="signed in Ankara")
    response = editor_client.get(admin_url(event, "preview", event.pk))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Draft arrangement" in content and "signed in Ankara" in content
    assert f'id="event-{event.pk}"' in content
    assert response.context["preview"]["draft_owner"] == agreement
    assert "the page it is shown on, is a draft too" in content
    agreement.refresh_from_db()
    event.refresh_from_db()
    assert (agreement.status, event.status) == (Status.DRAFT, Status.DRAFT)
    assert Client().get(agreement.get_absolute_url()).status_code == 404


def test_preview_of_a_draft_figure_on_a_published_page(editor_client):
    figure = PopulationFigureFactory(status=Status.DRAFT, group="refugees from nowhere in particular")
    response = editor_client.get(admin_url(figure, "preview", figure.pk))
    assert response.status_code == 200
    assert "refugees from nowhere in particular" in response.content.decode()
    assert response.context["preview"]["draft_owner"] is None
    assert "is a draft too" not in response.content.decode()


def test_no_preview_for_a_record_without_a_page(editor_client, source):
    assert editor_client.get(admin_url(source, "preview", source.pk)).status_code == 404


def test_a_draft_offers_its_preview_instead_of_view_on_site(editor_client):
    draft = FundingRecordFactory(status=Status.DRAFT)
    response = editor_client.get(admin_url(draft, "change", draft.pk))
    assert not response.context["has_absolute_url"]
    assert response.context["preview_url"] == admin_url(draft, "preview", draft.pk)
    published = FundingRecordFactory(status=Status.PUBLISHED)
    response = editor_client.get(admin_url(published, "change", published.pk))
    assert response.context["has_absolute_url"]
    assert admin_url(published, "preview", published.pk) not in response.content.decode()


def test_preview_banner_marks_the_page():
    record = FundingRecord(title="T", slug="t")
    html = render_to_string(
        "includes/preview_banner.html",
        {"preview": {"record": record, "is_draft": True, "admin_url": "/admin/x/", "fragment": ""}},
    )
    assert "data-preview-banner" in html and "Preview of a draft" in html and 'href="/admin/x/"' in html
    assert render_to_string("includes/preview_banner.html", {}).strip() == ""


# --- Drafts never reach the public ---------------------------------------------------------

DETAIL_FACTORIES = [
    (FundingRecord, FundingRecordFactory),
    (Agreement, AgreementFactory),
    (Country, CountryFactory),
    (Region, RegionFactory),
    (Instrument, InstrumentFactory),
    (Document, DocumentFactory),
    (Theme, ThemeFactory),
]


@pytest.mark.parametrize(("model", "factory"), DETAIL_FACTORIES, ids=lambda v: getattr(v, "__name__", ""))
def test_public_detail_pages_answer_404_for_drafts(client, model, factory):
    draft, published = factory(status=Status.DRAFT), factory(status=Status.PUBLISHED)
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(published.get_absolute_url()).status_code == 200


def test_drafts_are_not_in_the_public_csv_export(client):
    FundingRecordFactory(status=Status.DRAFT, title="Hidden draft")
    FundingRecordFactory(status=Status.PUBLISHED, title="Public figure")
    response = client.get(reverse("funding:export-csv"))
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert "Public figure" in content.decode()
    assert "Hidden draft" not in content.decode()


def test_drafts_are_not_in_public_search(client):
    try:
        url = reverse("search")
    except NoReverseMatch:
        pytest.skip("no search page")
    FundingRecordFactory(status=Status.DRAFT, title="Zanzibar draft")
    FundingRecordFactory(status=Status.PUBLISHED, title="Zanzibar public")
    content = strip_tags(client.get(url, {"q": "Zanzibar"}).content.decode())  # matches are <mark>ed
    assert "Zanzibar public" in content
    assert "Zanzibar draft" not in content


def test_draft_page_sections_are_not_on_the_overview(client):
    PageSectionFactory(status=Status.DRAFT, body="<p>Unreleased words</p>")
    PageSectionFactory(status=Status.PUBLISHED, body="<p>Released words</p>")
    content = client.get(reverse("home")).content.decode()
    assert "Released words" in content and "Unreleased words" not in content


# --- Scheduled publishing --------------------------------------------------------------------


def test_publish_due_publishes_what_is_due_once():
    now = timezone.now()
    due = FundingRecordFactory(status=Status.DRAFT, publish_at=now - datetime.timedelta(minutes=1))
    due_section = PageSectionFactory(status=Status.DRAFT, publish_at=now - datetime.timedelta(days=1))
    later = FundingRecordFactory(status=Status.DRAFT, publish_at=now + datetime.timedelta(days=1))
    unscheduled = FundingRecordFactory(status=Status.DRAFT)

    out = StringIO()
    call_command("publish_due", stdout=out)
    assert "Published 1 funding.FundingRecord record." in out.getvalue()
    assert "Published 1 migrationsupport.PageSection record." in out.getvalue()

    for record in (due, due_section, later, unscheduled):
        record.refresh_from_db()
    assert due.is_published and due_section.is_published
    assert due.publish_at is None  # the schedule is used up: an unpublish later sticks
    assert not later.is_published and later.publish_at is not None
    assert not unscheduled.is_published
    entry = due.history.latest()
    assert (entry.history_change_reason, entry.history_user) == ("Published (scheduled)", None)

    # Running again changes nothing (cron may overlap or repeat).
    history = due.history.count()
    out = StringIO()
    call_command("publish_due", stdout=out)
    assert out.getvalue() == ""
    assert due.history.count() == history


def test_unpublishing_cancels_a_schedule(publisher_client):
    record = FundingRecordFactory(
        status=Status.DRAFT, publish_at=timezone.now() + datetime.timedelta(hours=1)
    )
    publisher_client.post(admin_url(record, "unpublish", record.pk), {"expected_version": record.version})
    record.refresh_from_db()
    assert record.publish_at is None and record.status == Status.DRAFT


def test_scheduled_draft_shows_as_scheduled_in_the_changelist(publisher_client):
    FundingRecordFactory(status=Status.DRAFT, publish_at=timezone.now() + datetime.timedelta(days=2))
    content = publisher_client.get(admin_url(FundingRecord, "changelist")).content.decode()
    assert 'class="status-badge status-scheduled"' in content


def test_changelist_shows_status_badge_and_last_editor(publisher, publisher_client):
    record = FundingRecordFactory(status=Status.DRAFT, title="Edited one")
    publisher_client.post(admin_url(record, "publish", record.pk), {"expected_version": record.version})
    response = publisher_client.get(admin_url(FundingRecord, "changelist"))
    content = response.content.decode()
    assert 'class="status-badge status-published"' in content
    assert "Paula Publisher" in content


def test_an_editors_change_cancels_a_schedule(editor_client):
    record = FundingRecordFactory(
        status=Status.DRAFT, publish_at=timezone.now() + datetime.timedelta(hours=1)
    )
    response = editor_client.post(
        admin_url(record, "change", record.pk), change_data(record, title="Unreviewed"), follow=True
    )
    assert "scheduled publication was cancelled" in response.content.decode()
    record.refresh_from_db()
    assert record.title == "Unreviewed" and record.publish_at is None
    assert record.history.latest().history_change_reason.endswith("scheduled publication cancelled")
    call_command("publish_due", stdout=StringIO())
    record.refresh_from_db()
    assert record.status == Status.DRAFT
