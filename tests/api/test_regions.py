"""The geography endpoints: regions, countries by ISO code, routes and their figures, populations."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from migrationsupport.models import Status
from regions.models import Country
from tests.api.support import API, keys, route_figure
from tests.factories import (
    CountryFactory,
    PopulationFigureFactory,
    RegionFactory,
    RouteFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db


def test_countries_are_found_by_iso_code_in_either_case(api):
    CountryFactory(iso_code="TR", name="Türkiye")
    for code in ("TR", "tr", "Tr"):
        response = api.get(f"{API}/countries/{code}/")
        assert response.status_code == 200, code
        assert response.json()["iso_code"] == "TR"
    body = api.get(f"{API}/countries/tr/").json()
    assert body["url"] == "http://testserver/countries/tr/"
    assert body["api_url"] == "http://testserver/api/v1/countries/TR/"
    assert api.get(f"{API}/countries/XX/").status_code == 404
    assert api.get(f"{API}/countries/TUR/").status_code == 404


def test_a_country_says_its_relationships_with_partial_dates(api):
    CountryFactory(
        iso_code="BY",
        eastern_partnership_member=True,
        eastern_partnership_left=datetime.date(2021, 6, 1),
        eastern_partnership_left_precision="month",
        cooperation_status="suspended",
        cooperation_suspended_since=datetime.date(2020, 1, 1),
        cooperation_suspended_since_precision="year",
        cooperation_note="<p>See the Council Conclusions.</p>",
    )
    body = api.get(f"{API}/countries/by/").json()
    assert body["eastern_partnership_left_display"] == "June 2021"
    assert body["eastern_partnership_participant"] is False
    assert body["cooperation_suspended_since"] == "2020"
    assert body["cooperation_suspended_since_precision"] == "year"
    assert body["cooperation_suspended_since_display"] == "2020"
    assert body["cooperation_note"] == "<p>See the Council Conclusions.</p>"


def test_country_filters(api):
    south = RegionFactory(slug="south")
    north_africa = RegionFactory(slug="north-africa", parent=south)
    CountryFactory(iso_code="MA", region=north_africa)
    CountryFactory(iso_code="MD", candidate_status="candidate", eastern_partnership_member=True)
    CountryFactory(iso_code="BY", cooperation_status="suspended", eastern_partnership_member=True)
    assert keys(api.get(f"{API}/countries/", {"region": "south"}), "iso_code") == ["MA"]
    assert keys(api.get(f"{API}/countries/", {"candidate_status": "candidate"}), "iso_code") == ["MD"]
    assert keys(api.get(f"{API}/countries/", {"cooperation_status": "suspended"}), "iso_code") == ["BY"]
    eap = keys(
        api.get(f"{API}/countries/", {"eastern_partnership": "true", "ordering": "iso_code"}), "iso_code"
    )
    assert eap == ["BY", "MD"]
    assert keys(api.get(f"{API}/countries/", {"eastern_partnership": "0"}), "iso_code") == ["MA"]
    assert api.get(f"{API}/countries/", {"eastern_partnership": "member"}).status_code == 400
    assert keys(api.get(f"{API}/countries/", {"search": "md"}), "iso_code") == ["MD"]
    assert api.get(f"{API}/countries/", {"candidate_status": "maybe"}).status_code == 400


def test_countries_with_no_stated_status_filter_as_not_stated(api):
    CountryFactory(iso_code="SY")
    CountryFactory(iso_code="MD", candidate_status="candidate")
    CountryFactory(iso_code="BY", cooperation_status="suspended")
    ordered = {"ordering": "iso_code"}
    assert keys(api.get(f"{API}/countries/", {"candidate_status": "not_stated", **ordered}), "iso_code") == [
        "BY",
        "SY",
    ]
    assert keys(
        api.get(f"{API}/countries/", {"cooperation_status": "not_stated", **ordered}), "iso_code"
    ) == ["MD", "SY"]
    assert keys(api.get(f"{API}/countries/", {"cooperation_status": "active"}), "iso_code") == []
    body = api.get(f"{API}/countries/sy/").json()
    assert (body["candidate_status"], body["cooperation_status"]) == ("not_stated", "not_stated")
    assert body["source"]  # the source any stated status comes from


def test_a_draft_region_is_hidden_where_a_country_names_it(api):
    CountryFactory(iso_code="MA", region=RegionFactory(status=Status.DRAFT))
    assert api.get(f"{API}/countries/ma/").json()["region"] is None


def test_create_a_country_with_a_lower_case_code_and_refuse_bad_ones(staff_client):
    officer = staff_client("regions.add_country")
    source = SourceFactory().slug
    created = officer.post(
        f"{API}/countries/", {"iso_code": "md", "slug": "moldova", "name": "Moldova", "source": source}
    )
    assert created.status_code == 201, created.content
    assert created.json()["iso_code"] == "MD"
    # A status nobody stated is not stated, not "active" or "not a candidate".
    assert (created.json()["candidate_status"], created.json()["cooperation_status"]) == (
        "not_stated",
        "not_stated",
    )
    for code in ("M1", "MDA", "MD"):
        refused = officer.post(
            f"{API}/countries/",
            {"iso_code": code, "slug": f"x-{code}", "name": f"X {code}", "source": source},
        )
        assert refused.status_code == 400, code
        assert "iso_code" in refused.json()
    assert Country.objects.count() == 1


def test_country_rules_from_clean_are_field_errors(staff_client):
    CountryFactory(iso_code="BY")
    response = staff_client("regions.change_country", "regions.publish_country").patch(
        f"{API}/countries/by/",
        {"cooperation_suspended_since": {"date": "2020-01-01", "precision": "year"}},
    )
    assert response.status_code == 400
    assert "cooperation_suspended_since" in response.json()


def test_regions_nest(api):
    south = RegionFactory(slug="south", order=1)
    RegionFactory(slug="north-africa", parent=south)
    RegionFactory(slug="hidden", parent=south, status=Status.DRAFT)
    RegionFactory(slug="east", order=2)
    body = api.get(f"{API}/regions/south/").json()
    assert body["subregions"] == ["north-africa"]
    assert keys(api.get(f"{API}/regions/", {"top_level": "true"})) == ["south", "east"]
    assert keys(api.get(f"{API}/regions/", {"top_level": "1"})) == ["south", "east"]
    assert keys(api.get(f"{API}/regions/", {"top_level": "no"})) == ["north-africa"]
    refused = api.get(f"{API}/regions/", {"top_level": "maybe"})
    assert refused.status_code == 400
    assert refused.json() == {"top_level": ["Enter true or false."]}
    assert keys(api.get(f"{API}/regions/", {"parent": "south"})) == ["north-africa"]


def test_a_region_cannot_be_inside_itself(staff_client):
    south = RegionFactory(slug="south")
    RegionFactory(slug="north-africa", parent=south)
    response = staff_client("regions.change_region", "regions.publish_region").patch(
        f"{API}/regions/south/", {"parent": "north-africa"}
    )
    assert response.status_code == 400
    assert "parent" in response.json()


def test_routes_and_their_figures(api):
    country = CountryFactory(iso_code="LY")
    route = RouteFactory(slug="central-mediterranean")
    route.countries.add(country)
    route_figure(route=route, slug="decrease-2024", percent=Decimal("70"))
    route_figure(route=route, slug="draft-figure", status=Status.DRAFT)
    hidden_route = RouteFactory(slug="hidden", status=Status.DRAFT)
    route_figure(route=hidden_route, slug="of-a-draft-route")

    body = api.get(f"{API}/routes/central-mediterranean/").json()
    assert (body["countries"], body["figures"]) == (["LY"], ["decrease-2024"])
    assert keys(api.get(f"{API}/routes/", {"country": "LY"})) == ["central-mediterranean"]
    figure = api.get(f"{API}/route-figures/decrease-2024/").json()
    assert figure["display"] == "70% decrease of irregular border crossings"
    assert (figure["period"], figure["period_display"]) == ("2024", "2024")
    assert figure["url"] == "http://testserver/routes/central-mediterranean/#decrease-2024"
    # A figure of a draft route is as hidden as the route.
    assert keys(api.get(f"{API}/route-figures/")) == ["decrease-2024"]
    assert api.get(f"{API}/route-figures/of-a-draft-route/").status_code == 404
    assert keys(api.get(f"{API}/route-figures/", {"route": "central-mediterranean", "year": 2024})) == [
        "decrease-2024"
    ]


def test_population_figures(api):
    turkiye = CountryFactory(iso_code="TR")
    syria = CountryFactory(iso_code="SY")
    figure = PopulationFigureFactory(
        slug="syrians",
        country=turkiye,
        group="refugees from Syria",
        value=Decimal(3_100_000),
        qualifier="about",
        wording="around",
        as_of=datetime.date(2024, 1, 1),
        as_of_precision="year",
    )
    figure.origins.add(syria)
    PopulationFigureFactory(slug="of-a-draft-country", country=CountryFactory(status=Status.DRAFT))
    body = api.get(f"{API}/population-figures/syrians/").json()
    assert (body["value"], body["display"], body["origins"]) == (3100000, "around 3.1\u00a0million", ["SY"])
    assert (body["as_of"], body["as_of_display"]) == ("2024", "2024")
    assert keys(api.get(f"{API}/population-figures/")) == ["syrians"]
    assert keys(api.get(f"{API}/population-figures/", {"origin": "SY"})) == ["syrians"]
    assert keys(api.get(f"{API}/population-figures/", {"country": "SY"})) == []


def test_population_origins_say_whether_they_are_examples(api, staff_client):
    figure = PopulationFigureFactory(slug="others", country=CountryFactory(iso_code="TR"))
    figure.origins.add(CountryFactory(iso_code="IQ"), CountryFactory(iso_code="AF"))
    assert api.get(f"{API}/population-figures/others/").json()["origins_non_exhaustive"] is False

    officer = staff_client("regions.change_populationfigure", "regions.publish_populationfigure")
    response = officer.patch(f"{API}/population-figures/others/", {"origins_non_exhaustive": True})

    assert response.status_code == 200, response.content
    body = api.get(f"{API}/population-figures/others/").json()
    assert (sorted(body["origins"]), body["origins_non_exhaustive"]) == (["AF", "IQ"], True)
    schema = api.get("/api/schema/", {"format": "json"}).json()
    field = schema["components"]["schemas"]["PopulationFigure"]["properties"]["origins_non_exhaustive"]
    assert "including" in field["description"]


def test_population_wording_must_fit_its_qualifier(staff_client):
    PopulationFigureFactory(slug="p")
    response = staff_client("regions.change_populationfigure", "regions.publish_populationfigure").patch(
        f"{API}/population-figures/p/", {"qualifier": "exact", "wording": "around"}
    )
    assert response.status_code == 400
    assert "wording" in response.json()
