"""No dead ends (issue 17, point 3): route pages list their documents and agreements, documents
filter by route, region, country and kind, the routes and conferences have index pages in the
sitemap, list pages offer their CSV, /api/ leads to /api/v1/."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.factories import (
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    PledgingConferenceFactory,
    RegionFactory,
    RouteFactory,
)
from tests.seed.test_fixtures import FIXTURES

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed():
    call_command("loaddata", *FIXTURES, verbosity=0)


@pytest.fixture
def route_world():
    region = RegionFactory(slug="south", name="South")
    on_route = CountryFactory(iso_code="TR", name="Türkiye", region=region)
    elsewhere = CountryFactory(iso_code="GE", name="Georgia")
    route = RouteFactory(slug="east-med", name="East Med route")
    route.regions.add(region)
    route.countries.add(on_route)
    plan = DocumentFactory(title="Action Plan for the route", kind="action_plan")
    plan.routes.add(route)
    DocumentFactory(title="A document on no route").countries.add(on_route)
    draft = DocumentFactory(title="Draft plan", status="draft")
    draft.routes.add(route)
    AgreementFactory(title="Readmission with Türkiye", parties=[on_route])
    AgreementFactory(title="Readmission with Georgia", parties=[elsewhere])
    AgreementFactory(title="Draft with Türkiye", parties=[on_route], status="draft")
    return route


def test_a_route_page_lists_its_documents_and_the_agreements_with_its_countries(client, route_world):
    content = client.get("/routes/east-med/").content.decode()
    assert "Action Plan for the route" in content
    assert "Readmission with Türkiye" in content
    for absent in ("A document on no route", "Draft plan", "Readmission with Georgia", "Draft with Türkiye"):
        assert absent not in content, absent
    assert "/documents/?route=east-med" in content
    assert "/agreements/?route=east-med" in content


def test_the_seed_route_page_lists_its_action_plan_and_agreements(client, seed):
    content = client.get("/routes/eastern-mediterranean-route/").content.decode()
    assert "EU Action Plan for the Eastern Mediterranean route" in content
    assert "EU-Turkey Statement" in content
    assert "/agreements/?route=eastern-mediterranean-route" in content


def test_documents_and_agreements_filter_by_route_on_the_page_and_in_the_api(client, route_world):
    page = client.get("/documents/?route=east-med").content.decode()
    assert "Action Plan for the route" in page
    assert "A document on no route" not in page
    api = client.get("/api/v1/documents/?route=east-med").json()
    assert [row["title"] for row in api["results"]] == ["Action Plan for the route"]
    assert api["results"][0]["routes"] == ["east-med"]
    agreements = client.get("/api/v1/agreements/?route=east-med").json()
    assert [row["title"] for row in agreements["results"]] == ["Readmission with Türkiye"]
    assert client.get("/documents/?route=no-such-route").status_code == 400
    assert client.get("/api/v1/documents/?route=no-such-route").status_code == 400


def test_documents_filter_by_region_through_their_countries_by_country_and_by_kind(client):
    region = RegionFactory(slug="balkans", name="Balkans")
    sub = RegionFactory(slug="balkans-west", parent=region)
    country = CountryFactory(iso_code="RS", region=sub)
    other = CountryFactory(iso_code="MA")
    on_region = DocumentFactory(title="On the region", kind="communication")
    on_region.regions.add(region)
    DocumentFactory(title="On a country of a sub-region", kind="council_conclusions").countries.add(country)
    DocumentFactory(title="Elsewhere", kind="communication").countries.add(other)
    draft_country = CountryFactory(iso_code="ME", region=region, status="draft")
    DocumentFactory(title="Through a draft country").countries.add(draft_country)

    def titles(query: str) -> set[str]:
        api = client.get(f"/api/v1/documents/?{query}").json()
        page = client.get(f"/documents/?{query}").content.decode()
        found = {row["title"] for row in api["results"]}
        for title in found:
            assert title in page, (query, title)
        return found

    assert titles("region=balkans") == {"On the region", "On a country of a sub-region"}
    assert titles("country=rs") == {"On a country of a sub-region"}
    assert titles("kind=communication") == {"On the region", "Elsewhere"}
    assert titles("kind=communication&region=balkans") == {"On the region"}


def test_the_western_balkans_page_links_its_documents_only_when_there_are_some(client, seed):
    """The seed names no document on the Western Balkans: the page says so instead of linking
    to "0 documents match"; once one is linked to a Western Balkan country, the link leads to it."""
    page = client.get("/regions/western-balkans/").content.decode()
    assert "/documents/?region=western-balkans" not in page
    assert "No key document on Western Balkans" in page
    document = DocumentFactory(title="A document on Serbia")
    document.countries.add(CountryFactory._meta.model.objects.get(iso_code="RS"))
    page = client.get("/regions/western-balkans/").content.decode()
    assert "/documents/?region=western-balkans" in page
    listed = client.get("/documents/?region=western-balkans").content.decode()
    assert "A document on Serbia" in listed
    assert "1 document match" in listed


def test_the_seed_region_links_lead_to_documents(client, seed):
    page = client.get("/regions/eastern-neighbourhood/").content.decode()
    assert "/documents/?region=eastern-neighbourhood" in page
    listed = client.get("/documents/?region=eastern-neighbourhood").content.decode()
    assert "Pact on Migration and Asylum" in listed


def test_routes_and_conferences_have_index_pages_in_the_sitemap_and_breadcrumbs(client):
    RouteFactory(slug="a-route", name="A route")
    RouteFactory(slug="draft-route", name="Draft route", status="draft")
    PledgingConferenceFactory(slug="a-conference", name="A conference")
    routes = client.get("/routes/")
    assert routes.status_code == 200
    assert "/routes/a-route/" in routes.content.decode()
    assert "draft-route" not in routes.content.decode()
    conferences = client.get("/conferences/")
    assert conferences.status_code == 200
    assert "/conferences/a-conference/" in conferences.content.decode()
    pages = client.get("/sitemap-pages.xml").content.decode()
    assert "/routes/</loc>" in pages
    assert "/conferences/</loc>" in pages
    assert 'href="/routes/"' in client.get("/routes/a-route/").content.decode()
    assert 'href="/conferences/"' in client.get("/conferences/a-conference/").content.decode()


def test_api_root_redirects_to_the_current_version(client):
    response = client.get("/api/")
    assert response.status_code == 302
    assert response["Location"] == "/api/v1/"
    assert client.get("/api/?format=json")["Location"] == "/api/v1/?format=json"
    assert client.get("/api/no-such-endpoint/").status_code == 404


@pytest.mark.parametrize(
    ("page", "csv"),
    [
        ("/agreements/?kind=readmission", "/api/v1/agreements/?kind=readmission&amp;format=csv"),
        ("/agreements/timeline/", "/api/v1/agreements/?format=csv"),
        ("/documents/?route=east-med&page=1", "/api/v1/documents/?route=east-med&amp;format=csv"),
        ("/countries/", "/api/v1/countries/?format=csv"),
        ("/regions/", "/api/v1/regions/?format=csv"),
        ("/routes/", "/api/v1/routes/?format=csv"),
        ("/conferences/", "/api/v1/conferences/?format=csv"),
        ("/instruments/", "/api/v1/instruments/?format=csv"),
        ("/themes/", "/api/v1/themes/?format=csv"),
    ],
)
def test_every_list_page_links_its_csv_with_its_filters(client, route_world, page, csv):
    content = client.get(page).content.decode()
    assert csv in content
    response = client.get(csv.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
