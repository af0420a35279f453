"""Agreements (list, timeline, page) and key documents (list, page)."""

from __future__ import annotations

import datetime

import pytest

from migrationsupport.models import Status
from regions.models import Region
from tests.factories import (
    AgreementEventFactory,
    AgreementFactory,
    CountryFactory,
    DocumentFactory,
    RegionFactory,
    ThemeFactory,
)
from tests.pages import assert_accessible_structure, assert_constant_queries, text_of

pytestmark = pytest.mark.django_db


def event(agreement, kind, date, precision="day", **kwargs):
    return AgreementEventFactory(
        agreement=agreement, kind=kind, date=date, date_precision=precision, **kwargs
    )


@pytest.fixture
def agreements():
    balkans = RegionFactory(name="Western Balkans", slug="western-balkans")
    east = RegionFactory(name="Eastern Neighbourhood", slug="east")
    north_macedonia = CountryFactory(name="North Macedonia", iso_code="MK", region=balkans)
    belarus = CountryFactory(name="Belarus", iso_code="BY", region=east)
    frontex = AgreementFactory(
        title="Frontex status agreement with North Macedonia",
        slug="frontex-mk",
        kind="frontex_status",
        agency="frontex",
        parties=[north_macedonia],
    )
    event(frontex, "signed", datetime.date(2022, 10, 1), "month")
    event(frontex, "operations_launched", datetime.date(2023, 4, 1), "month")
    visa = AgreementFactory(
        title="EU-Belarus visa facilitation agreement",
        slug="visa-by",
        kind="visa_facilitation",
        parties=[belarus],
    )
    event(visa, "entered_into_force", datetime.date(2020, 7, 1))
    event(
        visa,
        "partially_suspended",
        datetime.date(2021, 11, 9),
        description="for Belarus government officials",
    )
    # The seed states no status for this one: "continued cooperation on visa liberalisation".
    AgreementFactory(
        title="Cooperation on visa liberalisation with Moldova",
        slug="visa-md",
        kind="visa_liberalisation",
        stated_status="",
    )
    # "The EU has also concluded status agreements with Albania": concluded, not in force.
    AgreementFactory(
        title="Frontex status agreement with Albania",
        slug="frontex-al",
        kind="frontex_status",
        stated_status="concluded",
    )
    AgreementFactory(title="Secret draft agreement", slug="draft-agreement", status=Status.DRAFT)
    return {"frontex": frontex, "visa": visa}


def listed(response) -> list[str]:
    return [agreement.slug for agreement in response.context["object_list"]]


def test_agreement_list_shows_published_agreements_with_their_current_status(client, agreements):
    response = client.get("/agreements/")

    assert response.status_code == 200
    assert sorted(listed(response)) == ["frontex-al", "frontex-mk", "visa-by", "visa-md"]
    text = text_of(response)
    assert "Operations launched" in text and "Partially suspended" in text
    statuses = {a.slug: str(a.current_status_label) for a in response.context["object_list"]}
    assert statuses["frontex-al"] == "Concluded"
    assert statuses["visa-md"] == "Status not stated"
    table = response.content.decode().split('<table id="agreements-table"', 1)[-1]
    assert "Ongoing" not in table and "In force" not in table and "dialogue" not in table
    assert "Cooperation on visa liberalisation" in table
    assert "Secret draft agreement" not in text
    assert '<time datetime="2023-04">April 2023</time>' in response.content.decode()
    assert_accessible_structure(response)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=frontex_status", ["frontex-al", "frontex-mk"]),
        ("status=partially_suspended", ["visa-by"]),
        ("status=concluded", ["frontex-al"]),
        ("status=in_force", []),
        ("status=ongoing", []),
        ("country=BY", ["visa-by"]),
        ("region=western-balkans", ["frontex-mk"]),
        ("agency=frontex", ["frontex-mk"]),
        ("date_after=2022-01-01", ["frontex-mk"]),
        ("date_before=2020-12-31", ["visa-by"]),
    ],
)
def test_agreement_filters_change_the_rows(client, agreements, query, expected):
    response = client.get(f"/agreements/?{query}")

    assert response.status_code == 200
    assert listed(response) == expected


def test_region_filter_includes_arrangements_made_with_the_region_and_its_sub_regions(client, agreements):
    balkans = Region.objects.get(slug="western-balkans")
    sub = RegionFactory(slug="balkans-sub", parent=balkans)
    AgreementFactory(title="Regional arrangement", slug="regional", region=balkans)
    AgreementFactory(title="Sub-regional arrangement", slug="sub-regional", region=sub)
    AgreementFactory(title="Elsewhere", slug="elsewhere", region=Region.objects.get(slug="east"))

    response = client.get("/agreements/?region=western-balkans")

    assert sorted(listed(response)) == ["frontex-mk", "regional", "sub-regional"]
    assert sorted(listed(client.get("/agreements/?region=balkans-sub"))) == ["sub-regional"]


def test_date_filters_ignore_draft_events(client, agreements):
    event(agreements["visa"], "withdrawn", datetime.date(2024, 1, 1), status=Status.DRAFT)

    assert listed(client.get("/agreements/?date_after=2022-01-01")) == ["frontex-mk"]


@pytest.mark.parametrize("query", ["status=exploded", "date_after=yesterday", "country=XX"])
def test_bad_agreement_filters_show_errors_not_a_server_error(client, agreements, query):
    response = client.get(f"/agreements/?{query}")

    assert response.status_code == 400
    assert "Some filters could not be used" in response.content.decode()


def test_timeline_orders_the_dated_steps_and_keeps_partial_dates_partial(client, agreements):
    response = client.get("/agreements/timeline/")

    assert response.status_code == 200
    body = response.content.decode()
    steps = [e.kind for e in response.context["events"]]
    assert steps == ["entered_into_force", "partially_suspended", "signed", "operations_launched"]
    assert '<time datetime="2020-07-01">1 July 2020</time>' in body
    assert '<time datetime="2022-10">October 2022</time>' in body
    assert "1 October 2022" not in body
    assert "for Belarus government officials" in body
    assert sorted(a.slug for a in response.context["undated"]) == ["frontex-al", "visa-md"]
    assert_accessible_structure(response)

    filtered = client.get("/agreements/timeline/?date_after=2022-01-01")
    assert [e.kind for e in filtered.context["events"]] == ["signed", "operations_launched"]


def test_agreement_pages_show_concluded_and_no_invented_status(client, agreements):
    concluded = text_of(client.get("/agreements/frontex-al/"))
    unstated = text_of(client.get("/agreements/visa-md/"))

    assert "Current status Concluded" in concluded and "In force" not in concluded
    assert "the status is the one the source states" in concluded
    assert "Current status Status not stated" in unstated
    assert "Kind Cooperation on visa liberalisation" in unstated
    for invented in ("Ongoing", "In force", "dialogue"):
        assert invented not in unstated


def test_agreement_page_shows_parties_events_and_status(client, agreements):
    event(agreements["visa"], "withdrawn", datetime.date(2024, 1, 1), status=Status.DRAFT)  # changes nothing

    response = client.get("/agreements/visa-by/")

    assert response.status_code == 200
    text = text_of(response)
    assert "Partially suspended (since 9 November 2021)" in text
    assert "The European Union and Belarus" in text
    assert "Entered into force" in text
    assert "Withdrawn" not in text
    assert_accessible_structure(response)


@pytest.mark.parametrize("url", ["/agreements/draft-agreement/", "/agreements/nope/", "/documents/nope/"])
def test_drafts_and_unknown_slugs_are_404(client, agreements, url):
    DocumentFactory(slug="draft-document", status=Status.DRAFT)

    assert client.get(url).status_code == 404
    assert client.get("/documents/draft-document/").status_code == 404


def test_document_list_filters_and_pages_show_partial_dates(client):
    east = RegionFactory(slug="east")
    returns = ThemeFactory(slug="returns")
    pact = DocumentFactory(
        title="Pact on Migration and Asylum",
        slug="pact",
        kind="legislation",
        date=datetime.date(2024, 5, 1),
        date_precision="month",
        url="https://example.org/pact",
    )
    pact.regions.add(east)
    pact.themes.add(returns)
    DocumentFactory(
        title="New Agenda for the Mediterranean",
        slug="agenda",
        date=datetime.date(2021, 1, 1),
        date_precision="year",
        kind="joint_communication",
    )
    DocumentFactory(title="Draft document", status=Status.DRAFT)

    everything = client.get("/documents/")
    assert [d.slug for d in everything.context["object_list"]] == ["pact", "agenda"]
    assert '<time datetime="2024-05">May 2024</time>' in everything.content.decode()
    assert '<time datetime="2021">2021</time>' in everything.content.decode()
    assert "Draft document" not in everything.content.decode()
    assert_accessible_structure(everything)

    for query in ("region=east", "theme=returns", "kind=legislation", "year=2024"):
        assert [d.slug for d in client.get(f"/documents/?{query}").context["object_list"]] == ["pact"]
    assert client.get("/documents/?year=soon").status_code == 400

    page = client.get("/documents/pact/")
    assert page.status_code == 200
    assert 'href="https://example.org/pact"' in page.content.decode()
    assert_accessible_structure(page)


def test_list_pages_cost_the_same_queries_for_3_or_30_rows(client):
    region = RegionFactory()

    def make_agreements(n):
        for _ in range(n):
            agreement = AgreementFactory(parties=[CountryFactory(region=region)])
            event(agreement, "signed", datetime.date(2022, 10, 1), "month")

    def make_documents(n):
        for _ in range(n):
            DocumentFactory().regions.add(region)

    assert_constant_queries(client, "/agreements/", make_agreements)
    assert_constant_queries(client, "/agreements/timeline/", make_agreements)
    assert_constant_queries(client, "/documents/", make_documents)


def test_agreement_list_queries(client, django_assert_num_queries):
    region = RegionFactory()
    for _ in range(5):
        event(AgreementFactory(parties=[CountryFactory(region=region)]), "signed", datetime.date(2022, 10, 1))
    # 1 count for the pager; 1 page of agreements with their current status (a subquery), source
    # and region joined; 1 prefetch of parties; 1 of published events with their source; 4 option
    # lists of the form (country, region, route, key area).
    with django_assert_num_queries(8):
        client.get("/agreements/")
