"""Say how and when (issue 17, point 5): every record page shows when it last changed in public
(drafts never move the date) and a "Cite this" block with its permanent address."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from agreements.models import Document
from migrationsupport import services
from migrationsupport.history import last_published_change, with_last_published_change
from migrationsupport.models import Status
from tests.factories import (
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    RegionFactory,
    RouteFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

JAN_2 = datetime.datetime(2025, 1, 2, 12, tzinfo=datetime.UTC)


def _date_history(record, when: datetime.datetime) -> None:
    """Move every history entry of ``record`` so far to ``when``: dates a test can state."""
    record.history.all().update(history_date=when)


def test_every_record_page_shows_last_updated_and_a_citation_with_its_permalink(client):
    region = RegionFactory(slug="r", name="A region")
    records = [
        region,
        CountryFactory(iso_code="TR", name="Türkiye", region=region),
        RouteFactory(slug="a-route"),
        AgreementFactory(slug="an-agreement"),
        DocumentFactory(slug="a-document"),
        FundingRecordFactory(slug="a-figure"),
        InstrumentFactory(slug="an-instrument"),
        PledgingConferenceFactory(slug="a-conference"),
        ThemeFactory(slug="a-theme"),
    ]
    for record in records:
        _date_history(record, JAN_2)
        path = record.get_absolute_url()
        content = client.get(path).content.decode()
        # In the site's time zone (Brussels).
        shown = 'Last updated <time datetime="2025-01-02T13:00:00+01:00">2 January 2025</time>'
        assert shown in content, path
        assert "Cite this" in content, path
        citation = content[content.index('<pre class="cite-text"') :]
        citation = citation[: citation.index("</pre>")]
        assert f"http://testserver{path}" in citation, path
        assert "Migration Support, European Commission (DG NEAR)" in citation, path
        assert "Last updated 2 January 2025" in citation, path
        assert "Accessed [day month year]" in citation, path


def test_a_draft_edit_does_not_move_the_date_and_a_publication_does(client, admin_client):
    document = DocumentFactory(slug="plan", title="The plan")
    _date_history(document, JAN_2)
    page = "/documents/plan/"
    assert "2 January 2025" in client.get(page).content.decode()

    # Unpublished and edited as a draft: a Publisher's preview shows the draft's text with the
    # date of the version the public saw, not the date of the draft edit.
    services.unpublish(instance=document, user=None)
    document.refresh_from_db()
    document.title = "The plan, redrafted"
    services.save_with_version_check(instance=document, expected_version=document.version, user=None)
    document.refresh_from_db()
    assert document.updated_at > JAN_2  # updated_at moved with the draft edit
    assert last_published_change(document) == JAN_2
    preview = admin_client.get(f"/admin/agreements/document/{document.pk}/preview/")
    assert preview.status_code == 200
    content = preview.content.decode()
    assert "The plan, redrafted" in content
    assert "Last updated <time" in content and "2 January 2025" in content

    # Published: the public sees the change from now on.
    services.publish(instance=document, user=None)
    content = client.get(page).content.decode()
    today = timezone.localdate()
    assert f'Last updated <time datetime="{today.isoformat()}' in content
    assert "2 January 2025" not in content


def test_a_record_without_history_shows_its_updated_at():
    document = DocumentFactory()
    Document.history.filter(id=document.pk).delete()
    Document.objects.filter(pk=document.pk).update(updated_at=JAN_2)
    document.refresh_from_db()
    assert last_published_change(document) == JAN_2


def test_a_record_page_reads_the_same_date_in_its_own_query():
    # The detail pages annotate the date (with_last_published_change); every other caller of
    # last_published_change runs the same SQL on its own: both give the same answer.
    dated = DocumentFactory()
    _date_history(dated, JAN_2)
    without_history = DocumentFactory()
    Document.history.filter(id=without_history.pk).delete()
    Document.objects.filter(pk=without_history.pk).update(updated_at=JAN_2)
    never_published = DocumentFactory(status=Status.DRAFT)

    annotated = {d.pk: d.last_published_change_at for d in with_last_published_change(Document.objects.all())}

    assert annotated == {dated.pk: JAN_2, without_history.pk: JAN_2, never_published.pk: None}
    for document in (dated, without_history, never_published):
        document.refresh_from_db()
        assert last_published_change(document) == annotated[document.pk]
