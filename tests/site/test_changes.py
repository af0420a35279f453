"""What readers see of the changes: each record's "Changes", the "What changed" page and its
filters, the Atom feeds and their links in the page heads. Only published changes, only public
fields, values as a person reads them, no officer's name unless the site is set to show it."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.core.management import call_command

from migrationsupport import services
from migrationsupport.models import PublicChange, Status
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    FundingRecordFactory,
    InstrumentFactory,
    RegionFactory,
    SourceFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


def edit(record, *, user=None, note: str = "", **values):
    for name, value in values.items():
        setattr(record, name, value)
    if note:
        record._public_change_note = note
    services.save_with_version_check(instance=record, expected_version=record.version, user=user)


@pytest.fixture
def officer(django_user_model):
    return django_user_model.objects.create_superuser(
        "jdoe", "jdoe@example.org", "pw", first_name="Jane", last_name="Officer"
    )


def test_a_record_page_lists_its_published_changes_old_to_new_with_the_public_note(client, officer):
    region = RegionFactory(name="Western Balkans")
    other = RegionFactory(name="Eastern Partnership")
    record = FundingRecordFactory(
        title="Border support", amount=Decimal("47000000"), regions=[region], instrument=InstrumentFactory()
    )
    edit(
        record,
        user=officer,
        note="Amount corrected to match the source",
        amount=Decimal("60000000"),
        measure="pledged",
        period_start=datetime.date(2023, 6, 1),
        period_start_precision="month",
        publish_at=None,
    )
    record.regions.add(other)
    page = client.get(record.get_absolute_url()).content.decode()
    changes = page[page.index('id="record-changes-title"') :]
    assert "Amount corrected to match the source" in changes
    assert "Pledged" in changes  # a choice by its label
    assert "June 2023" in changes and "1 June 2023" not in changes  # a month-only date stays so
    assert "Eastern Partnership, Western Balkans" in changes  # many-to-many as names
    assert "Jane" not in changes and "jdoe" not in changes  # no officer's name by default
    for hidden in ("Version", "Publish at", "Status", "Updated at"):
        assert f">{hidden}<" not in changes


def test_officer_names_show_only_when_the_site_is_set_to_show_them(client, officer, settings):
    record = FundingRecordFactory()
    edit(record, user=officer, title="Renamed")
    settings.SHOW_OFFICER_NAMES = True
    page = client.get(record.get_absolute_url()).content.decode()
    assert "by Jane Officer" in page and "jdoe" not in page


def test_draft_edits_and_history_reasons_never_reach_readers(client, officer):
    record = FundingRecordFactory(title="Visible title")
    services.unpublish(instance=record, user=officer)
    record.refresh_from_db()
    edit(record, user=officer, title="Draft-only wording")
    edit(record, user=officer, title="Second draft wording")
    services.publish(instance=record, user=officer)
    page = client.get(record.get_absolute_url()).content.decode()
    assert "Draft-only wording" not in page
    kinds = list(
        PublicChange.objects.filter(object_id=record.pk, history_id__isnull=False)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["published", "withdrawn", "published"]  # the draft edits are no public change
    # The republication shows what changed since the public last saw it.
    assert "Visible title" in page and "Second draft wording" in page
    # A related record that is a draft is named by no one.
    draft_region = RegionFactory(name="Secret region", status=Status.DRAFT)
    record.refresh_from_db()
    record.regions.add(draft_region)
    assert "Secret region" not in client.get(record.get_absolute_url()).content.decode()


def test_the_what_changed_page_lists_changes_and_filters_them(client):
    region, elsewhere = RegionFactory(name="Sahel"), RegionFactory(name="Elsewhere")
    country = CountryFactory(region=region, name="Niger", iso_code="NE")
    instrument = InstrumentFactory(name="NDICI")
    in_region = FundingRecordFactory(title="Sahel programme", regions=[region], instrument=instrument)
    FundingRecordFactory(title="Other programme", regions=[elsewhere])
    agreement = AgreementFactory(title="Niger arrangement", parties=[country])
    edit(in_region, title="Sahel programme, renamed")
    page = client.get("/changes/").content.decode()
    assert "Sahel programme, renamed" in page and "Other programme" in page
    by_region = client.get("/changes/", {"region": region.slug}).content.decode()
    assert "Sahel programme, renamed" in by_region and "Other programme" not in by_region
    assert "Niger arrangement" in by_region  # a party in the region
    by_country = client.get("/changes/", {"country": "ne"}).content.decode()
    assert "Niger arrangement" in by_country and "Sahel programme" not in by_country
    by_instrument = client.get("/changes/", {"instrument": instrument.slug}).content.decode()
    assert "Sahel programme" in by_instrument and "Niger arrangement" not in by_instrument
    by_type = client.get("/changes/", {"type": "agreement"}).content.decode()
    assert "Niger arrangement" in by_type and "Sahel programme" not in by_type
    assert agreement.get_absolute_url() in by_type  # entries link to the record's page


@pytest.mark.parametrize("query", [{"region": "no-such-region"}, {"country": "ZZ"}, {"type": "nothing"}])
def test_an_unknown_filter_value_on_what_changed_is_a_400(client, query):
    assert client.get("/changes/", query).status_code == 400


def test_a_draft_region_is_no_filter_and_has_no_feed(client):
    draft = RegionFactory(status=Status.DRAFT)
    assert client.get("/changes/", {"region": draft.slug}).status_code == 400
    assert client.get(f"/changes/feed/region/{draft.slug}/").status_code == 404


def test_withdrawn_and_deleted_records_show_as_such_without_a_link(client):
    record = FundingRecordFactory(title="Short-lived figure")
    services.unpublish(instance=record, user=None)
    page = client.get("/changes/").content.decode()
    assert "Withdrawn" in page
    assert record.get_absolute_url() not in page


def test_atom_feeds_list_changes_link_to_record_pages_and_are_linked_from_pages(client):
    region = RegionFactory(name="Sahel", slug="sahel")
    country = CountryFactory(region=region, iso_code="NE")
    instrument = InstrumentFactory(slug="ndici")
    agreement = AgreementFactory(slug="ne-arrangement", parties=[country])
    AgreementEventFactory(agreement=agreement)
    record = FundingRecordFactory(title="Sahel programme", regions=[region], instrument=instrument)
    edit(record, title="Sahel programme, renamed", note="Renamed as the source does")
    FundingRecordFactory(title="Draft thing", status=Status.DRAFT, regions=[region])
    for path in (
        "/changes/feed/",
        "/changes/feed/region/sahel/",
        "/changes/feed/country/ne/",
        "/changes/feed/instrument/ndici/",
        "/changes/feed/agreement/ne-arrangement/",
    ):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer["Content-Type"].startswith("application/atom+xml")
        feed = ElementTree.fromstring(answer.content)
        entries = feed.findall(f"{ATOM}entry")
        assert entries, path
        text = answer.content.decode()
        assert "Draft thing" not in text
    feed = ElementTree.fromstring(client.get("/changes/feed/instrument/ndici/").content)
    titles = [entry.findtext(f"{ATOM}title") for entry in feed.findall(f"{ATOM}entry")]
    assert any("Sahel programme, renamed" in title for title in titles)
    links = [entry.find(f"{ATOM}link").get("href") for entry in feed.findall(f"{ATOM}entry")]
    assert any(link.endswith(record.get_absolute_url()) for link in links)
    assert "Renamed as the source does" in client.get("/changes/feed/").content.decode()
    for page, feed_path in (
        (region.get_absolute_url(), "/changes/feed/region/sahel/"),
        (country.get_absolute_url(), "/changes/feed/country/NE/"),
        (instrument.get_absolute_url(), "/changes/feed/instrument/ndici/"),
        (agreement.get_absolute_url(), "/changes/feed/agreement/ne-arrangement/"),
    ):
        head = client.get(page).content.decode().split("</head>")[0]
        alternates = re.findall(
            r'<link rel="alternate" type="application/atom\+xml"[^>]*href="([^"]+)"', head
        )
        assert alternates == ["/changes/feed/", feed_path], page


def test_an_agreement_page_lists_the_changes_of_its_events(client):
    agreement = AgreementFactory()
    event = AgreementEventFactory(agreement=agreement)
    edit(event, description="Operations launched in Skopje")
    page = client.get(agreement.get_absolute_url()).content.decode()
    assert "Operations launched in Skopje" in page[page.index('id="record-changes-title"') :]


def test_what_changed_and_its_feed_cost_the_same_queries_at_any_size(client, django_assert_max_num_queries):
    """One query for the page's rows (and one to count them on the page), then a fixed number
    per record type in the page, never per change: its history entries, their many-to-many
    entries (one per relation), the names of related records (one per related type), the
    records' addresses (one, with their prefetches). The option lists of the page's filter form."""
    source = SourceFactory()
    region = RegionFactory(slug="r", source=source)
    theme = ThemeFactory(source=source)
    records = []
    for n in range(3):
        record = FundingRecordFactory(regions=[region], themes=[theme], source=source)
        edit(record, title=f"Renamed {n}")
        record.regions.add(RegionFactory(source=source))
        records.append(record)

    def count(path):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured.captured_queries)

    paths = ("/changes/", "/changes/?region=r", "/changes/feed/", "/changes/feed/region/r/")
    small = {path: count(path) for path in paths}
    call_command("generate_demo_data", funding=120, verbosity=0)
    for record in list(region.funding_records.filter(slug__startswith="synthetic-")[:60]):
        edit(record, title=f"{record.title} (edited)")
        record.themes.add(theme)
    for record in records:  # changes with fields old → new among them
        record.refresh_from_db()
        edit(record, title=f"{record.title} again")
    large = {path: count(path) for path in paths}
    # The small pages hold more record types (regions, key areas, sources beside the funding) and
    # so a few more queries; 300 times the data adds none.
    assert all(large[path] <= small[path] for path in paths), (small, large)
    assert max(small.values()) <= 20


def test_history_entries_read_in_one_query_hold_what_the_orm_reads(officer):
    """``describe`` reads the history entries of every type in one query, as JSON: each column it
    diffs must come back as the ORM reads it (a decimal to the cent past float precision, a
    partial date and its precision, a boolean, a link to a draft record), for every record type."""
    from migrationsupport.changes import _diffed_columns, _Renderer, history_model_of
    from tests.factories import (
        DocumentFactory,
        FulfilmentFactory,
        PageSectionFactory,
        PledgingConferenceFactory,
        PopulationFigureFactory,
        RouteFigureFactory,
    )

    RouteFigureFactory()
    pledge = FundingRecordFactory(measure="pledged", conference=PledgingConferenceFactory())
    FulfilmentFactory(fulfilled=pledge, fulfilling=FundingRecordFactory())
    for factory in (
        PageSectionFactory,
        ThemeFactory,
        CountryFactory,
        PopulationFigureFactory,
        DocumentFactory,
    ):
        factory()
    AgreementEventFactory(agreement=AgreementFactory())
    record = FundingRecordFactory(amount=Decimal("47000000"), instrument=InstrumentFactory())
    edit(
        record,
        user=officer,
        amount=Decimal("99999999999999.99"),  # 16 digits: no float holds them
        period_start=datetime.date(2024, 10, 1),
        period_start_precision="month",
        instrument=InstrumentFactory(status=Status.DRAFT),
    )
    models = [model for model in services.publishable_models() if model.objects.for_public().exists()]
    assert len(models) == len(services.publishable_models())
    for model in models:
        for published in model.objects.for_public():
            edit(published, user=officer)  # a second entry of every record
    for model in models:
        history = history_model_of(model)._default_manager
        ids = set(history.values_list("history_id", flat=True))
        read = _Renderer().load_entries({model: ids})
        assert len(read) == len(ids), model
        for entry in history.filter(history_id__in=ids):
            mine = read[(model._meta.label_lower, entry.history_id)]
            for field in _diffed_columns(model):
                assert getattr(mine, field.attname) == getattr(entry, field.attname), (model, field.name)
                assert type(getattr(mine, field.attname)) is type(getattr(entry, field.attname)), (
                    model,
                    field.name,
                )
