"""Region, country and route pages: published records only, with their figures and sources."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.http import HttpResponse

from migrationsupport.models import Status
from migrationsupport.site.digests import REGION_LIST_LIMIT
from regions.models import RouteFigure
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PopulationFigureFactory,
    RegionFactory,
    RouteFactory,
)
from tests.pages import assert_accessible_structure, assert_constant_queries, text_of

pytestmark = pytest.mark.django_db

BELARUS_NOTE = "<p>Cooperation with Belarus has been suspended since 2020.</p>"


@pytest.fixture
def east():
    region = RegionFactory(
        name="Eastern Neighbourhood",
        slug="east",
        body="<p>Visa facilitation with Armenia and Belarus<sup>[1]</sup>.</p>",
    )
    sub = RegionFactory(name="Caucasus", slug="caucasus", parent=region)
    belarus = CountryFactory(
        name="Belarus",
        iso_code="BY",
        slug="belarus",
        region=region,
        eastern_partnership_member=True,
        eastern_partnership_left=datetime.date(2021, 6, 1),
        eastern_partnership_left_precision="month",
        cooperation_status="suspended",
        cooperation_suspended_since=datetime.date(2020, 1, 1),
        cooperation_suspended_since_precision="year",
        cooperation_note=BELARUS_NOTE,
    )
    armenia = CountryFactory(name="Armenia", iso_code="AM", slug="armenia", region=sub)
    return {"region": region, "sub": sub, "belarus": belarus, "armenia": armenia}


def test_region_page_shows_its_records_and_sub_regions(client, east):
    region, belarus, armenia = east["region"], east["belarus"], east["armenia"]
    FundingRecordFactory(title="Eastern programme", amount=Decimal(5_000_000), regions=[region])
    FundingRecordFactory(title="Draft programme", amount=Decimal(1), regions=[region], status=Status.DRAFT)
    agreement = AgreementFactory(title="EU-Belarus visa facilitation agreement", parties=[belarus])
    AgreementEventFactory(
        agreement=agreement, kind="partially_suspended", date=datetime.date(2021, 11, 9), date_precision="day"
    )
    AgreementFactory(title="EU-Armenia readmission agreement", parties=[armenia])
    InstrumentFactory(name="NDICI-Global Europe").regions.add(region)
    DocumentFactory(title="Eastern Partnership beyond 2020").regions.add(region)
    RegionFactory(name="Draft sub-region", slug="draft-sub", parent=region, status=Status.DRAFT)

    response = client.get("/regions/east/")

    assert response.status_code == 200
    text = text_of(response)
    for fact in (
        "Eastern programme",
        "€5 million",
        "EU-Belarus visa facilitation agreement",
        "Partially suspended",
        "9 November 2021",
        "NDICI-Global Europe",
        "Eastern Partnership beyond 2020",
        "Caucasus",
        "EU-Armenia readmission agreement",  # under the sub-region, where Armenia is
    ):
        assert fact in text
    assert "Draft programme" not in text and "Draft sub-region" not in text
    assert_accessible_structure(response)


def test_belarus_note_is_a_real_footnote_with_back_links(client, east):
    response = client.get("/regions/east/")
    body = response.content.decode()

    # The source's literal "[1]" became a link to the note; the note links back to each mention.
    assert "<sup>[1]</sup>" not in body
    assert 'Belarus<sup class="note-ref"><a href="#note-by" id="ref-by-1">' in body
    assert '<li id="note-by"><p>Cooperation with Belarus has been suspended since 2020.</p>' in body
    assert 'href="#ref-by-1"' in body
    assert body.count('href="#note-by"') == body.count('href="#ref-by-')


def test_region_list_shows_the_tree_of_published_regions(client, east):
    RegionFactory(name="Draft region", status=Status.DRAFT)

    response = client.get("/regions/")

    assert response.status_code == 200
    text = text_of(response)
    assert "Eastern Neighbourhood" in text and "Caucasus" in text and "Armenia" in text
    assert "Draft region" not in text
    assert_accessible_structure(response)


def test_country_page_shows_relationship_agreements_funding_populations_and_routes(client, east):
    belarus = east["belarus"]
    turkiye = CountryFactory(name="Türkiye", iso_code="TR", slug="turkiye", candidate_status="candidate")
    syria = CountryFactory(name="Syria", iso_code="SY", slug="syria")
    figure = PopulationFigureFactory(
        country=turkiye,
        group="people seeking refuge from Syria",
        value=Decimal(3_100_000),
        qualifier="about",
        wording="around",
        since=datetime.date(2015, 1, 1),
        since_precision="year",
    )
    figure.origins.add(syria)
    FundingRecordFactory(
        title="Migration and border management",
        amount=Decimal(900_000_000),
        qualifier="about",
        wording="close to",
        countries=[turkiye],
    )
    AgreementFactory(title="EU-Turkey Statement", kind="statement", parties=[turkiye])
    RouteFactory(name="Eastern Mediterranean route").countries.add(turkiye)

    response = client.get("/countries/tr/")

    assert response.status_code == 200
    text = text_of(response)
    for fact in (
        "Candidate country",
        "around 3.1 million people seeking refuge from Syria",
        "since 2015",
        "close to €900 million",
        "EU-Turkey Statement",
        "Eastern Mediterranean route",
    ):
        assert fact in text
    assert '<time datetime="2015">2015</time>' in response.content.decode()
    assert_accessible_structure(response)

    belarus_page = client.get("/countries/BY/")
    text = text_of(belarus_page)
    assert "Withdrew in June 2021" in text
    assert "Suspended since 2020" in text
    assert 'id="note-by"' in belarus_page.content.decode()
    assert belarus.name in text


def test_country_list_filters_with_the_shared_filterset(client, east):
    CountryFactory(name="Moldova", iso_code="MD", candidate_status="candidate", region=east["region"])

    everyone = client.get("/countries/")
    candidates = client.get("/countries/?candidate_status=candidate")
    in_caucasus = client.get("/countries/?region=caucasus")

    assert everyone.status_code == candidates.status_code == 200
    assert [c.name for c in candidates.context["object_list"]] == ["Moldova"]
    assert [c.name for c in in_caucasus.context["object_list"]] == ["Armenia"]
    assert client.get("/countries/?region=atlantis").status_code == 400
    assert_accessible_structure(everyone)


def test_route_page_shows_figures_with_their_period_and_source(client, east, source):
    route = RouteFactory(name="Western Balkan route", slug="western-balkan-route")
    RouteFigure.objects.create(
        route=route,
        slug="crossings-2024",
        label="decrease of irregular border crossings",
        percent=Decimal("70.00"),
        period=datetime.date(2024, 1, 1),
        period_precision="year",
        source=source,
        status=Status.PUBLISHED,
    )
    RouteFigure.objects.create(
        route=route,
        slug="draft-figure",
        label="draft figure",
        percent=Decimal(1),
        period=datetime.date(2024, 1, 1),
        period_precision="year",
        source=source,
    )

    response = client.get("/routes/western-balkan-route/")

    assert response.status_code == 200
    text = text_of(response)
    assert "70% decrease of irregular border crossings in 2024" in text
    assert "draft figure" not in text
    assert f'href="{source.url}"' in response.content.decode()
    assert_accessible_structure(response)


@pytest.mark.parametrize(
    "url", ["/regions/draft/", "/regions/unknown/", "/countries/dr/", "/countries/zz/", "/routes/draft/"]
)
def test_drafts_and_unknown_addresses_are_404(client, url):
    RegionFactory(slug="draft", status=Status.DRAFT)
    CountryFactory(iso_code="DR", status=Status.DRAFT)
    RouteFactory(slug="draft", status=Status.DRAFT)

    response = client.get(url)

    assert response.status_code == 404
    assert "There is no published page at this address" in response.content.decode()


def test_list_pages_cost_the_same_queries_for_3_or_30_rows(client):
    region = RegionFactory(slug="many")

    def make_countries(n):
        for _ in range(n):
            CountryFactory(region=region)

    assert_constant_queries(client, "/countries/", make_countries)
    assert_constant_queries(client, "/regions/", lambda n: RegionFactory.create_batch(n, parent=region))


def test_region_page_query_count_does_not_grow_with_its_records(client):
    region = RegionFactory(slug="busy")

    def make_records(n):
        for _ in range(n):
            country = CountryFactory(region=region)
            FundingRecordFactory(regions=[region], countries=[country])
            AgreementFactory(parties=[country])
            DocumentFactory().regions.add(region)
            PopulationFigureFactory(country=country)

    assert_constant_queries(client, "/regions/busy/", make_records)


def test_capped_lists_link_to_everything(client):
    region = RegionFactory(slug="busy", name="Busy region")
    country = CountryFactory(region=region, iso_code="TR", name="Türkiye")
    FundingRecordFactory.create_batch(REGION_LIST_LIMIT + 1, regions=[region], countries=[country])
    AgreementFactory.create_batch(REGION_LIST_LIMIT + 1, parties=[country])
    for document in DocumentFactory.create_batch(REGION_LIST_LIMIT + 1):
        document.regions.add(region)
        document.countries.add(country)

    region_page = client.get("/regions/busy/").content.decode()
    for link in ("/funding/?region=busy", "/agreements/?region=busy", "/documents/?region=busy"):
        assert f'href="{link}"' in region_page
    country_page = client.get("/countries/TR/").content.decode()
    assert "The largest figures only." in country_page
    for link in ("/agreements/?country=TR", "/documents/?country=TR"):
        assert f'href="{link}"' in country_page
    # Each agreement is linked from its lane and from the list: as many agreements as the cap.
    assert len(set(re.findall(r'href="/agreements/agreement-[^"]*"', country_page))) == REGION_LIST_LIMIT


def test_lists_that_fit_have_no_more_link(client):
    region = RegionFactory(slug="quiet")
    country = CountryFactory(region=region, iso_code="TR")
    FundingRecordFactory.create_batch(REGION_LIST_LIMIT, regions=[region], countries=[country])
    AgreementFactory.create_batch(REGION_LIST_LIMIT, parties=[country])

    assert "only:" not in text_of(client.get("/regions/quiet/"))
    country_text = text_of(client.get("/countries/TR/"))
    assert "only:" not in country_text and "figures only" not in country_text


def fragment_text(fragment: str) -> str:
    return text_of(HttpResponse(fragment))


def summary_list(response) -> str:
    """The country page's facts (the <dl>), as text."""
    body = response.content.decode()
    start = body.index('<dl class="summary-list">')
    return fragment_text(body[start : body.index("</dl>", start)])


def test_country_page_shows_no_status_the_source_does_not_state(client):
    CountryFactory(name="Syria", iso_code="SY", slug="syria")

    response = client.get("/countries/sy/")

    assert response.status_code == 200
    facts = summary_list(response)
    for invented in ("Relationship with the EU", "Cooperation", "Active", "candidate", "Not stated"):
        assert invented not in facts, invented


def test_country_page_shows_a_stated_status_with_its_source(client, east):
    moldova = CountryFactory(name="Moldova", iso_code="MD", slug="moldova", candidate_status="candidate")

    moldova_facts = summary_list(client.get("/countries/md/"))
    belarus_page = client.get("/countries/by/")
    belarus_facts = summary_list(belarus_page)

    assert f"Relationship with the EU Candidate country Source: {moldova.source.title}" in moldova_facts
    assert "Cooperation" not in moldova_facts
    assert "Cooperation Suspended since 2020" in belarus_facts
    assert f"Source: {east['belarus'].source.title}" in belarus_facts
    assert "Relationship with the EU" not in belarus_facts
    assert 'id="note-by"' in belarus_page.content.decode()


def test_country_list_says_not_stated_and_cites_the_source(client, east):
    moldova = CountryFactory(
        name="Moldova", iso_code="MD", candidate_status="candidate", region=east["region"]
    )

    response = client.get("/countries/")

    rows = {
        cells[0].split()[0]: cells[1:]  # the name, without Belarus's note reference
        for cells in (
            [fragment_text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", response.content.decode(), re.S)
        )
    }
    # ISO code, region, relationship, Eastern Partnership, cooperation, source
    assert rows["Armenia"][2] == rows["Armenia"][4] == "Not stated"
    assert rows["Moldova"][2] == "Candidate country" and rows["Moldova"][4] == "Not stated"
    assert rows["Belarus"][2] == "Not stated" and rows["Belarus"][4] == "Suspended since 2020"
    assert rows["Moldova"][5] == moldova.source.title
    assert not any("Active" in " ".join(cells) for cells in rows.values())
    assert_accessible_structure(response)


def test_region_page_tags_a_country_only_with_stated_statuses(client, east):
    CountryFactory(name="Moldova", iso_code="MD", candidate_status="candidate", region=east["region"])

    body = client.get("/regions/east/").content.decode()
    countries = r'<li><a href="/countries/\w+/"[^>]*>(.*?)</a>.*?<span class="meta tags">(.*?)</span></li>'
    tags = {fragment_text(name): fragment_text(tag) for name, tag in re.findall(countries, body, re.S)}

    assert tags["Armenia"] == ""
    assert tags["Moldova"].startswith("Candidate country") and "Source:" in tags["Moldova"]
    assert tags["Belarus"].startswith("Withdrew from the Eastern Partnership in June 2021")
    assert "Cooperation suspended since 2020" in tags["Belarus"]
    assert "Cooperation active" not in body and "Not a candidate" not in body


def test_population_origins_say_including_when_the_source_does(client):
    turkiye = CountryFactory(name="Türkiye", iso_code="TR", slug="turkiye")
    syria = CountryFactory(name="Syria", iso_code="SY")
    examples = [CountryFactory(name=name) for name in ("Iraq", "Afghanistan", "Iran", "Somalia")]
    PopulationFigureFactory(
        country=turkiye, group="people seeking refuge from Syria", value=Decimal(3_100_000)
    ).origins.add(syria)
    PopulationFigureFactory(
        country=turkiye,
        group="asylum-seekers and refugees from other countries",
        value=Decimal(300_000),
        origins_non_exhaustive=True,
    ).origins.add(*examples)

    text = text_of(client.get("/countries/tr/"))

    assert "· from Syria" in text
    # Countries in name order, as everywhere on the site.
    assert "· from countries including Afghanistan, Iran, Iraq and Somalia" in text
