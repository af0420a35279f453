"""The funding explorer, its CSV and the API list the same records for the same filters."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import transaction

from tests.factories import (
    CountryFactory,
    FundingRecordFactory,
    InstrumentFactory,
    RegionFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

FILTERS = [
    "",
    "region=south",
    "region=north-africa",
    "country=TR",
    "instrument=ipa",
    "theme=borders",
    "donor=eu_and_member_states",
    "year=2024",
    "year_min=2022&year_max=2024",
    "amount_min=50000000",
    "top_level=true",
    "parent=package",
    "region=south&theme=borders&year=2024",
]


@pytest.fixture(scope="module")
def records(django_db_setup, django_db_blocker):
    """Built once for the module, whose tests only read: in a transaction rolled back after the
    last one; each test's own (the ``django_db`` mark) is a savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        _build_records()
        yield
        transaction.set_rollback(True)


def _build_records():
    south = RegionFactory(slug="south")
    north_africa = RegionFactory(slug="north-africa", parent=south)
    turkiye = CountryFactory(iso_code="TR", region=south)
    ipa = InstrumentFactory(slug="ipa")
    borders = ThemeFactory(slug="borders")

    def year(y):
        return {"period_start": datetime.date(y, 1, 1), "period_start_precision": "year"}

    def in_year(y):
        return {**year(y), "period_end": datetime.date(y, 1, 1), "period_end_precision": "year"}

    serbia, montenegro = CountryFactory(iso_code="RS"), CountryFactory(iso_code="ME")
    package = FundingRecordFactory(
        slug="package",
        amount=Decimal(60_000_000),
        regions=[south],
        countries=[serbia, montenegro],
        instrument=ipa,
        **in_year(2024),
    )
    FundingRecordFactory(
        slug="part", amount=Decimal(47_000_000), parent=package, themes=[borders], **in_year(2024)
    )
    FundingRecordFactory(
        slug="may-overlap",
        amount=Decimal(36_000_000),
        regions=[south],
        instrument=ipa,
        may_overlap=[package],
        **in_year(2023),
    )
    FundingRecordFactory(
        slug="pledge",
        amount=Decimal(6_000_000_000),
        donor="eu_and_member_states",
        regions=[south, north_africa],
    )
    FundingRecordFactory(
        slug="turkiye", amount=Decimal(900_000_000), countries=[turkiye], themes=[borders], **year(2021)
    )
    FundingRecordFactory(slug="north", regions=[north_africa], themes=[borders], **in_year(2023))
    FundingRecordFactory(slug="draft", status="draft", regions=[south], themes=[borders], **year(2024))


def page_slugs(client, query):
    response = client.get(f"/funding/?{query}&page_size=100")
    assert response.status_code == 200
    return {record.slug for record in response.context["page_obj"].paginator.object_list}


def csv_slugs(client, query):
    response = client.get(f"/funding/export.csv?{query}")
    assert response.status_code == 200
    return {row["slug"] for row in csv.DictReader(io.StringIO(response.getvalue().decode()))}


def api_slugs(client, query):
    slugs, url = set(), f"/api/v1/funding/?{query}&page_size=100"
    while url:
        body = client.get(url).json()
        slugs |= {item["slug"] for item in body["results"]}
        url = body["next"]
    return slugs


@pytest.mark.parametrize("query", FILTERS)
def test_page_csv_and_api_list_the_same_records(client, records, query):
    on_page = page_slugs(client, query)
    assert on_page == csv_slugs(client, query) == api_slugs(client, query)
    assert "draft" not in on_page


def test_filters_are_not_trivially_equal(client, records):
    assert page_slugs(client, "region=north-africa") == {"pledge", "north"}
    # A year holds the figures within it; a year range reaches open periods ("since 2021").
    assert page_slugs(client, "year=2024") == {"package", "part"}
    assert page_slugs(client, "year_min=2022&year_max=2022") == {"turkiye"}


@pytest.mark.parametrize("group_by", ["region", "country", "theme", "instrument", "year"])
@pytest.mark.parametrize("query", FILTERS)
def test_groups_add_up_exactly_to_the_totals_of_their_measure_and_donor(client, records, query, group_by):
    body = client.get(f"/api/v1/funding/totals/?{query}&group_by={group_by}").json()
    overall = {
        (t["measure"], t["donor"]): (Decimal(str(t["lower"])), Decimal(str(t["upper"])))
        for t in body["totals"]
    }
    summed: dict = {}
    for group in body["groups"]:
        lower, upper = summed.get((group["measure"], group["donor"]), (0, 0))
        summed[(group["measure"], group["donor"])] = (
            lower + Decimal(str(group["lower"])),
            upper + Decimal(str(group["upper"])),
        )
    assert summed == overall
    # The page's totals are the API's.
    page = client.get(f"/funding/?{query}")
    assert {(t.measure, t.donor): (t.lower, t.upper) for t in page.context["totals"]} == overall


def test_the_overlap_and_the_shared_package_in_the_parity_set(client, records):
    body = client.get("/api/v1/funding/totals/?group_by=country&donor=eu").json()
    (committed,) = body["totals"]
    # The 36m may be part of the 60m package: a range; Türkiye's 900m and North's 1m add to both ends.
    assert (committed["lower"], committed["upper"]) == (961_000_000, 997_000_000)
    shared = [g for g in body["groups"] if set(g["recipients"]) == {"ME", "RS"}]
    assert [g["upper"] for g in shared] == [60_000_000]
    assert shared[0]["label"].startswith("Shared by ")
    assert shared[0]["key"] in {"ME,RS", "RS,ME"}


def test_a_draft_is_404_on_the_page_and_in_the_api(client, records):
    assert client.get("/funding/draft/").status_code == 404
    assert client.get("/api/v1/funding/draft/").status_code == 404
