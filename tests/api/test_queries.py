"""Query budgets: a list costs the same number of queries for 3 rows as for 30.

Anonymous requests, so no query for the user or session. Each endpoint's budget is listed; the
rows are made with the relations the endpoint loads, so a missing select_related or
prefetch_related shows up as a count that grows with the rows.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funding import rollup
from migrationsupport.api.viewsets import PublishableViewSet
from tests.api.support import API, ENDPOINTS, route_figure
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    PopulationFigureFactory,
    RegionFactory,
    RouteFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db


def _funding(region, country, theme):
    parent = FundingRecordFactory(regions=[region], countries=[country], themes=[theme])
    FundingRecordFactory(parent=parent, amount=1, instrument=InstrumentFactory(), conference=None)


def _agreement(region, country, theme):
    agreement = AgreementFactory(parties=[country], region=region)
    agreement.themes.add(theme)
    AgreementEventFactory(agreement=agreement)


def _document(region, country, theme):
    document = DocumentFactory()
    document.regions.add(region)
    document.countries.add(country)
    document.themes.add(theme)


def _route(region, country, theme):
    route = RouteFactory()
    route.regions.add(region)
    route.countries.add(country)
    route_figure(route=route)


def _population(region, country, theme):
    PopulationFigureFactory(country=country).origins.add(CountryFactory())


def _with_regions(factory):
    def make(region, country, theme):
        factory().regions.add(region)

    return make


# endpoint: (how to make one row with its relations, the queries of one list request)
BUDGETS = {
    # count; page of records with source, instrument, conference, parent; regions; countries;
    # themes; children; the figures each may overlap; what each fulfils; what fulfils each
    "funding": (_funding, 9),
    # count; page with the current status annotation, source, region; parties; themes; events
    "agreements": (_agreement, 5),
    # count; page with source and agreement
    "agreement-events": (lambda *args: AgreementEventFactory(), 2),
    # count; page with source; regions; countries; routes; themes
    "documents": (_document, 6),
    # count; page with source and region
    "countries": (lambda region, *args: CountryFactory(region=region), 2),
    # count; page with source and parent; subregions
    "regions": (lambda region, *args: RegionFactory(parent=region), 3),
    # count; page with source; regions; countries; figures
    "routes": (_route, 5),
    # count; page with source and route
    "route-figures": (lambda *args: route_figure(), 2),
    # count; page with source and country; origins
    "population-figures": (_population, 3),
    # count; page with source; regions
    "instruments": (_with_regions(InstrumentFactory), 3),
    "conferences": (_with_regions(PledgingConferenceFactory), 3),
    # count; page with source
    "themes": (lambda *args: ThemeFactory(), 2),
    # count; page
    "sources": (lambda *args: None, 2),
}


def _queries(api, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = api.get(url, {"page_size": 100})
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_list_queries_do_not_grow_with_rows(api, name):
    assert set(BUDGETS) == set(ENDPOINTS)
    make, budget = BUDGETS[name]
    region, country, theme = RegionFactory(), CountryFactory(), ThemeFactory()
    for _ in range(3):
        make(region, country, theme)
    url = ENDPOINTS[name].list_url()
    assert _queries(api, url) == budget
    for _ in range(27):
        make(region, country, theme)
    assert _queries(api, url) == budget
    # The CSV download of the whole set (streamed: its queries run while the body is read) costs
    # the same but the count: one chunk of records, one query per to-many relation (an
    # agreement's CSV leaves its timeline out, so no events either).
    with CaptureQueriesContext(connection) as context:
        response = api.get(url, {"format": "csv"})
        assert response.status_code == 200 and response.getvalue()
    assert len(context.captured_queries) == budget - 1 - (name == "agreements")


def test_funding_totals_cost_a_fixed_number_of_queries(api):
    region, country, theme = RegionFactory(), CountryFactory(), ThemeFactory()
    counts = []
    for _ in range(2):
        for _ in range(10):
            _funding(region, country, theme)
        rollup.rebuild()  # as the commit of the last save would (funding.rollup)
        with CaptureQueriesContext(connection) as context:
            assert api.get(f"{API}/funding/totals/", {"group_by": "region"}).status_code == 200
        counts.append(len(context.captured_queries))
    # the answer, as stored (funding.rollup.stored_answer)
    assert counts == [1, 1]
    # Filtered, the totals are computed (no answer stored for the set): the lookup of a stored
    # answer; grouped totals (the overall total is their rows added up); group names and slugs.
    with CaptureQueriesContext(connection) as context:
        assert api.get(f"{API}/funding/totals/", {"group_by": "region", "donor": "eu"}).status_code == 200
    assert len(context.captured_queries) == 3


def test_detail_queries(api):
    record = FundingRecordFactory(regions=[RegionFactory()])
    with CaptureQueriesContext(connection) as context:
        assert api.get(f"{API}/funding/{record.slug}/").status_code == 200
    # record with source, instrument, conference, parent; regions; countries; themes; children;
    # the figures it may overlap; what it fulfils; what fulfils it
    assert len(context.captured_queries) == 8


@pytest.mark.parametrize("name", ["funding", "agreements"])
def test_a_read_builds_the_list_query_once(api, monkeypatch, name):
    """The permission check reads the model from the view's ``queryset``: DRF's own asked
    ``get_queryset()`` for it, building the whole list query (prefetches and all) a second time
    on every request."""
    endpoint = ENDPOINTS[name]
    calls = []
    built = PublishableViewSet.get_queryset

    def counted(self):
        calls.append(type(self).__name__)
        return built(self)

    monkeypatch.setattr(PublishableViewSet, "get_queryset", counted)
    assert api.get(endpoint.list_url()).status_code == 200
    assert len(calls) == 1, calls
