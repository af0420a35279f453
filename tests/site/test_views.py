"""The overview, key areas, search and the 404 page; the seed's facts on the rebuilt overview."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import connection

from migrationsupport.models import Status
from migrationsupport.search import search_records
from migrationsupport.site.views import OVERVIEW_LIST_LIMIT
from tests.factories import (
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FundingRecordFactory,
    PageSectionFactory,
    RegionFactory,
    ThemeFactory,
)
from tests.pages import assert_accessible_structure, assert_constant_queries, text_of

pytestmark = pytest.mark.django_db

FIXTURES = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "fixtures").glob("*.json"))


def test_overview_is_built_from_sections_regions_and_their_records(client):
    PageSectionFactory(
        slug="introduction", title="", body="<p>Migration is a global phenomenon.</p>", order=1
    )
    PageSectionFactory(slug="key-areas", title="", body="<p>Several key areas.</p>", order=2)
    PageSectionFactory(slug="hidden", title="Draft section", status=Status.DRAFT)
    ThemeFactory(name="Legal migration and labour mobility")
    region = RegionFactory(name="Western Balkans", body="<p>A strategic priority.</p>")
    sub = RegionFactory(name="Sub-region", parent=region)
    FundingRecordFactory(title="Package", amount=Decimal(60_000_000), regions=[region])
    AgreementFactory(title="Frontex status agreement", parties=[CountryFactory(region=sub)])
    DocumentFactory(title="Action Plan").regions.add(region)

    response = client.get("/")

    assert response.status_code == 200
    text = text_of(response)
    for fact in (
        "Migration is a global phenomenon.",
        "Legal migration and labour mobility",
        "A strategic priority.",
        "€60 million",
        "Frontex status agreement",
        "Action Plan",
        "Sub-region",
    ):
        assert fact in text
    assert "Draft section" not in text
    assert_accessible_structure(response)


def test_overview_query_count_does_not_grow_with_records(client):
    region = RegionFactory()

    def make_records(n):
        for _ in range(n):
            country = CountryFactory(region=region)
            FundingRecordFactory(regions=[region], countries=[country])
            AgreementFactory(parties=[country])
            DocumentFactory().regions.add(region)

    assert_constant_queries(client, "/", make_records)


def test_overview_shows_fewer_per_region_than_the_region_page(client):
    region = RegionFactory(slug="busy", name="Busy region")
    for millions in range(1, OVERVIEW_LIST_LIMIT + 2):
        FundingRecordFactory(title=f"Programme {millions:02}", amount=Decimal(millions), regions=[region])

    overview = client.get("/").content.decode()
    region_page = client.get("/regions/busy/").content.decode()

    assert overview.count(">Programme ") == OVERVIEW_LIST_LIMIT
    assert ">Programme 01<" not in overview  # the smallest is the one left out
    assert 'href="/funding/?region=busy"' in overview
    assert region_page.count(">Programme ") == OVERVIEW_LIST_LIMIT + 1


def test_overview_html_and_css_weigh_under_100_kb(client):
    call_command("loaddata", *FIXTURES, verbosity=0)

    html = client.get("/").content
    css = Path(finders.find("css/site.css")).read_bytes()

    assert len(html) + len(css) < 100_000


# Every fact of the seed page, as the rebuilt overview must say it (text, nbsp as space).
SEED_FACTS = [
    "Migration and forced displacement are global phenomena",
    "safe and legal alternatives to irregular migration",
    "Protection of vulnerable migrants, asylum seekers and refugees",
    "Legal migration and labour mobility",
    "Addressing the root causes of irregular migration",
    "Combating smuggling of migrants and trafficking in human beings",
    "Strengthening border management capacities of partner countries",
    "Returns of irregularly staying migrants from the EU to their countries of origin",
    "Support to voluntary returns and sustainable reintegration of returnees",
    "whole-of-route approach",
    "the EU Asylum Agency (EUAA) and Europol",
    "Pact on Migration and Asylum",
    "Team Europe",
    "Southern Neighbourhood",
    "North Africa",
    "New Agenda for the Mediterranean (2021)",
    "two main financing instruments",
    "Regional response to the Syrian refugee crisis",
    "Security Council Resolution 2254",
    "On 27 May 2024 the EU organised and hosted in Brussels the eighth Brussels Conference",
    "more than €33 billion since 2011",
    "EU and its Member States",
    "almost €6 billion in 2024",
    "€2.12 billion for 2024 and 2025",
    "European Commission",
    "around 3.1 million people seeking refuge from Syria",
    "since 2015",
    "around 300 000 asylum-seekers and refugees from other countries",
    "Afghanistan",
    "Iran",
    "Iraq",
    "Somalia",
    "The March 2016 EU-Turkey Statement",
    "On 29 November 2023",
    "Joint Communication on EU-Türkiye political, economic and trade relations",
    "EU Action Plan for the Eastern Mediterranean route of 18 October 2023",
    "EU-Turkey readmission agreement",
    "close to €900 million",
    "Eastern Neighbourhood",
    "Eastern Partnership policy beyond 2020",
    "post 2020 Eastern Partnership priorities",
    "pre-enlargement reforms and policy reviews from March 2024",
    "Moldova, Ukraine and Georgia as candidate countries",
    "adoption of the Pact on Migration and Asylum in May 2024",
    "visa facilitation (with Armenia, Azerbaijan and Belarus",
    "European Border and Coast Guard Agency (Frontex)",
    "NDICI programmes in this area include",
    "Neighbourhood, Development and International Cooperation Instrument",
    "people-to-people contacts",
    "Cooperation with Belarus has been suspended since 2020",
    "(October 2020, February 2022, February 2024)",
    "In June 2021, Belarus also withdrew participation in the EaP framework",
    "effective since 1 July 2020",
    "partially suspended for Belarus government officials since 9 November 2021",
    "Western Balkans",
    "strategic priority for the EU regarding the EU accession process",
    "70% decrease of irregular border crossings in 2024",
    "more than €350 million since 2021",
    "€60 million in 2024",
    "Bosnia and Herzegovina, Serbia, Montenegro and North Macedonia",
    "€47 million in 2024",
    "€13 million in 2024",
    "Instrument for pre-accession assistance (IPA III)",
    "€36 million in June 2023",
    "status agreements with Albania, Montenegro, and Serbia",
    "signed with North Macedonia in October 2022 with operations launched in April 2023",
    "an ongoing IPA programme",
    "implemented by FRONTEX",
    "National Coordination Centres (NCC)",
    "Key documents",
]


@pytest.fixture
def seed():
    if not FIXTURES:
        pytest.fail("fixtures/*.json are missing: the seed content is needed for this test")
    call_command("loaddata", *FIXTURES, verbosity=0)


def test_overview_says_every_fact_of_the_seed_page(client, seed):
    response = client.get("/")

    assert response.status_code == 200
    text = text_of(response)
    missing = [fact for fact in SEED_FACTS if fact not in text]
    assert not missing, f"missing from the overview: {missing}"
    assert_accessible_structure(response)


def test_overview_belarus_footnote_is_a_footnote_where_belarus_appears(client, seed):
    body = client.get("/").content.decode()

    # The note is at the foot of the page once, referenced where Belarus is named, linked back.
    assert body.count('<li id="note-by">') == 1
    assert re.search(r'Belarus<sup class="note-ref"><a href="#note-by" id="ref-by-1">', body)
    assert 'href="#ref-by-1"' in body
    assert "Belarus<sup>[1]</sup>" not in body


def test_overview_figures_link_to_their_source(client, seed):
    body = client.get("/").content.decode()

    for figure in re.findall(r'<li class="figure" id="[^"]+">(.*?)</li>', body, flags=re.S):
        assert "Source: <a href=" in figure


def test_key_area_pages(client):
    theme = ThemeFactory(name="Returns", slug="returns", description="<p>Returns and readmission.</p>")
    FundingRecordFactory(title="Return programme", themes=[theme])
    ThemeFactory(name="Draft area", slug="draft-area", status=Status.DRAFT)

    listing = client.get("/themes/")
    assert listing.status_code == 200
    assert "Returns" in text_of(listing) and "Draft area" not in text_of(listing)
    assert_accessible_structure(listing)

    detail = client.get("/themes/returns/")
    assert detail.status_code == 200
    assert "Return programme" in text_of(detail)
    assert_accessible_structure(detail)

    assert client.get("/themes/draft-area/").status_code == 404


@pytest.fixture
def searchable():
    balkans = RegionFactory(name="Western Balkans", body="<p>Frontex deploys standing corps.</p>")
    AgreementFactory(title="Frontex status agreement with Serbia", description="<p>Border teams.</p>")
    DocumentFactory(title="Action Plan for the Eastern Mediterranean route")
    FundingRecordFactory(title="Anti-smuggling programme", amount=Decimal(36_000_000), regions=[balkans])
    AgreementFactory(title="Frontex secret draft", status=Status.DRAFT)
    CountryFactory(name="Belarus", iso_code="BY", cooperation_note="<p>Cooperation suspended.</p>")


def hits(query: str) -> dict[str, list[str]]:
    return {group.label: [hit.title for hit in group.hits] for group in search_records(query)}


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_search_finds_records_of_every_type_and_never_drafts(searchable, monkeypatch, vendor):
    # The SQLite fallback is a plain match; it is exercised here on PostgreSQL by pretending.
    monkeypatch.setattr(connection, "vendor", vendor)

    frontex = hits("frontex")
    assert frontex["Agreements and arrangements"] == ["Frontex status agreement with Serbia"]
    assert frontex["Regions"] == ["Western Balkans"]
    assert "Frontex secret draft" not in str(frontex)
    assert hits("mediterranean")["Key documents"] == ["Action Plan for the Eastern Mediterranean route"]
    assert hits("smuggling")["Funding"] == ["Anti-smuggling programme"]
    assert hits("Belarus")["Countries"] == ["Belarus"]
    assert hits("") == {} and hits("   ") == {}


def test_search_uses_postgres_full_text_with_stemming_and_phrases(searchable):
    assert "Agreements and arrangements" in hits("agreements")  # stemmed: agreement
    assert hits('"standing corps"')["Regions"] == ["Western Balkans"]
    assert "Agreements and arrangements" not in hits("frontex -serbia")
    assert hits("Front")["Agreements and arrangements"] == ["Frontex status agreement with Serbia"]


def test_search_page(client, searchable):
    response = client.get("/search/?q=frontex")

    assert response.status_code == 200
    assert 'href="/agreements/' in response.content.decode()
    assert "Frontex secret draft" not in response.content.decode()
    assert_accessible_structure(response)

    nothing = client.get("/search/?q=zzzzqqq")
    assert "Nothing matches" in text_of(nothing)
    assert client.get("/search/").status_code == 200
    assert client.get("/search/?q=" + "x" * 5000).status_code == 200
    assert client.get("/search/?q=%22unbalanced&q=(").status_code == 200


def test_unknown_address_answers_a_helpful_404(client):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    text = text_of(response)
    assert "Page not found" in text
    assert "Search for what you were looking for" in text
    assert 'href="/funding/"' in response.content.decode()
    assert_accessible_structure(response)


# --- Figures people can trust: the seed's totals as the issue-13 reader saw them --------------------


@pytest.mark.parametrize(
    "path",
    [
        "/funding/",
        "/funding/?region=western-balkans",
        "/instruments/",
        "/instruments/ipa-iii/",
        "/funding/?year=2024",
    ],
)
def test_no_page_adds_measures_donors_or_a_possible_overlap(client, seed, path):
    text = text_of(client.get(path))
    for wrong in ("40 286", "40.29", "39 386", "39.39", "€39", "€386 million;", "about €386", "€0"):
        assert wrong not in text, (path, wrong)
    assert "more than €386 million" not in text.replace("up to more than €386 million", "")


def test_the_explorer_headline_shows_each_measure_and_donor_side_by_side(client, seed):
    text = text_of(client.get("/funding/"))
    assert "Mobilised by the EU and its Member States: more than €33 billion" in text
    assert (
        "Pledged by the EU and its Member States: almost €6 billion, of which €2.12 billion by the "
        "European Commission" in text
    )
    wb = text_of(client.get("/funding/?region=western-balkans"))
    assert "more than €350 million; up to more than €386 million if the figures that may overlap" in wb


def test_the_shared_package_is_one_row_by_country_and_a_year_holds_only_its_own_money(client, seed):
    by_country = client.get("/api/v1/funding/totals/?group_by=country&region=western-balkans").json()
    rows = {g["label"]: g["upper"] for g in by_country["groups"]}
    assert rows == {"No country stated": 386_000_000}  # the package is inside the €350 million
    package_only = client.get(
        "/api/v1/funding/totals/?group_by=country&parent=western-balkans-migration-management-since-2021"
    ).json()
    assert {g["label"]: g["upper"] for g in package_only["groups"]} == {
        "Shared by Bosnia and Herzegovina, Montenegro, North Macedonia and Serbia": 60_000_000
    }
    year_2024 = client.get("/api/v1/funding/totals/?year=2024").json()["totals"]
    assert [(t["measure"], t["upper"]) for t in year_2024] == [
        ("pledged", 6_000_000_000),
        ("committed", 60_000_000),
    ]


def test_a_region_with_no_stated_amount_says_so(client, seed):
    text = text_of(client.get("/funding/?region=eastern-neighbourhood"))
    assert "No amount stated in the sources." in text
