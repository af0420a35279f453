"""The funding endpoints: records that nest, their filters, totals, and validated writes."""

from __future__ import annotations

import csv
import datetime
import io
import json
from decimal import Decimal

import pytest

from funding.models import FundingRecord
from migrationsupport.models import Status
from tests.api.support import API, keys, results
from tests.factories import (
    CountryFactory,
    FundingRecordFactory,
    InstrumentFactory,
    PledgingConferenceFactory,
    RegionFactory,
    SourceFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

ADD = "funding.add_fundingrecord"
CHANGE = ("funding.change_fundingrecord", "funding.publish_fundingrecord")  # a Publisher's


def year(y: int, name: str = "period_start") -> dict:
    return {name: datetime.date(y, 1, 1), f"{name}_precision": "year"}


@pytest.fixture
def balkans():
    """The seed's Western Balkans money: €60 million in 2024 made of €47 and €13 million, part
    of "more than €350 million since 2021"."""
    region = RegionFactory(slug="western-balkans", name="Western Balkans")
    since_2021 = FundingRecordFactory(
        slug="since-2021", amount=Decimal(350_000_000), qualifier="more_than", regions=[region], **year(2021)
    )
    package = FundingRecordFactory(
        slug="package-2024",
        amount=Decimal(60_000_000),
        parent=since_2021,
        regions=[region],
        **year(2024),
        **year(2024, "period_end"),
    )
    FundingRecordFactory(slug="programme-47", amount=Decimal(47_000_000), parent=package, regions=[region])
    FundingRecordFactory(slug="programme-13", amount=Decimal(13_000_000), parent=package, regions=[region])
    return region


def test_a_record_says_its_amount_exactly_with_its_qualifier_period_and_source(api):
    source = SourceFactory(title="EU support", publisher="DG NEAR", url="https://ec.europa.eu/x")
    FundingRecordFactory(
        slug="facility",
        amount=Decimal("2120000000.00"),
        qualifier="about",
        wording="close to",
        source=source,
        **year(2024),
        **year(2025, "period_end"),
    )
    body = api.get(f"{API}/funding/facility/").json()
    assert body["amount"] == 2120000000  # a JSON number
    assert (body["qualifier"], body["wording"], body["currency"]) == ("about", "close to", "EUR")
    assert body["display"] == "close to €2.12\u00a0billion"
    assert (body["period_start"], body["period_start_precision"], body["period_start_display"]) == (
        "2024",
        "year",
        "2024",
    )
    assert body["period_end"] == "2025"  # never an invented day
    assert body["period_display"] == "for 2024 and 2025"
    assert body["source"] == {
        "slug": source.slug,
        "title": "EU support",
        "publisher": "DG NEAR",
        "url": "https://ec.europa.eu/x",
    }
    assert body["url"] == "http://testserver/funding/facility/"


def test_parent_and_children_are_slugs_and_drafts_stay_hidden(api, balkans):
    FundingRecordFactory(
        slug="draft-part", parent=FundingRecord.objects.get(slug="package-2024"), status="draft"
    )
    package = api.get(f"{API}/funding/package-2024/").json()
    assert package["parent"] == "since-2021"
    assert sorted(package["children"]) == ["programme-13", "programme-47"]

    draft_region = RegionFactory(slug="secret", status=Status.DRAFT)
    FundingRecord.objects.get(slug="since-2021").regions.add(draft_region)
    assert api.get(f"{API}/funding/since-2021/").json()["regions"] == ["western-balkans"]


def test_filters_are_the_explorers(api, balkans):
    turkiye = CountryFactory(iso_code="TR")
    instrument = InstrumentFactory(slug="ndici")
    theme = ThemeFactory(slug="returns")
    FundingRecordFactory(
        slug="turkiye",
        amount=Decimal(900_000_000),
        countries=[turkiye],
        themes=[theme],
        instrument=instrument,
        donor="eu_and_member_states",
        kind="pledge",
        qualifier="about",
    )
    cases = {
        "region=western-balkans": {"since-2021", "package-2024", "programme-47", "programme-13"},
        "country=TR": {"turkiye"},
        "instrument=ndici": {"turkiye"},
        "theme=returns": {"turkiye"},
        "donor=eu_and_member_states": {"turkiye"},
        "kind=pledge": {"turkiye"},
        "qualifier=more_than": {"since-2021"},
        "year=2024": {"package-2024"},  # "since 2021" is not money for 2024 alone
        "year_min=2025": {"since-2021"},
        "year_max=2023": {"since-2021"},
        "amount_min=50000000&amount_max=400000000": {"since-2021", "package-2024"},
        "parent=package-2024": {"programme-47", "programme-13"},
        "top_level=true&region=western-balkans": {"since-2021"},
        "search=programme": set(),
    }
    for query, expected in cases.items():
        assert set(keys(api.get(f"{API}/funding/?{query}"))) == expected, query


@pytest.mark.parametrize(
    "query",
    [
        "amount_min=abc",
        "year=soon",
        "year=-5",
        "year_min=1e10",
        "region=nowhere",
        "country=XX",
        "ordering=-secret",
    ],
)
def test_malformed_filter_values_are_400_naming_the_filter(api, query):
    response = api.get(f"{API}/funding/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_a_drafts_slug_is_as_unknown_as_a_typo_in_filters(api):
    RegionFactory(slug="secret", status=Status.DRAFT)
    assert api.get(f"{API}/funding/", {"region": "secret"}).status_code == 400


def test_ordering_by_amount_puts_records_without_a_figure_last(api):
    FundingRecordFactory(slug="small", amount=Decimal(1))
    FundingRecordFactory(slug="none", amount=None)
    FundingRecordFactory(slug="large", amount=Decimal(100))
    assert keys(api.get(f"{API}/funding/", {"ordering": "-amount"})) == ["large", "small", "none"]
    assert keys(api.get(f"{API}/funding/", {"ordering": "amount"})) == ["small", "large", "none"]


def test_totals_never_count_a_part_inside_its_parent_twice(api, balkans):
    body = api.get(f"{API}/funding/totals/").json()
    assert body["group_by"] is None
    (total,) = body["totals"]
    assert total == {
        "key": None,
        "label": None,  # absent values are null, never ""
        "recipients": [],
        "measure": "committed",
        "donor": "eu",
        "lower": 350_000_000,
        "lower_qualifier": "more_than",
        "upper": 350_000_000,
        "upper_qualifier": "more_than",
        "is_range": False,
        "currency": "EUR",
        "amount_display": "more than €350\u00a0million",
        "records": 1,
        "nested": 3,
        "overlapping": 0,
        "parts": [],
        "parts_display": None,
        "amount": 350_000_000,  # deprecated, kept for one minor version
        "qualifier": "more_than",
        "display": "more than €350\u00a0million",
    }
    # Deprecated: the only total when there is one measure and donor.
    assert body["total"] == total
    # The same filters as the list: the 2024 package alone is its own €60 million.
    only_parts = api.get(f"{API}/funding/totals/", {"parent": "since-2021"}).json()
    assert [t["upper"] for t in only_parts["totals"]] == [60_000_000]
    assert [t["upper"] for t in api.get(f"{API}/funding/totals/", {"year": 2024}).json()["totals"]] == [
        60_000_000
    ]


def test_totals_of_different_measures_and_donors_are_never_summed(api, balkans):
    FundingRecordFactory(slug="pledge", amount=Decimal(6_000_000_000), measure="pledged")
    FundingRecordFactory(slug="mobilised", amount=Decimal(33_000_000_000), donor="eu_and_member_states")
    body = api.get(f"{API}/funding/totals/").json()
    assert [(t["measure"], t["donor"], t["upper"]) for t in body["totals"]] == [
        ("pledged", "eu", 6_000_000_000),
        ("committed", "eu_and_member_states", 33_000_000_000),
        ("committed", "eu", 350_000_000),
    ]
    assert body["total"] is None  # no single number across measures and donors
    assert "39" not in json.dumps(body)


def test_totals_give_a_range_where_figures_may_overlap(api, balkans):
    FundingRecordFactory(
        slug="anti-smuggling",
        amount=Decimal(36_000_000),
        regions=[balkans],
        may_overlap=[FundingRecord.objects.get(slug="since-2021")],
    )
    (total,) = api.get(f"{API}/funding/totals/").json()["totals"]
    assert (total["lower"], total["upper"], total["is_range"], total["overlapping"]) == (
        350_000_000,
        386_000_000,
        True,
        1,
    )
    record = api.get(f"{API}/funding/anti-smuggling/").json()
    assert record["may_overlap"] == ["since-2021"]


def test_totals_grouped_by_region_year_country_theme_and_instrument(api, balkans):
    south = RegionFactory(slug="south")
    instrument = InstrumentFactory(slug="ipa")
    FundingRecordFactory(
        slug="south-1",
        amount=Decimal(10),
        regions=[south],
        instrument=instrument,
        **year(2023),
        **year(2023, "period_end"),
    )

    by_region = api.get(f"{API}/funding/totals/", {"group_by": "region"}).json()
    assert by_region["group_by"] == "region"
    assert [(g["key"], g["upper"]) for g in by_region["groups"]] == [
        ("western-balkans", 350_000_000),
        ("south", 10),
    ]
    by_year = api.get(f"{API}/funding/totals/", {"group_by": "year"}).json()["groups"]
    # "Since 2021" is its own row, not money for 2021; its 2024 package is inside it.
    assert {g["key"]: g["upper"] for g in by_year} == {"2023": 10, "several": 350_000_000}
    by_instrument = api.get(f"{API}/funding/totals/", {"group_by": "instrument"}).json()["groups"]
    assert {g["key"] for g in by_instrument} == {"ipa", None}
    for grouping in ("country", "theme"):
        assert api.get(f"{API}/funding/totals/", {"group_by": grouping}).status_code == 200


def test_totals_groups_are_keyed_by_identifiers_in_the_order_of_their_names(api):
    # Created in the opposite order of their names: ids and names sort differently.
    serbia = CountryFactory(name="Serbia", iso_code="RS")
    montenegro = CountryFactory(name="Montenegro", iso_code="ME")
    FundingRecordFactory(amount=Decimal(7), countries=[serbia, montenegro])
    FundingRecordFactory(amount=Decimal(5), countries=[serbia])
    # A region whose slug is the years' "several": a group like any other, by its amount.
    FundingRecordFactory(amount=Decimal(9), regions=[RegionFactory(name="Several", slug="several")])
    FundingRecordFactory(amount=Decimal(3), regions=[RegionFactory(name="Smaller", slug="smaller")])
    FundingRecordFactory(amount=Decimal(2))  # no region, no country, no period

    by_country = api.get(f"{API}/funding/totals/", {"group_by": "country"}).json()["groups"]
    assert [(g["key"], g["recipients"], g["label"], g["upper"]) for g in by_country] == [
        ("ME,RS", ["ME", "RS"], "Shared by Montenegro and Serbia", 7),
        ("RS", ["RS"], "Serbia", 5),
        (None, [], "No country stated", 14),
    ]
    by_region = api.get(f"{API}/funding/totals/", {"group_by": "region"}).json()["groups"]
    assert [(g["key"], g["upper"]) for g in by_region] == [("several", 9), ("smaller", 3), (None, 14)]
    by_year = api.get(f"{API}/funding/totals/", {"group_by": "year"}).json()["groups"]
    assert [(g["key"], g["label"]) for g in by_year] == [(None, "No period stated")]


def test_totals_do_not_name_a_draft_group_to_the_public(api, staff_client):
    FundingRecordFactory(amount=Decimal(5), regions=[RegionFactory(slug="secret", status=Status.DRAFT)])
    public = api.get(f"{API}/funding/totals/", {"group_by": "region"}).json()["groups"]
    assert [(g["key"], g["label"], g["upper"]) for g in public] == [(None, "No region stated", 5)]
    assert "secret" not in json.dumps(public)
    staff = staff_client("funding.view_fundingrecord")
    assert [
        g["key"] for g in staff.get(f"{API}/funding/totals/", {"group_by": "region"}).json()["groups"]
    ] == ["secret"]


def test_totals_as_csv_and_bad_grouping(api, balkans):
    response = api.get(f"{API}/funding/totals/", {"group_by": "region", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["key"], r["label"], r["measure"], r["donor"], r["lower"], r["upper"]) for r in rows] == [
        ("western-balkans", "Western Balkans", "committed", "eu", "350000000.00", "350000000.00")
    ]
    assert "parts" not in rows[0] and "parts_display" in rows[0]
    overall = api.get(f"{API}/funding/totals/", HTTP_ACCEPT="text/csv")
    (row,) = csv.DictReader(io.StringIO(overall.content.decode()))
    assert (row["key"], row["measure"], row["upper"]) == ("", "committed", "350000000.00")
    bad = api.get(f"{API}/funding/totals/", {"group_by": "planet"})
    assert bad.status_code == 400
    assert "region, country, theme, instrument, year" in bad.json()["group_by"][0]


def test_csv_flattens_nested_values(api):
    FundingRecordFactory(
        slug="x",
        regions=[RegionFactory(slug="a"), RegionFactory(slug="b")],
        title="=HYPERLINK(evil)",
        **year(2021),
    )
    FundingRecordFactory(slug="y", regions=[RegionFactory(slug="c")])
    response = api.get(f"{API}/funding/", {"format": "csv", "region": "a"})
    (row,) = csv.DictReader(io.StringIO(response.getvalue().decode()))
    assert row["slug"] == "x"
    assert row["regions"] in ("a;b", "b;a")
    assert (row["period_start"], row["period_start_precision"], row["period_start_display"]) == (
        "2021",
        "year",
        "2021",
    )
    assert row["period_start_date"] == "2021"  # its API 1.0 name, kept until 1.2
    assert row["source_url"].startswith("https://example.org/")
    assert row["title"] == "'=HYPERLINK(evil)"  # never run as a spreadsheet formula
    assert row["api_url"] == "http://testserver/api/v1/funding/x/"


def test_create_with_partial_dates_and_relations(staff_client):
    source = SourceFactory()
    region = RegionFactory(slug="south")
    CountryFactory(iso_code="TR")
    body = {
        "slug": "new",
        "title": "New package",
        "kind": "package",
        "amount": "60000000",
        "qualifier": "more_than",
        "wording": "over",
        "measure": "committed",
        "source_passage": "over €60 million",
        "period_start": "2024-03",
        "regions": ["south"],
        "countries": ["tr"],
        "source": source.slug,
        "description": '<p onclick="x()">Hi<script>alert(1)</script></p>',
    }
    response = staff_client(ADD).post(f"{API}/funding/", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["period_start"], created["period_start_display"]) == ("2024-03", "March 2024")
    assert created["display"] == "over €60\u00a0million"
    assert created["countries"] == ["TR"]
    assert created["description"] == "<p>Hi</p>"  # sanitised, as in admin
    record = FundingRecord.objects.get(slug="new")
    assert list(record.regions.all()) == [region]
    assert record.history.latest().history_user.username.startswith("officer-")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"qualifier": "exact", "wording": "close to"}, "wording"),
        ({"period_start": {"date": "2016-03-15", "precision": "month"}}, "period_start"),
        ({"period_start": {"date": "2016-03-01", "precision": "week"}}, "period_start"),
        ({"period_start": "March 2016"}, "period_start"),
        ({"period_start": "2016-13"}, "period_start"),
        ({"period_start": "2016-02-30"}, "period_start"),
        (
            {
                "period_start": "2024",
                "period_end": "2023",
            },
            "period_end",
        ),
        ({"amount": "50000000"}, "amount"),  # less than its €60 million of parts
        ({"parent": "programme-47"}, "parent"),  # inside its own part
        ({"source": "nowhere"}, "source"),
        ({"slug": "since-2021"}, "slug"),
    ],
)
def test_bad_input_is_a_field_level_400_and_changes_nothing(staff_client, balkans, change, field):
    record = FundingRecord.objects.get(slug="package-2024")
    before = (record.amount, record.version, record.title)
    response = staff_client(*CHANGE).patch(f"{API}/funding/package-2024/", change, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    record.refresh_from_db()
    assert (record.amount, record.version, record.title) == before


def test_parts_may_not_add_up_to_more_than_their_parent(staff_client, balkans):
    body = {"slug": "too-much", "title": "Too much", "amount": "1", "parent": "package-2024"}
    body["source"] = SourceFactory().slug
    response = staff_client(ADD).post(f"{API}/funding/", body, format="json")
    assert response.status_code == 400
    assert "more than its" in response.json()["amount"][0]
    assert not FundingRecord.objects.filter(slug="too-much").exists()


def test_instruments_and_conferences(api):
    south = RegionFactory(slug="south")
    InstrumentFactory(slug="ndici", name="NDICI-Global Europe", short_name="NDICI").regions.add(south)
    InstrumentFactory(slug="ipa", name="IPA III")
    assert keys(api.get(f"{API}/instruments/", {"region": "south"})) == ["ndici"]
    assert keys(api.get(f"{API}/instruments/", {"search": "ipa"})) == ["ipa"]
    assert keys(api.get(f"{API}/instruments/", {"ordering": "-name"})) == ["ndici", "ipa"]

    PledgingConferenceFactory(slug="brussels-8", date=datetime.date(2024, 5, 27)).regions.add(south)
    PledgingConferenceFactory(
        slug="brussels-7", date=datetime.date(2023, 6, 1), date_precision="month", status=Status.PUBLISHED
    )
    conference = api.get(f"{API}/conferences/brussels-7/").json()
    assert (conference["date"], conference["date_precision"], conference["date_display"]) == (
        "2023-06",
        "month",
        "June 2023",
    )
    assert keys(api.get(f"{API}/conferences/", {"year": 2024})) == ["brussels-8"]
    assert keys(api.get(f"{API}/conferences/", {"region": "south"})) == ["brussels-8"]
    assert keys(api.get(f"{API}/conferences/", {"ordering": "date"})) == ["brussels-7", "brussels-8"]


def test_paging_through_funding(api):
    for n in range(7):
        FundingRecordFactory(slug=f"r{n}", title=f"Record {n}")
    page_one = api.get(f"{API}/funding/", {"ordering": "title", "page_size": 3})
    page_three = api.get(f"{API}/funding/", {"ordering": "title", "page_size": 3, "page": 3})
    assert keys(page_one) == ["r0", "r1", "r2"] and keys(page_three) == ["r6"]
    assert page_one.json()["count"] == 7
    assert "ordering=title" in page_one.json()["next"]
    assert results(page_three)[0]["slug"] == "r6"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "10"}, "measure"),  # an amount must say what it measures
        ({"amount": "10", "measure": "paid", "parent": "since-2021"}, "measure"),  # not the whole's measure
        (
            {"amount": "10", "measure": "committed", "donor": "eu_and_member_states", "parent": "since-2021"},
            "donor",
        ),
        ({"amount": "10", "measure": "pledged", "may_overlap": ["since-2021"]}, "may_overlap"),
        # A part cannot "overlap" its own whole: it is inside it.
        (
            {"amount": "10", "measure": "committed", "parent": "since-2021", "may_overlap": ["since-2021"]},
            "may_overlap",
        ),
    ],
)
def test_inconsistent_nesting_or_overlap_is_a_400_and_saves_nothing(staff_client, balkans, body, field):
    source = SourceFactory()
    count = FundingRecord.objects.count()
    response = staff_client(ADD).post(
        f"{API}/funding/", {"slug": "new", "title": "New", "source": source.slug, **body}, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert FundingRecord.objects.count() == count


def test_a_part_created_without_a_measure_takes_its_wholes(staff_client, balkans):
    source = SourceFactory()
    body = {"slug": "part", "title": "Part", "amount": "5", "parent": "since-2021", "source": source.slug}
    response = staff_client(ADD).post(f"{API}/funding/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["measure"] == "committed"


def test_funding_filters_by_pledging_conference(api):
    conference = PledgingConferenceFactory(slug="brussels-viii")
    FundingRecordFactory(slug="pledged", conference=conference)
    FundingRecordFactory(slug="other")
    assert keys(api.get(f"{API}/funding/", {"conference": "brussels-viii"})) == ["pledged"]
    assert api.get(f"{API}/funding/", {"conference": "nowhere"}).status_code == 400
