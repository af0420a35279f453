"""No answer grows with the data (issue 16, point 1): every page that lists records shows a bounded
first part (and links to the paged list or the explorer for the rest), so its size and its number
of rows are the same with 120 or 240 records of each kind linked to the same region, country, key
area, instrument and conference. Query counts are checked in ``test_query_budgets.py``; this
checks what a request sends back.
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Sequence
from decimal import Decimal

import pytest
from django.contrib.sitemaps import Sitemap
from django.db.models import Model

from agreements.models import Agreement, AgreementEvent, Document, EventKind
from funding.models import FundingRecord, Instrument, PledgingConference
from migrationsupport.models import Status
from migrationsupport.urls import SITEMAPS
from tests.factories import (
    CountryFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    RegionFactory,
    RouteFactory,
    SourceFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

SMALL, LARGE = 120, 240  # both past every list's cut: 25 first rows, 50 a page

PAGES = [
    "/",
    "/regions/",
    "/regions/r/",
    "/countries/",
    "/countries/tr/",
    "/routes/",
    "/routes/route-r/",
    "/themes/",
    "/themes/t/",
    "/instruments/",
    "/instruments/i/",
    "/conferences/",
    "/conferences/c/",
    "/funding/",
    "/funding/?region=r",
    "/agreements/",
    "/agreements/timeline/",
    "/documents/",
    "/documents/?route=route-r",
    "/search/?q=bulk",
    "/search/?q=bulk&type=funding",
    "/api/v1/funding/",
    "/api/v1/agreements/",
    "/api/v1/documents/",
    "/api/v1/funding/totals/?group_by=region",
]
ROW = re.compile(rb"<tr\b|<li\b|\"slug\":")
_numbers = itertools.count()


@pytest.fixture
def links():
    region = RegionFactory(slug="r", name="Bulk region")
    country = CountryFactory(iso_code="TR", name="Bulk country", region=region)
    route = RouteFactory(slug="route-r")
    route.regions.add(region)
    route.countries.add(country)
    return {
        "region": region,
        "country": country,
        "theme": ThemeFactory(slug="t"),
        "instrument": InstrumentFactory(slug="i"),
        "conference": PledgingConferenceFactory(slug="c"),
        "route": route,
        "source": SourceFactory(),
    }


def add_records(links, count: int) -> None:
    """``count`` funding records, agreements (each with a dated step) and documents, all linked to
    the same region, country and key area (funding also to the instrument and conference)."""
    source = links["source"]
    n = [next(_numbers) for _ in range(count)]
    records = FundingRecord.objects.bulk_create(
        FundingRecord(
            title=f"Bulk funding {i}",
            slug=f"bulk-funding-{i}",
            amount=Decimal(1_000_000 + i),
            measure="committed",
            instrument=links["instrument"],
            conference=links["conference"],
            source=source,
            status=Status.PUBLISHED,
        )
        for i in n
    )
    agreements = Agreement.objects.bulk_create(
        Agreement(
            title=f"Bulk agreement {i}",
            slug=f"bulk-agreement-{i}",
            region=links["region"],
            source=source,
            status=Status.PUBLISHED,
        )
        for i in n
    )
    AgreementEvent.objects.bulk_create(
        AgreementEvent(
            agreement=agreement,
            kind=EventKind.SIGNED,
            date=datetime.date(2020, 1 + i % 12, 1),
            date_precision="month",
            source=source,
            status=Status.PUBLISHED,
        )
        for i, agreement in zip(n, agreements, strict=True)
    )
    documents = Document.objects.bulk_create(
        Document(
            title=f"Bulk document {i}", slug=f"bulk-document-{i}", source=source, status=Status.PUBLISHED
        )
        for i in n
    )
    conferences = PledgingConference.objects.bulk_create(
        PledgingConference(
            name=f"Bulk conference {i}",
            slug=f"bulk-conference-{i}",
            date=datetime.date(2020, 1 + i % 12, 1),
            date_precision="month",
            source=source,
            status=Status.PUBLISHED,
        )
        for i in n
    )
    instruments = Instrument.objects.bulk_create(
        Instrument(
            name=f"Bulk instrument {i}", slug=f"bulk-instrument-{i}", source=source, status=Status.PUBLISHED
        )
        for i in n
    )
    region, country, theme = links["region"], links["country"], links["theme"]
    pairs: list[tuple[type[Model], str, str, Model, Sequence[Model]]] = [
        (PledgingConference.regions.through, "pledgingconference_id", "region_id", region, conferences),
        (Instrument.regions.through, "instrument_id", "region_id", region, instruments),
        (FundingRecord.regions.through, "fundingrecord_id", "region_id", region, records),
        (FundingRecord.countries.through, "fundingrecord_id", "country_id", country, records),
        (FundingRecord.themes.through, "fundingrecord_id", "theme_id", theme, records),
        (Agreement.parties.through, "agreement_id", "country_id", country, agreements),
        (Agreement.themes.through, "agreement_id", "theme_id", theme, agreements),
        (Document.regions.through, "document_id", "region_id", region, documents),
        (Document.countries.through, "document_id", "country_id", country, documents),
        (Document.themes.through, "document_id", "theme_id", theme, documents),
        (Document.routes.through, "document_id", "route_id", links["route"], documents),
    ]
    for through, own, other, target, objects in pairs:
        through._default_manager.bulk_create(through(**{own: obj.pk, other: target.pk}) for obj in objects)


#: The filter forms' lists of reference records to choose from (every published region, country,
#: key area and financing instrument: the EU has a handful of instruments per budget period), not
#: records a page lists: left out of the sizes. Any other list of choices is measured.
SELECT = re.compile(rb'<select name="(?:region|country|theme|instrument)".*?</select>', re.DOTALL)


def measure(client) -> dict[str, tuple[int, int]]:
    """Each page's (bytes, rows): table rows, list items and records of JSON answers."""
    sizes = {}
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        body = SELECT.sub(b"", response.content)
        sizes[path] = (len(body), len(ROW.findall(body)))
    return sizes


def test_no_page_grows_with_the_records_it_lists(client, links):
    add_records(links, SMALL)
    small = measure(client)
    add_records(links, LARGE - SMALL)
    large = measure(client)
    grown = {
        path: (small[path], large[path])
        for path in PAGES
        # The rows are the same; the bytes only differ by counts and numbers ("240 records").
        if large[path][1] != small[path][1] or large[path][0] > small[path][0] * 1.02 + 100
    }
    assert not grown, grown
    # What is cut is linked to the paged list or the explorer with all of it.
    assert b"/funding/?instrument=i" in client.get("/instruments/i/").content
    assert b"/funding/?conference=c" in client.get("/conferences/c/").content
    theme_page = client.get("/themes/t/").content
    for link in (b"/funding/?theme=t", b"/agreements/?theme=t", b"/documents/?theme=t"):
        assert link in theme_page
    # The timeline pages the agreements as their list does: 240 agreements, 50 a page.
    assert b"Page 1 of 5" in client.get("/agreements/timeline/").content
    assert b"Page 1 of 5" in client.get("/agreements/").content
    route_page = client.get("/routes/route-r/").content
    for link in (b"/agreements/?route=route-r", b"/documents/?route=route-r"):
        assert link in route_page
    # A region's conferences and instruments: the first ones, and the filtered lists with all.
    for page in ("/", "/regions/r/"):
        content = client.get(page).content
        assert b"/conferences/?region=r" in content, page
        assert b"/instruments/?region=r" in content, page
    assert b"Bulk conference" in client.get("/conferences/?region=r").content
    assert b"Page 1 of 5" in client.get("/instruments/?region=r").content


def test_the_check_sees_a_page_that_grows(client, links):
    add_records(links, 3)
    few = client.get("/api/v1/funding/?page_size=100").content
    add_records(links, 3)
    more = client.get("/api/v1/funding/?page_size=100").content
    assert len(ROW.findall(more)) > len(ROW.findall(few))


def test_sitemap_sections_hold_at_most_50_000_addresses_a_file():
    """The sitemaps protocol's limit per file; Django splits a longer section into ``?p=`` pages."""
    sections: dict[str, type[Sitemap]] = SITEMAPS
    assert sections
    for name, sitemap in sections.items():
        assert sitemap.limit <= 50_000, name


def test_a_long_sitemap_section_is_split_into_pages(client, links, monkeypatch):
    add_records(links, 30)
    monkeypatch.setattr(SITEMAPS["funding"], "limit", 10)
    index = client.get("/sitemap.xml").content.decode()
    assert "sitemap-funding.xml?p=3" in index
    first = client.get("/sitemap-funding.xml").content.decode()
    assert first.count("<url>") == 10
