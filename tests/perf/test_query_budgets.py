"""Query budgets of the public pages and API lists at two data sizes.

Each page is asked for with a small factory-built dataset and again after
``generate_demo_data --funding 300`` has added 300 funding records (with their agreements,
events and documents): the number of queries must be the same, and within the budget listed.
Anonymous requests, page cache off (tests/conftest.py), so no query for a session or a user.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from funding import snapshot
from funding.models import FundingFollowThroughStored
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    FulfilmentFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    PopulationFigureFactory,
    RegionFactory,
    RouteFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

# The footnoted countries (the Belarus note) cost 1 query on the pages that name a country.
# A record's page reads the date of its last published change (its history) in the record's own
# query (``history.with_last_published_change``): no query of its own.
BUDGETS = {
    # Themes, routes, page sections, regions; region_digests (9, a fixed number per record type:
    # funding as 1 page of each region's first ones (their ids a subquery), once per region of
    # theirs (the link joined); documents the same (1); agreements as 1 (two subqueries of first
    # ones: by own region, by parties' region; the latest event's date a subquery); population
    # figures (1); countries (1: a UNION ALL of the regions' countries, the agreements' parties and
    # the figures' origins); instruments and conferences, each region's first ones read from
    # their links to the regions with the record joined (1 each: their ids a subquery); routes
    # likewise, all of them (1) + the routes' figures; the 25 latest documents (no
    # relation shown); the footnoted countries.
    "/": 15,
    # The region with parent and source (and the date of its last published change); its
    # published sub-regions; region_digests as above (9); whether any document is on the region
    # or its countries (the "Key documents" link); its public changes (one query; changes with
    # fields old → new add a fixed number: their history entries, many-to-many entries, names);
    # the footnoted countries.
    "/regions/r/": 14,
    # The country; population figures (its own and of its people elsewhere) + origins (a query
    # that the data had no figure to run before 3 December); agreements + parties + events;
    # funding (a table: no to-many relation loaded); routes; documents (by title: no relation
    # loaded), each list cut at 25 rows; the footnoted countries; its public changes.
    "/countries/TR/": 11,
    # The route with source + regions + countries + figures; agreements with a party among its
    # countries + parties + events; documents on it (by title: no relation loaded); the footnoted
    # countries; its public changes (and its figures').
    "/routes/route-r/": 10,
    # 1 region (filter validation); 4 option lists (region, country, instrument, key area; "part
    # of" is a text box); 1 count; 1 page + its regions (the table shows no country or key area);
    # 1 total by region (the overall total is its rows added up; it also counts the records left
    # out as parts of another) + 1 labels.
    "/funding/?region=r&year_min=2024&year_max=2024": 10,
    # 1 region (filter validation); the records (one server-side cursor) + 4 prefetches (regions,
    # countries, key areas, the figures each may overlap).
    "/funding/export.csv?region=r&year_min=2024&year_max=2024": 6,
    # Every row of the explorer's "Totals by region" (/funding/totals.csv): 1 region (filter
    # validation); 1 totals by region (stored, in memory or computed: one statement); 1 labels.
    "/funding/totals.csv?region=r&year_min=2024&year_max=2024": 3,
    # 1 count; 1 page with the current status (one subquery); parties; events; 4 option lists
    # (country, region, route, key area).
    "/agreements/": 8,
    # 1 region (filter validation); 1 count; 1 page + its regions; the funding totals by
    # instrument + their labels; the region option list.
    "/instruments/?region=r": 7,
    # 1 region (filter validation); 1 count; 1 page + its regions; the region option list.
    "/conferences/?region=r&year=2024": 5,
    # The same as the list (the lanes and their table are drawn from the events already loaded).
    "/agreements/timeline/": 8,
    # 1 count; 1 page; prefetches of regions, countries, themes; option lists (region, country,
    # route, key area).
    "/documents/": 9,
    # One query per record type (11), none per hit.
    "/search/?q=border": 11,
    # One type's results on their own page: its one query.
    "/search/?q=border&type=funding": 1,
    # 1 region (filter validation); 1 count; 1 page; 5 published-only prefetches (regions,
    # countries, key areas, parts, the figures each may overlap); 2 of fulfilment links (what
    # each fulfils, what fulfils it), each with the record at its other end.
    "/api/v1/funding/?region=r": 10,
    # A later page: the same, and the data's generation (the page cut from the snapshot of it,
    # ``funding.snapshot.page_ids``, which the first request read: ``DEEP_ROWS`` is 1 here).
    "/api/v1/funding/?region=r&page=2&page_size=1": 11,
    # 1 count; 1 page; prefetches of parties, themes, events.
    "/api/v1/agreements/": 5,
    # Pledges followed through (funding.selectors.follow_through, "follow" below): the promised
    # totals (1); the ids of the follow-up and whether any of it is shared with other pledges (1,
    # one recursive query); its totals (1); the latest dates of the promise and of the follow-up
    # (1: the precisions stated on the latest day of each set and measure, a window); the sources
    # (1). 5 in all, whatever the data.
    # The record with its to-one relations; its regions, countries, key areas, the figures it may
    # overlap; the totals of its parts and the parts (a table: no to-many relation loaded); what
    # it fulfils and the first links reported against it (1: links with both records and the
    # source, ``listings.fulfilment_links``); follow (5); the footnoted countries; its public
    # changes.
    "/funding/pledge-p/": 15,
    # The conference with source; its regions; its pledges (a table: no to-many relation
    # loaded); their totals; follow (5); its public changes.
    "/conferences/c/": 10,
    # The donor's largest pledges (a table: no to-many relation loaded); its totals per measure;
    # follow (5).
    "/donors/eu/": 7,
    # The record (lookup) + 5 relation prefetches + 2 link prefetches of the viewset's queryset;
    # follow (5).
    "/api/v1/funding/pledge-p/follow-through/": 13,
    # The conference + its regions prefetch; follow (5).
    "/api/v1/conferences/c/follow-through/": 7,
    # The index of the sitemap's sections: per record type, its last change and its number of
    # addresses (for the links to its pages) in one aggregate; the funding records' number from
    # the stored totals' count (a query), their last change apart (an index read).
    "/sitemap.xml": 10,
}


@pytest.fixture
def small_dataset():
    region = RegionFactory(slug="r", name="Border region")
    RegionFactory(slug="r-sub", parent=region)
    country = CountryFactory(region=region, iso_code="TR")
    # A figure of people hosted, with origins: the digests read the origins with the countries.
    PopulationFigureFactory(country=country).origins.add(CountryFactory())
    theme = ThemeFactory()
    instrument = InstrumentFactory()
    instrument.regions.add(region)
    parent = FundingRecordFactory(
        title="Border management",
        regions=[region],
        countries=[country],
        themes=[theme],
        instrument=instrument,
        period_start=datetime.date(2024, 1, 1),
        period_start_precision="year",
    )
    FundingRecordFactory(
        parent=parent,
        amount=Decimal("1000"),
        regions=[region],
        countries=[country],
        period_start=datetime.date(2024, 1, 1),
        period_start_precision="year",
    )
    agreement = AgreementFactory(title="Border arrangement", parties=[country], region=region)
    AgreementEventFactory(agreement=agreement)
    document = DocumentFactory(title="Border report")
    document.regions.add(region)
    document.countries.add(country)
    # A route of the region through the country: the pages' route lists load what they show.
    route = RouteFactory(slug="route-r")
    route.regions.add(region)
    document.routes.add(route)
    route.countries.add(country)
    # A pledge at a conference, committed and paid in part, and a payment reported against the
    # pledge directly too.
    conference = PledgingConferenceFactory(slug="c")
    conference.regions.add(region)
    pledge = FundingRecordFactory(slug="pledge-p", measure="pledged", conference=conference, regions=[region])
    commitment = FundingRecordFactory(
        measure="committed",
        amount=Decimal("400000"),
        period_start=datetime.date(2024, 10, 1),
        period_start_precision="month",
    )
    payment = FundingRecordFactory(measure="paid", amount=Decimal("100000"))
    FulfilmentFactory(fulfilled=pledge, fulfilling=commitment)
    FulfilmentFactory(fulfilled=commitment, fulfilling=payment)
    FulfilmentFactory(fulfilled=pledge, fulfilling=payment)


def _queries(client, path: str, django_assert_num_queries, budget: int) -> int:
    client.get(path)  # first request: content types, caches of the process
    with django_assert_num_queries(budget) as captured:
        response = client.get(path)
        response.getvalue()  # a streamed CSV runs its queries while it is read
    assert response.status_code == 200, path
    return len(captured.captured_queries)


def test_query_counts_do_not_grow_with_the_data(
    client, small_dataset, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(snapshot, "DEEP_ROWS", 1)  # a later page reads into the snapshot
    small = {path: _queries(client, path, django_assert_num_queries, b) for path, b in BUDGETS.items()}

    call_command("generate_demo_data", funding=300, verbosity=0)
    # The worst case at both sizes: every follow-through computed. The command's rebuild stored
    # each conference's (``rollup.follow_sets``: 3 queries fewer, tests/funding/test_rollup.py);
    # the small dataset's saves stored none.
    FundingFollowThroughStored.objects.all().delete()

    large = {path: _queries(client, path, django_assert_num_queries, b) for path, b in BUDGETS.items()}
    assert large == small


# "What changed" and its feed, whatever the mix of record types in the page: 1 count (the page,
# not the feed); 1 page of changes; the history entries of every record type in the page, their
# many-to-many entries, the records' addresses and the names of the related records they show
# (one query each, a UNION ALL over the types); 3 option lists (region, country, instrument; the
# page, not the feed). Before those were one query per type: 26 on the small dataset's first page
# (most types), 41 on a page holding an edit of every type (docs/performance.md).
CHANGE_LOG_BUDGET = 9


def test_the_change_log_stays_within_its_budget(client, small_dataset, django_assert_max_num_queries):
    from migrationsupport.site.changes import record_types

    paths = ["/changes/", "/changes/feed/", *(f"/changes/?type={key}" for key, _label in record_types())]
    counts = {}
    for size in ("small", "large"):
        for path in paths:
            client.get(path)
            with django_assert_max_num_queries(CHANGE_LOG_BUDGET) as captured:
                assert client.get(path).status_code == 200, path
            counts[size, path] = len(captured.captured_queries)
        call_command("generate_demo_data", funding=300, verbosity=0)
    # A page of one record type: the same number of queries whatever the number of records.
    for path in paths[2:]:
        assert counts["small", path] == counts["large", path], path


def test_a_change_log_page_holding_every_record_type_stays_within_the_budget(
    client, small_dataset, django_assert_max_num_queries
):
    """The worst mix: the newest changes are edits of a record of every type (each read with
    its previous version, its many-to-many entries, its address and the names it shows)."""
    from migrationsupport.services import publishable_models
    from regions.models import Route
    from tests.factories import PageSectionFactory, RouteFigureFactory

    PageSectionFactory()
    RouteFigureFactory(route=Route.objects.get(slug="route-r"))  # its address is on its route's page
    edited = []
    for model in publishable_models():
        record = model.objects.for_public().first()
        if record is not None:
            record.save()  # a version the public sees: a "changed" row, two history entries to compare
            edited.append(model)
    assert len(edited) == len(publishable_models()), edited
    for path in ("/changes/", "/changes/feed/"):
        client.get(path)
        with django_assert_max_num_queries(CHANGE_LOG_BUDGET):
            response = client.get(path)
        assert response.status_code == 200
    page = response.content.decode()
    for model in edited:  # every type's edit is in the feed, linked to its record's page
        record = model.objects.for_public().first()
        assert record.get_absolute_url() in page, model
